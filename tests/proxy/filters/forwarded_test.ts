import assert from "node:assert/strict";
import {
  applyForwardedHeaders,
  forwardedFor,
  normalizeClientIp,
  originalClient,
} from "../../../src/proxy/filters/mod.ts";

const XFF: [string | null, string, boolean, string][] = [
  [null, "10.0.0.1", false, "10.0.0.1"],
  [null, "10.0.0.1", true, "10.0.0.1"],
  ["1.2.3.4", "10.0.0.1", true, "1.2.3.4, 10.0.0.1"],
  ["1.2.3.4, 5.6.7.8", "10.0.0.1", true, "1.2.3.4, 5.6.7.8, 10.0.0.1"],
  ["1.2.3.4", "10.0.0.1", false, "10.0.0.1"], // untrusted: spoofed chain dropped
  ["", "10.0.0.1", true, "10.0.0.1"],
  [null, "::ffff:10.0.0.9", false, "10.0.0.9"],
  [null, "fd00::1", false, "fd00::1"],
];

for (const [existing, ip, trusted, want] of XFF) {
  Deno.test(`forwardedFor(${existing}, ${ip}, trusted=${trusted}) = ${want}`, () => {
    assert.equal(forwardedFor(existing, ip, trusted), want);
  });
}

Deno.test("normalizeClientIp / originalClient", () => {
  assert.equal(normalizeClientIp("::ffff:1.2.3.4"), "1.2.3.4");
  assert.equal(normalizeClientIp("::1"), "::1");
  assert.equal(originalClient(" 1.2.3.4 , 5.6.7.8"), "1.2.3.4");
  assert.equal(originalClient(null), null);
  assert.equal(originalClient(""), null);
});

Deno.test("applyForwardedHeaders: untrusted peer cannot spoof any X-Forwarded-*", () => {
  const h = new Headers({
    "x-forwarded-for": "6.6.6.6",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "evil.com",
  });
  applyForwardedHeaders(h, {
    clientIp: "203.0.113.5",
    scheme: "http",
    host: "shop.com",
    trusted: false,
  });
  assert.equal(h.get("x-forwarded-for"), "203.0.113.5");
  assert.equal(h.get("x-forwarded-proto"), "http");
  assert.equal(h.get("x-forwarded-host"), "shop.com");
});

Deno.test("applyForwardedHeaders: trusted peer's values are kept and extended", () => {
  const h = new Headers({
    "x-forwarded-for": "198.51.100.1",
    "x-forwarded-proto": "https",
    "x-forwarded-host": "shop.com",
  });
  applyForwardedHeaders(h, {
    clientIp: "10.0.0.2",
    scheme: "http",
    host: "internal:8080",
    trusted: true,
  });
  assert.equal(h.get("x-forwarded-for"), "198.51.100.1, 10.0.0.2");
  assert.equal(h.get("x-forwarded-proto"), "https");
  assert.equal(h.get("x-forwarded-host"), "shop.com");
});

Deno.test("applyForwardedHeaders: trusted peer without values gets ours", () => {
  const h = new Headers();
  applyForwardedHeaders(h, {
    clientIp: "10.0.0.2",
    scheme: "https",
    host: "a.com:8443",
    trusted: true,
  });
  assert.equal(h.get("x-forwarded-for"), "10.0.0.2");
  assert.equal(h.get("x-forwarded-proto"), "https");
  assert.equal(h.get("x-forwarded-host"), "a.com:8443");
});
