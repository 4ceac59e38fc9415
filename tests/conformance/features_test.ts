/**
 * deno task conformance's option parsing: profiles, advertised features and the
 * per-cluster address block (pure; the run itself needs the local cluster).
 */
import assert from "node:assert/strict";
import { CONFORMANT_FEATURES, featuresFor, GATEWAY_PROFILES, profilesFor } from "./features.ts";
import { runAddresses } from "./run.ts";
import { TRANSLATED_FEATURES } from "../../src/translate/gateway_api/mod.ts";

Deno.test("profiles: default every gateway profile; names checked, case-insensitive", () => {
  assert.deepEqual(profilesFor(undefined), [...GATEWAY_PROFILES]);
  assert.deepEqual(profilesFor("gateway-tls, GATEWAY-UDP"), ["GATEWAY-TLS", "GATEWAY-UDP"]);
  assert.throws(() => profilesFor("GATEWAY-HTTP,MESH-HTTP"), /unknown profile\(s\) MESH-HTTP/);
});

Deno.test("features: conformant by default, translated on request, or an explicit list", () => {
  assert.deepEqual(featuresFor(undefined), [...CONFORMANT_FEATURES]);
  const translated = featuresFor("translated");
  for (const f of [...CONFORMANT_FEATURES, ...TRANSLATED_FEATURES]) {
    assert.ok(translated.includes(f));
  }
  assert.deepEqual(featuresFor("Gateway, HTTPRoute"), ["Gateway", "HTTPRoute"]);
  assert.throws(() => featuresFor(","), /comma-separated feature list/);
});

Deno.test("conformant features are all translated ones (never claim what is not implemented)", () => {
  const translated = new Set<string>(TRANSLATED_FEATURES);
  for (const f of CONFORMANT_FEATURES) assert.ok(translated.has(f), `${f} is not translated`);
});

Deno.test("addresses: one /24 per cluster id, pool override validated", () => {
  assert.deepEqual(runAddresses(""), {
    pool: "127.0.1.1-127.0.1.250",
    usable: "127.0.1.253",
    unusable: "192.0.2.1",
  });
  assert.equal(runAddresses("5").pool, "127.0.6.1-127.0.6.250");
  assert.equal(runAddresses("5").usable, "127.0.6.253");
  assert.equal(runAddresses("5", "127.0.9.1-127.0.9.9").pool, "127.0.9.1-127.0.9.9");
  assert.throws(() => runAddresses("5", "127.0.9.1"), /expected an IPv4 range/);
});
