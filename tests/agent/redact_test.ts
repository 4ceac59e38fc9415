import assert from "node:assert/strict";
import { REDACTED, redactSnapshot } from "../../src/agent/redact.ts";
import type { Policy, Snapshot } from "../../src/snapshot/types.ts";

function snap(policies: Policy[]): Snapshot {
  return {
    version: "v",
    gateways: [],
    listeners: [],
    routes: [],
    clusters: [],
    secrets: [{ name: "s", certPem: "CERT", keyPem: "KEY" }],
    policies,
    vips: [],
  } as unknown as Snapshot;
}

Deno.test("redactSnapshot: private keys, HMAC/private JWK members and htpasswd hashes are hidden", () => {
  const jwks = JSON.stringify({
    keys: [
      { kty: "oct", kid: "h", k: "c2VjcmV0LWhtYWMta2V5" },
      { kty: "RSA", kid: "pub", n: "AQAB-n", e: "AQAB" },
      { kty: "EC", kid: "priv", crv: "P-256", x: "X", y: "Y", d: "PRIVATE" },
    ],
  });
  const s = snap([
    {
      name: "p",
      targets: [],
      jwt: { issuer: "i", audiences: [], jwksJson: jwks, jwksUri: "" },
      basicAuth: { realm: "r", htpasswd: ["alice:$apr1$x$y", "bob:{SHA}abc"] },
      apiKey: { header: "x-api-key", queryParam: "", keySha256: ["deadbeef"] },
    },
    { name: "plain", targets: [], rateLimit: { requestsPerSecond: 1, burst: 1, key: "ip" } },
  ]);
  const r = redactSnapshot(s);
  const text = JSON.stringify(r);
  assert.ok(!text.includes("c2VjcmV0LWhtYWMta2V5"), "HMAC key leaked");
  assert.ok(!text.includes("PRIVATE"), "EC private key leaked");
  assert.ok(!text.includes("$apr1$x$y") && !text.includes("{SHA}abc"), "htpasswd hash leaked");
  assert.equal(r.secrets[0].keyPem, REDACTED);
  assert.equal(r.secrets[0].certPem, "CERT");
  const keys = JSON.parse(r.policies[0].jwt!.jwksJson).keys;
  assert.deepEqual(keys[1], { kty: "RSA", kid: "pub", n: "AQAB-n", e: "AQAB" });
  assert.equal(keys[0].k, REDACTED);
  assert.equal(keys[0].kid, "h");
  assert.deepEqual(r.policies[0].basicAuth!.htpasswd, [`alice:${REDACTED}`, `bob:${REDACTED}`]);
  assert.deepEqual(r.policies[0].apiKey!.keySha256, ["deadbeef"]);
  assert.equal(r.policies[1], s.policies[1]);
  // The input is left as it was (the data plane keeps using it).
  assert.ok(JSON.stringify(s).includes("c2VjcmV0LWhtYWMta2V5"));
  // Unreadable JWKS text is hidden whole.
  const bad = redactSnapshot(snap([{
    name: "b",
    targets: [],
    jwt: { issuer: "", audiences: [], jwksJson: "not json k=secret", jwksUri: "" },
  }]));
  assert.equal(bad.policies[0].jwt!.jwksJson, REDACTED);
});
