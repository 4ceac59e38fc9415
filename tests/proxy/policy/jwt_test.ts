import assert from "node:assert/strict";
import {
  base64UrlDecode,
  bearerToken,
  type JwtResult,
  JwtVerifier,
} from "../../../src/proxy/policy/jwt.ts";
import { b64url, es256, hs256, jwks, rs256 } from "./_jwt_helpers.ts";

const NOW = 1_800_000_000_000;
const nowS = NOW / 1000;
const rsa = await rs256();
const ec = await es256();
const hm = await hs256();
const other = await rs256("rsa1"); // same kid, different key: a forger's key

function verifier(opts: { issuer?: string; audiences?: string[]; keys?: string } = {}) {
  return new JwtVerifier({
    issuer: opts.issuer ?? "https://issuer.test",
    audiences: opts.audiences ?? ["api"],
    jwksJson: opts.keys ?? jwks(rsa, ec, hm),
    jwksUri: "",
  }, () => NOW);
}

const good = { iss: "https://issuer.test", aud: "api", exp: nowS + 300, sub: "u1" };

async function verify(v: JwtVerifier, token: string): Promise<JwtResult> {
  return await v.verify(token);
}

Deno.test("bearerToken and base64url parsing", () => {
  assert.equal(bearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  assert.equal(bearerToken("bearer   tok  "), "tok");
  for (const bad of [null, "", "Bearer", "Bearer ", "Basic abc", "Bearerabc"]) {
    assert.equal(bearerToken(bad), null, String(bad));
  }
  assert.deepEqual(base64UrlDecode("AQID"), new Uint8Array([1, 2, 3]));
  assert.deepEqual(base64UrlDecode("_-8"), new Uint8Array([0xff, 0xef]));
  assert.equal(base64UrlDecode("a"), null);
  assert.equal(base64UrlDecode("ab+/"), null, "standard base64 alphabet is not base64url");
});

Deno.test("JWT: RS256, ES256 and HS256 tokens verify", async () => {
  const v = verifier();
  for (const s of [rsa, ec, hm]) {
    const t = await s.sign({}, good);
    assert.deepEqual(await verify(v, t), { ok: true }, s.alg);
  }
});

Deno.test("JWT: claim checks (exp, nbf with skew, iss, aud)", async () => {
  const v = verifier({ audiences: ["api", "web"] });
  const table: [Record<string, unknown>, JwtResult][] = [
    [{ ...good, exp: nowS - 61 }, { ok: false, reason: "token expired" }],
    [{ ...good, exp: nowS - 30 }, { ok: true }], // within skew
    [{ ...good, exp: "soon" }, { ok: false, reason: "malformed exp claim" }],
    [{ ...good, nbf: nowS + 120 }, { ok: false, reason: "token not yet valid" }],
    [{ ...good, nbf: nowS + 30 }, { ok: true }],
    [{ ...good, iss: "https://evil.test" }, { ok: false, reason: "wrong issuer" }],
    [{ ...good, iss: undefined }, { ok: false, reason: "wrong issuer" }],
    [{ ...good, aud: "other" }, { ok: false, reason: "wrong audience" }],
    [{ ...good, aud: ["x", "web"] }, { ok: true }],
    [{ ...good, aud: undefined }, { ok: false, reason: "wrong audience" }],
    [{ ...good, aud: [1, 2] }, { ok: false, reason: "wrong audience" }],
    [{ ...good, exp: undefined }, { ok: true }],
  ];
  for (const [payload, want] of table) {
    assert.deepEqual(await verify(v, await rsa.sign({}, payload)), want, JSON.stringify(payload));
  }
});

Deno.test("JWT: no issuer / audiences configured means no such check", async () => {
  const v = verifier({ issuer: "", audiences: [] });
  assert.deepEqual(
    await verify(v, await ec.sign({}, { exp: nowS + 10 })),
    { ok: true },
  );
});

Deno.test("JWT: bad signatures and forged keys are refused", async () => {
  const v = verifier();
  const t = await rsa.sign({}, good);
  const [h, p, s] = t.split(".");
  const flipped = s.slice(0, 10) + (s[10] === "A" ? "B" : "A") + s.slice(11);
  assert.deepEqual(await verify(v, `${h}.${p}.${flipped}`), { ok: false, reason: "bad signature" });
  // Payload swapped under a valid signature.
  const p2 = b64url(JSON.stringify({ ...good, sub: "admin" }));
  assert.deepEqual(await verify(v, `${h}.${p2}.${s}`), { ok: false, reason: "bad signature" });
  // Signed by a key not in the JWKS, with a kid that is.
  assert.deepEqual(await verify(v, await other.sign({}, good)), {
    ok: false,
    reason: "bad signature",
  });
  // ES256 signature truncated.
  const e = (await ec.sign({}, good)).split(".");
  assert.deepEqual(await verify(v, `${e[0]}.${e[1]}.${e[2].slice(0, 20)}`), {
    ok: false,
    reason: "bad signature",
  });
});

Deno.test("JWT: alg confusion and alg none are refused", async () => {
  const onlyRsa = verifier({ keys: jwks(rsa) });
  // HS256 "signed" with the RSA public key's modulus as the secret: no oct key → no match.
  const hsHeader = b64url(JSON.stringify({ alg: "HS256", kid: "rsa1" }));
  const body = b64url(JSON.stringify(good));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(JSON.stringify(rsa.jwk)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${hsHeader}.${body}`)),
  );
  assert.deepEqual(await verify(onlyRsa, `${hsHeader}.${body}.${b64url(mac)}`), {
    ok: false,
    reason: "no matching key in JWKS",
  });
  const none = b64url(JSON.stringify({ alg: "none" }));
  assert.deepEqual(await verify(onlyRsa, `${none}.${body}.`), {
    ok: false,
    reason: "malformed token",
  });
  assert.deepEqual(await verify(onlyRsa, `${none}.${body}.AAAA`), {
    ok: false,
    reason: 'unsupported alg "none"',
  });
  // A JWK pinned to RS256 is not used for RS512 even though kty matches.
  const pinned = verifier({ keys: JSON.stringify({ keys: [{ ...rsa.jwk, alg: "RS256" }] }) });
  const rs512 = b64url(JSON.stringify({ alg: "RS512", kid: "rsa1" }));
  assert.deepEqual(await verify(pinned, `${rs512}.${body}.AAAA`), {
    ok: false,
    reason: "no matching key in JWKS",
  });
});

Deno.test("JWT: garbage tokens are refused synchronously", () => {
  const v = verifier();
  const garbage = [
    "",
    "abc",
    "a.b",
    "a.b.c.d",
    "!!.??.##",
    `${b64url("not json")}.${b64url("{}")}.AAAA`,
    `${b64url("[1]")}.${b64url("{}")}.AAAA`,
    `${b64url('{"alg":"RS256"}')}.${b64url("null")}.AAAA`,
    `${b64url('{"alg":"RS256"}')}.${b64url("{}")}.`,
  ];
  for (const g of garbage) {
    const r = v.check(g);
    assert.equal(typeof r, "object", g);
    assert.equal((r as JwtResult).ok, false, g);
  }
  const crit = `${b64url('{"alg":"RS256","crit":["x"]}')}.${b64url("{}")}.AAAA`;
  assert.deepEqual(v.check(crit), { ok: false, reason: "unsupported crit header" });
});

Deno.test("JWT: verified tokens are cached until they expire", async () => {
  let now = NOW;
  const v = new JwtVerifier(
    { issuer: "", audiences: [], jwksJson: jwks(rsa), jwksUri: "" },
    () => now,
  );
  const t = await rsa.sign({}, { exp: nowS + 100 });
  assert.equal(typeof v.check(t), "function", "first time: signature check");
  assert.deepEqual(await v.verify(t), { ok: true });
  assert.deepEqual(v.check(t), { ok: true }, "second time: synchronous from cache");
  assert.equal(v.cacheSize, 1);
  now += 200_000; // past exp + skew
  assert.deepEqual(v.check(t), { ok: false, reason: "token expired" });
  assert.equal(v.cacheSize, 0);
});

Deno.test("JWT: broken or missing JWKS fails closed", async () => {
  const t = await rsa.sign({}, good);
  const cases: [string, string, string][] = [
    ["", "", "no JWKS configured"],
    [
      "",
      "http://idp.test/jwks",
      "jwksUri http://idp.test/jwks must use https (plain http only for loopback hosts, or set NOVAEDGE_JWKS_ALLOW_HTTP=1)",
    ],
    ["", "ftp://idp.test/jwks", "jwksUri ftp://idp.test/jwks: unsupported scheme ftp:"],
    ["{not json", "", "JWKS is not valid JSON"],
    ['{"keys":[]}', "", "JWKS has no signing keys"],
  ];
  for (const [jwksJson, jwksUri, reason] of cases) {
    const v = new JwtVerifier({ issuer: "", audiences: [], jwksJson, jwksUri }, () => NOW);
    assert.equal(v.configError, reason);
    assert.deepEqual(v.check(t), { ok: false, reason });
  }
  // A JWK that WebCrypto refuses to import never verifies.
  const broken = new JwtVerifier({
    issuer: "",
    audiences: [],
    jwksJson: JSON.stringify({ keys: [{ kty: "RSA", kid: "rsa1", n: "AA", e: "AQAB" }] }),
    jwksUri: "",
  }, () => NOW);
  assert.deepEqual(await broken.verify(t), { ok: false, reason: "bad signature" });
});
