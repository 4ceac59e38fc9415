import assert from "node:assert/strict";
import {
  effectiveHostnames,
  intersectHostname,
} from "../../../src/translate/gateway_api/hostnames.ts";

Deno.test("intersectHostname exact names match only themselves", () => {
  assert.equal(intersectHostname("a.example.com", "a.example.com"), "a.example.com");
  assert.equal(intersectHostname("a.example.com", "b.example.com"), undefined);
});

Deno.test("intersectHostname wildcard covers one or more extra labels, never the bare suffix", () => {
  assert.equal(intersectHostname("*.example.com", "a.example.com"), "a.example.com");
  assert.equal(intersectHostname("*.example.com", "a.b.example.com"), "a.b.example.com");
  assert.equal(intersectHostname("*.example.com", "example.com"), undefined);
  assert.equal(intersectHostname("a.example.com", "*.example.com"), "a.example.com");
  assert.equal(intersectHostname("*.example.com", "*.a.example.com"), "*.a.example.com");
  assert.equal(intersectHostname("*.a.example.com", "*.example.com"), "*.a.example.com");
  assert.equal(intersectHostname("*.example.com", "*.example.org"), undefined);
  assert.equal(intersectHostname("*.example.com", "a.notexample.com"), undefined);
});

Deno.test("effectiveHostnames distinguishes any host, none, and an intersection", () => {
  assert.equal(effectiveHostnames(undefined, undefined), undefined);
  assert.deepEqual(effectiveHostnames(undefined, ["b.io", "a.io", "a.io"]), ["a.io", "b.io"]);
  assert.deepEqual(effectiveHostnames("x.io", []), ["x.io"]);
  assert.deepEqual(effectiveHostnames("*.x.io", ["a.x.io", "y.io", "*.x.io"]), [
    "*.x.io",
    "a.x.io",
  ]);
  assert.deepEqual(effectiveHostnames("x.io", ["y.io"]), []);
});
