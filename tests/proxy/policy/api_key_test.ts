import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ApiKeyVerifier, queryParam } from "../../../src/proxy/policy/api_key.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

Deno.test("queryParam: decoding, first value, malformed escapes", () => {
  const table: [string, string, string | null][] = [
    ["", "k", null],
    ["k=v", "k", "v"],
    ["?k=v", "k", "v"],
    ["a=1&k=x%2By&k=second", "k", "x+y"],
    ["k=a+b", "k", "a b"],
    ["k", "k", ""],
    ["kk=1", "k", null],
    ["%6B=enc", "k", "enc"],
    ["k=%ZZ", "k", null],
    ["%ZZ=1&k=2", "k", "2"],
  ];
  for (const [q, n, want] of table) assert.equal(queryParam(q, n), want, `${q} ${n}`);
});

Deno.test("ApiKeyVerifier: header and query sources, hash compare", () => {
  const v = new ApiKeyVerifier({
    header: "X-API-Key",
    queryParam: "api_key",
    keySha256: [sha("k1"), sha("k2"), "not-a-hash"],
  });
  const hdr = (m: Record<string, string>) => (n: string) => m[n] ?? null;
  assert.equal(v.presented(hdr({ "x-api-key": " k1 " }), ""), "k1");
  assert.equal(v.presented(hdr({}), "api_key=k2"), "k2");
  assert.equal(v.presented(hdr({ "x-api-key": "" }), ""), null);
  assert.equal(v.presented(hdr({ "x-api-key": "h" }), "api_key=q"), "h", "header first");
  assert.equal(v.verify("k1"), true);
  assert.equal(v.verify("k2"), true);
  assert.equal(v.verify("k3"), false);
  assert.equal(v.verify(""), false);
  assert.equal(v.verify(sha("k1")), false, "the hash itself is not a key");
});

Deno.test("ApiKeyVerifier: no keys configured (missing Secret) fails closed", () => {
  const v = new ApiKeyVerifier({ header: "x-api-key", queryParam: "", keySha256: [] });
  assert.equal(v.verify("anything"), false);
  assert.equal(v.presented(() => null, "x-api-key=abc"), null, "no query source configured");
});
