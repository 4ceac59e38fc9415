import assert from "node:assert/strict";
import { effectiveHostnames, intersectHostname } from "../../src/snapshot/hostnames.ts";

const cases: [string, string, string | undefined][] = [
  ["a.example.test", "a.example.test", "a.example.test"],
  ["a.example.test", "b.example.test", undefined],
  ["*.example.test", "a.example.test", "a.example.test"],
  ["a.example.test", "*.example.test", "a.example.test"],
  ["*.example.test", "deep.a.example.test", "deep.a.example.test"],
  ["*.example.test", "example.test", undefined],
  ["*.example.test", "*.a.example.test", "*.a.example.test"],
  ["*.a.example.test", "*.example.test", "*.a.example.test"],
  ["*.example.test", "*.example.test", "*.example.test"],
  ["*.example.test", "*.other.test", undefined],
  ["*.example.test", "xexample.test", undefined],
];

for (const [a, b, want] of cases) {
  Deno.test(`intersectHostname: ${a} ∩ ${b} = ${want}`, () => {
    assert.equal(intersectHostname(a, b), want);
    assert.equal(intersectHostname(b, a), want, "symmetric");
  });
}

Deno.test("effectiveHostnames: listener without hostname passes route hostnames; route without hostnames takes the listener's", () => {
  assert.deepEqual(effectiveHostnames(undefined, []), []);
  assert.deepEqual(effectiveHostnames(undefined, ["a.test"]), ["a.test"]);
  assert.deepEqual(effectiveHostnames("*.a.test", []), ["*.a.test"]);
  assert.deepEqual(effectiveHostnames("*.a.test", ["x.a.test", "b.test"]), ["x.a.test"]);
  assert.equal(effectiveHostnames("*.a.test", ["b.test"]), undefined);
});
