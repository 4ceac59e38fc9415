import assert from "node:assert/strict";
import {
  labelValueOf,
  NameRegistry,
  objectNameOf,
} from "../../../src/translate/gateway_api/generated.ts";

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

Deno.test("objectNameOf keeps valid names readable and exact", () => {
  assert.equal(objectNameOf(["httproute", "web", "svc", 80]), "httproute-web-svc-80");
});

Deno.test("objectNameOf hashes long or invalid names into valid distinct ones", () => {
  const long1 = objectNameOf(["x".repeat(300)]);
  const long2 = objectNameOf(["x".repeat(301)]);
  assert.ok(long1.length <= 253 && DNS1123.test(long1), long1);
  assert.notEqual(long1, long2);
  const wild = objectNameOf(["ingress", "a", "*.example.com"]);
  assert.ok(DNS1123.test(wild), wild);
  assert.notEqual(wild, objectNameOf(["ingress", "a", "-.example.com"]));
  assert.ok(objectNameOf(["a"], 63).length <= 63);
});

Deno.test("labelValueOf stays within 63 label characters", () => {
  assert.equal(labelValueOf("httproute.web"), "httproute.web");
  const v = labelValueOf(`httproute.${"n".repeat(100)}`);
  assert.ok(v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v), v);
});

Deno.test("NameRegistry never gives one name to two owners, and is stable per owner", () => {
  const r = new NameRegistry();
  assert.equal(r.claim("ProxyBackend", "ns", "x", "A"), "x");
  assert.equal(r.claim("ProxyBackend", "ns", "x", "A"), "x");
  const b = r.claim("ProxyBackend", "ns", "x", "B");
  assert.notEqual(b, "x");
  assert.ok(DNS1123.test(b));
  assert.equal(r.claim("ProxyBackend", "other", "x", "B"), "x");
  assert.equal(r.claim("ProxyRoute", "ns", "x", "B"), "x");
});
