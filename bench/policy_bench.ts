/**
 * Per-request cost of ProxyPolicy enforcement: the lookup for a route without
 * policies (the fast path), IP lists, a per-IP rate limit, API-key auth,
 * cached basic (bcrypt) auth, cached JWT, and a full stack.
 * Run: deno bench -A bench/policy_bench.ts
 */
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import type { Policy, Route } from "../src/snapshot/types.ts";
import { compilePolicies, type PolicyRequest } from "../src/proxy/policy/mod.ts";

function route(name: string, policies: string[]): Route {
  return {
    name,
    listeners: [],
    hostnames: [],
    matches: [],
    filters: [],
    backends: [],
    l4Protocol: "",
    maxBodyBytes: 0,
    policies,
    orderKey: name,
  };
}

function b64url(b: Uint8Array | string): string {
  const bytes = typeof b === "string" ? new TextEncoder().encode(b) : b;
  let s = "";
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const kp = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
  "sign",
  "verify",
]);
const jwk = { ...(await crypto.subtle.exportKey("jwk", kp.publicKey)), kid: "k1" };
const input = `${b64url(JSON.stringify({ alg: "ES256", kid: "k1" }))}.${
  b64url(JSON.stringify({ iss: "i", aud: "a", exp: Math.floor(Date.now() / 1000) + 3600 }))
}`;
const sig = new Uint8Array(
  await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    kp.privateKey,
    new TextEncoder().encode(input),
  ),
);
const token = `${input}.${b64url(sig)}`;

const policies: Policy[] = [
  {
    name: "ip",
    targets: [],
    ipAllow: { cidrs: ["10.0.0.0/8", "2001:db8::/32"] },
    ipDeny: { cidrs: ["10.9.0.0/16"] },
  },
  { name: "rl", targets: [], rateLimit: { requestsPerSecond: 1e9, burst: 1e9, key: "source-ip" } },
  {
    name: "key",
    targets: [],
    apiKey: { header: "x-api-key", queryParam: "", keySha256: [sha("k")] },
  },
  {
    name: "basic",
    targets: [],
    basicAuth: { realm: "", htpasswd: [`u:${bcrypt.hashSync("pw", 10)}`] },
  },
  {
    name: "jwt",
    targets: [],
    jwt: { issuer: "i", audiences: ["a"], jwksJson: JSON.stringify({ keys: [jwk] }), jwksUri: "" },
  },
  {
    name: "hdr",
    targets: [],
    requestHeaders: { set: [{ name: "x-a", value: "1" }], add: [], remove: [] },
    responseHeaders: { set: [], add: [], remove: ["server"] },
  },
];
const set = compilePolicies(policies);

function mkReq(headers: Record<string, string>, ip = "10.1.2.3"): PolicyRequest {
  return { method: "GET", sourceIp: ip, header: (n) => headers[n] ?? null, query: "" };
}

const plain = route("plain", []);
const rIp = route("ip", ["ip"]);
const rRl = route("rl", ["rl"]);
const rKey = route("key", ["key"]);
const rBasic = route("basic", ["basic"]);
const rJwt = route("jwt", ["jwt"]);
const rAll = route("all", ["ip", "rl", "jwt", "hdr"]);
const reqNone = mkReq({});
const reqKey = mkReq({ "x-api-key": "k" });
const reqBasic = mkReq({ authorization: `Basic ${btoa("u:pw")}` });
const reqJwt = mkReq({ authorization: `Bearer ${token}` });
// Warm the bcrypt and JWT caches (the steady state for returning clients).
await set.forRoute(rBasic)!.check(reqBasic);
await set.forRoute(rJwt)!.check(reqJwt);
await set.forRoute(rAll)!.check(reqJwt);

let ipN = 0;
Deno.bench("no policy: forRoute → null", { baseline: true, group: "policy" }, () => {
  if (set.forRoute(plain) !== null) throw new Error("unexpected");
});
Deno.bench("ip allow/deny (IPv4)", { group: "policy" }, () => {
  set.forRoute(rIp)!.check(reqNone);
});
Deno.bench("ip allow/deny (IPv6)", { group: "policy" }, () => {
  set.forRoute(rIp)!.check(mkReq({}, "2001:db8::1"));
});
Deno.bench("rate limit per IP (1,000 clients)", { group: "policy" }, () => {
  set.forRoute(rRl)!.check(mkReq({}, `10.0.${(ipN++ >> 8) & 3}.${ipN & 255}`));
});
Deno.bench("api key", { group: "policy" }, () => {
  set.forRoute(rKey)!.check(reqKey);
});
Deno.bench("basic bcrypt (cached)", { group: "policy" }, () => {
  set.forRoute(rBasic)!.check(reqBasic);
});
Deno.bench("jwt ES256 (cached)", { group: "policy" }, () => {
  set.forRoute(rJwt)!.check(reqJwt);
});
Deno.bench("ip + rate limit + jwt + header edits", { group: "policy" }, () => {
  set.forRoute(rAll)!.check(reqJwt);
});
Deno.bench("jwt ES256 first sight (signature verify)", { group: "slow" }, async () => {
  const v = compilePolicies([policies[4]]).forRoute(rJwt)!;
  await v.check(reqJwt);
});
