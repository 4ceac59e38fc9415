import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import type { Policy, Route } from "../../../src/snapshot/types.ts";
import {
  applyPolicyRequest,
  applyPolicyResponse,
  compilePolicies,
  type PolicyDecision,
  type PolicyRequest,
  type PolicyRespond,
} from "../../../src/proxy/policy/mod.ts";
import { es256, jwks } from "./_jwt_helpers.ts";

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

function pol(name: string, p: Partial<Policy>): Policy {
  return { name, targets: [`ProxyRoute/${name}`], ...p };
}

function req(
  opts: { ip?: string; method?: string; headers?: Record<string, string>; query?: string } = {},
): PolicyRequest {
  const h = Object.fromEntries(
    Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    method: opts.method ?? "GET",
    sourceIp: opts.ip ?? "10.0.0.1",
    header: (n: string) => h[n] ?? null,
    query: opts.query ?? "",
  };
}

function refused(d: PolicyDecision): PolicyRespond {
  assert.equal(d.allow, false, `expected a local response, got ${JSON.stringify(d)}`);
  return d as PolicyRespond;
}
const hdr = (d: PolicyRespond, n: string) => d.headers.filter((p) => p[0] === n).map((p) => p[1]);
const basic = (u: string, p: string) => `Basic ${btoa(`${u}:${p}`)}`;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const shaLine = (u: string, p: string) =>
  `${u}:{SHA}${createHash("sha1").update(p).digest("base64")}`;

Deno.test("forRoute: null for routes without policies or with unknown names; cached", () => {
  const set = compilePolicies([pol("ns/a", { ipDeny: { cidrs: ["1.2.3.4"] } })]);
  assert.equal(set.forRoute(route("r0", [])), null);
  assert.equal(set.forRoute(route("r1", ["ns/missing"])), null);
  const r = route("r2", ["ns/a"]);
  const rp = set.forRoute(r);
  assert.notEqual(rp, null);
  assert.equal(set.forRoute(r), rp);
  assert.equal(set.forRoute(route("r3", ["ns/a"])), rp, "same policy list shares one RoutePolicy");
});

Deno.test("IP lists: deny wins, allow lists are ANDed across policies, IPv6 and mapped", () => {
  const set = compilePolicies([
    pol("ns/gw", { ipAllow: { cidrs: ["10.0.0.0/8", "2001:db8::/32"] } }),
    pol("ns/rt", {
      ipAllow: { cidrs: ["10.1.0.0/16", "2001:db8:1::/48"] },
      ipDeny: { cidrs: ["10.1.2.0/24", "2001:db8:1:2::/64"] },
    }),
  ]);
  const rp = set.forRoute(route("r", ["ns/gw", "ns/rt"]))!;
  const table: [string, boolean][] = [
    ["10.1.0.1", true],
    ["::ffff:10.1.0.1", true],
    ["10.1.2.3", false], // denied
    ["10.2.0.1", false], // in gw allow, not in route allow
    ["192.168.0.1", false],
    ["2001:db8:1::5", true],
    ["2001:db8:1:2::5", false],
    ["2001:db8:2::1", false],
    ["not-an-ip", false],
    ["", false],
  ];
  for (const [ip, ok] of table) {
    const d = rp.check(req({ ip })) as PolicyDecision;
    assert.equal(d.allow, ok, ip);
    if (!ok) {
      const r = refused(d);
      assert.equal(r.status, 403);
      assert.match(r.reason, /ipDeny|ipAllow/);
    }
  }
  const denyOnly = compilePolicies([pol("ns/d", { ipDeny: { cidrs: ["::1"] } })])
    .forRoute(route("r", ["ns/d"]))!;
  assert.equal((denyOnly.check(req({ ip: "garbage" })) as PolicyDecision).allow, true);
  assert.equal((denyOnly.check(req({ ip: "[::1]" })) as PolicyDecision).allow, false);
});

Deno.test("rate limit: per source IP, per header, route-wide; 429 with Retry-After", () => {
  let t = 0;
  const clock = () => t;
  const set = compilePolicies([
    pol("ns/ip", { rateLimit: { requestsPerSecond: 1, burst: 2, key: "source-ip" } }),
    pol("ns/hdr", { rateLimit: { requestsPerSecond: 1, burst: 1, key: "header:X-Tenant" } }),
    pol("ns/all", { rateLimit: { requestsPerSecond: 2, burst: 3, key: "" } }),
  ], { clock });
  const byIp = set.forRoute(route("a", ["ns/ip"]))!;
  const ok = (d: PolicyDecision | Promise<PolicyDecision>) => (d as PolicyDecision).allow;
  assert.equal(ok(byIp.check(req({ ip: "1.1.1.1" }))), true);
  assert.equal(ok(byIp.check(req({ ip: "1.1.1.1" }))), true);
  const r = refused(byIp.check(req({ ip: "1.1.1.1" })) as PolicyDecision);
  assert.equal(r.status, 429);
  assert.deepEqual(hdr(r, "retry-after"), ["1"]);
  assert.match(r.reason, /ns\/ip.*1\.1\.1\.1/);
  assert.equal(ok(byIp.check(req({ ip: "2.2.2.2" }))), true, "another client has its own bucket");
  t += 1000;
  assert.equal(ok(byIp.check(req({ ip: "1.1.1.1" }))), true, "refilled one token");

  const byHdr = set.forRoute(route("b", ["ns/hdr"]))!;
  assert.equal(ok(byHdr.check(req({ headers: { "x-tenant": "a" } }))), true);
  assert.equal(ok(byHdr.check(req({ headers: { "x-tenant": "a" } }))), false);
  assert.equal(ok(byHdr.check(req({ headers: { "x-tenant": "b" } }))), true);
  assert.equal(ok(byHdr.check(req())), true, "requests without the header share one bucket");
  assert.equal(ok(byHdr.check(req())), false);

  const all = set.forRoute(route("c", ["ns/all"]))!;
  const results = ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"].map((ip) =>
    ok(all.check(req({ ip })))
  );
  assert.deepEqual(results, [true, true, true, false]);
});

Deno.test("rate limit: buckets survive a recompile when the policy is unchanged", () => {
  const t = 0;
  const p = pol("ns/rl", { rateLimit: { requestsPerSecond: 1, burst: 1, key: "" } });
  const s1 = compilePolicies([p], { clock: () => t });
  assert.equal((s1.forRoute(route("r", ["ns/rl"]))!.check(req()) as PolicyDecision).allow, true);
  const s2 = compilePolicies([{ ...p }], { clock: () => t, previous: s1 });
  assert.equal(
    (s2.forRoute(route("r", ["ns/rl"]))!.check(req()) as PolicyDecision).allow,
    false,
    "same bucket",
  );
  const s3 = compilePolicies([{ ...p, rateLimit: { requestsPerSecond: 1, burst: 5, key: "" } }], {
    clock: () => t,
    previous: s2,
  });
  assert.equal(
    (s3.forRoute(route("r", ["ns/rl"]))!.check(req()) as PolicyDecision).allow,
    true,
    "a changed limit starts fresh",
  );
});

Deno.test("rate limit is checked before authentication (no credential work when throttled)", () => {
  const set = compilePolicies([
    pol("ns/p", {
      rateLimit: { requestsPerSecond: 1, burst: 1, key: "" },
      basicAuth: { realm: "r", htpasswd: [shaLine("u", "p")] },
    }),
  ], { clock: () => 0 });
  const rp = set.forRoute(route("r", ["ns/p"]))!;
  assert.equal(refused(rp.check(req()) as PolicyDecision).status, 401);
  assert.equal(
    refused(rp.check(req({ headers: { authorization: basic("u", "p") } })) as PolicyDecision)
      .status,
    429,
  );
});

Deno.test("auth: basic {SHA} with realm challenge; malformed Authorization is 401", () => {
  const rp = compilePolicies([
    pol("ns/b", { basicAuth: { realm: 'Staff "only"', htpasswd: [shaLine("alice", "pw")] } }),
  ]).forRoute(route("r", ["ns/b"]))!;
  assert.equal(
    (rp.check(req({ headers: { authorization: basic("alice", "pw") } })) as PolicyDecision).allow,
    true,
  );
  for (
    const a of [
      undefined,
      basic("alice", "nope"),
      basic("bob", "pw"),
      "Basic %%%",
      "Bearer x.y.z",
      "garbage",
    ]
  ) {
    const d = refused(
      rp.check(req({ headers: a === undefined ? {} : { authorization: a } })) as PolicyDecision,
    );
    assert.equal(d.status, 401, String(a));
    assert.deepEqual(hdr(d, "www-authenticate"), ['Basic realm="Staff only", charset="UTF-8"']);
    assert.deepEqual(hdr(d, "content-type"), ["text/plain; charset=utf-8"]);
    assert.doesNotMatch(d.body, /pw|nope/);
  }
});

Deno.test("auth: bcrypt goes async once, then the cached success is synchronous", async () => {
  const rp = compilePolicies([
    pol("ns/b", { basicAuth: { realm: "", htpasswd: [`u:${bcrypt.hashSync("pw", 4)}`] } }),
  ]).forRoute(route("r", ["ns/b"]))!;
  const first = rp.check(req({ headers: { authorization: basic("u", "pw") } }));
  assert.ok(first instanceof Promise);
  assert.equal((await first).allow, true);
  const again = rp.check(req({ headers: { authorization: basic("u", "pw") } }));
  assert.ok(!(again instanceof Promise));
  assert.equal(again.allow, true);
  const wrong = await rp.check(req({ headers: { authorization: basic("u", "bad") } }));
  assert.equal(refused(wrong).status, 401);
  assert.deepEqual(hdr(refused(wrong), "www-authenticate"), [
    'Basic realm="novaedge", charset="UTF-8"',
  ]);
});

Deno.test("auth: API key from header or query", () => {
  const rp = compilePolicies([
    pol("ns/k", { apiKey: { header: "x-api-key", queryParam: "key", keySha256: [sha("k-123")] } }),
  ]).forRoute(route("r", ["ns/k"]))!;
  const allow = (o: Parameters<typeof req>[0]) => (rp.check(req(o)) as PolicyDecision).allow;
  assert.equal(allow({ headers: { "x-api-key": "k-123" } }), true);
  assert.equal(allow({ query: "a=1&key=k-123" }), true);
  assert.equal(allow({ headers: { "x-api-key": "k-124" } }), false);
  assert.equal(allow({ query: "key=" }), false);
  assert.equal(allow({}), false);
  const d = refused(rp.check(req({ headers: { "x-api-key": "wrong" } })) as PolicyDecision);
  assert.match(d.reason, /api key not recognised/);
});

Deno.test("auth: JWT bearer; several methods → any one passing is enough", async () => {
  const ec = await es256();
  const now = Date.now();
  const set = compilePolicies([
    pol("ns/jwt", {
      jwt: { issuer: "iss", audiences: ["aud"], jwksJson: jwks(ec), jwksUri: "" },
    }),
    pol("ns/key", { apiKey: { header: "x-api-key", queryParam: "", keySha256: [sha("key")] } }),
  ], { now: () => now });
  const rp = set.forRoute(route("r", ["ns/jwt", "ns/key"]))!;
  const tok = await ec.sign({}, { iss: "iss", aud: "aud", exp: Math.floor(now / 1000) + 60 });
  const viaJwt = rp.check(req({ headers: { authorization: `Bearer ${tok}` } }));
  assert.ok(viaJwt instanceof Promise, "first sight of a token: signature check");
  assert.equal((await viaJwt).allow, true);
  const cached = rp.check(req({ headers: { authorization: `Bearer ${tok}` } }));
  assert.ok(!(cached instanceof Promise));
  assert.equal((rp.check(req({ headers: { "x-api-key": "key" } })) as PolicyDecision).allow, true);
  // Neither: 401 with a Bearer challenge; a presented bad token says invalid_token.
  const none = refused(await rp.check(req()));
  assert.deepEqual(hdr(none, "www-authenticate"), ["Bearer"]);
  const expired = await ec.sign({}, { iss: "iss", aud: "aud", exp: Math.floor(now / 1000) - 3600 });
  const e = refused(await rp.check(req({ headers: { authorization: `Bearer ${expired}` } })));
  assert.equal(e.status, 401);
  assert.deepEqual(hdr(e, "www-authenticate"), ['Bearer error="invalid_token"']);
  assert.match(e.reason, /token expired/);
  const wrongAud = await ec.sign({}, { iss: "iss", aud: "x", exp: Math.floor(now / 1000) + 60 });
  assert.match(
    refused(await rp.check(req({ headers: { authorization: `Bearer ${wrongAud}` } }))).reason,
    /wrong audience/,
  );
  const garbage = rp.check(req({ headers: { authorization: "Bearer not.a.jwt" } }));
  assert.ok(!(garbage instanceof Promise), "garbage is refused without crypto");
  assert.equal(refused(garbage).status, 401);
  const t = tok.split(".");
  const forged = `${t[0]}.${t[1]}.${t[2].slice(0, -4)}AAAA`;
  assert.match(
    refused(await rp.check(req({ headers: { authorization: `Bearer ${forged}` } }))).reason,
    /bad signature/,
  );
});

Deno.test("CORS: preflight answered before auth; refusals and allows carry CORS", () => {
  const cors = {
    allowOrigins: ["https://app.example.test"],
    allowMethods: ["GET", "POST"],
    allowHeaders: [],
    exposeHeaders: [],
    allowCredentials: false,
    maxAgeSeconds: 600,
  };
  const rp = compilePolicies([
    pol("ns/c", { cors, apiKey: { header: "x-api-key", queryParam: "", keySha256: [sha("k")] } }),
  ]).forRoute(route("r", ["ns/c"]))!;
  const origin = "https://app.example.test";
  const pre = refused(rp.check(req({
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST" },
  })) as PolicyDecision);
  assert.equal(pre.status, 200);
  assert.equal(pre.body, "");
  assert.deepEqual(hdr(pre, "access-control-allow-origin"), [origin]);
  assert.deepEqual(hdr(pre, "access-control-allow-methods"), ["GET, POST"]);
  assert.deepEqual(hdr(pre, "access-control-max-age"), ["600"]);
  const denied = refused(rp.check(req({ headers: { origin } })) as PolicyDecision);
  assert.equal(denied.status, 401);
  assert.deepEqual(hdr(denied, "access-control-allow-origin"), [origin]);
  const evil = refused(
    rp.check(req({ headers: { origin: "https://evil.test" } })) as PolicyDecision,
  );
  assert.deepEqual(hdr(evil, "access-control-allow-origin"), []);
  const ok = rp.check(req({ headers: { origin, "x-api-key": "k" } })) as PolicyDecision;
  assert.equal(ok.allow, true);
  if (ok.allow) assert.equal(ok.cors, cors);
});

Deno.test("header edits: all policies in order; applied with the filter helpers", () => {
  const set = compilePolicies([
    pol("ns/one", {
      requestHeaders: { set: [{ name: "X-A", value: "1" }], add: [], remove: ["x-drop"] },
      responseHeaders: { set: [{ name: "X-Served-By", value: "edge" }], add: [], remove: [] },
      cors: {
        allowOrigins: ["*"],
        allowMethods: [],
        allowHeaders: [],
        exposeHeaders: ["x-served-by"],
        allowCredentials: false,
        maxAgeSeconds: 0,
      },
    }),
    pol("ns/two", {
      requestHeaders: {
        set: [{ name: "X-A", value: "2" }],
        add: [{ name: "X-B", value: "b" }],
        remove: [],
      },
      responseHeaders: { set: [], add: [], remove: ["server"] },
    }),
  ]);
  const d = set.forRoute(route("r", ["ns/one", "ns/two"]))!.check(req()) as PolicyDecision;
  assert.ok(d.allow);
  if (!d.allow) return;
  assert.deepEqual(d.policies, ["ns/one", "ns/two"]);
  const up = new Headers({ "x-drop": "1", "x-keep": "1" });
  applyPolicyRequest(d, up);
  assert.deepEqual([...up], [["x-a", "2"], ["x-b", "b"], ["x-keep", "1"]]);
  const down = new Headers({ server: "backend" });
  applyPolicyResponse(d, "https://site.test", down);
  assert.equal(down.get("server"), null);
  assert.equal(down.get("x-served-by"), "edge");
  assert.equal(down.get("access-control-allow-origin"), "https://site.test");
  assert.equal(down.get("access-control-expose-headers"), "x-served-by");
  // A policy with nothing dynamic returns the same frozen decision every time.
  const again = set.forRoute(route("r2", ["ns/one", "ns/two"]))!.check(req());
  assert.equal(again, d);
});

Deno.test("compile problems are reported: bad CIDR, unsupported hash, JWKS", () => {
  const set = compilePolicies([
    pol("ns/p", {
      ipAllow: { cidrs: ["10.0.0.0/8", "10.0.0.0/99"] },
      basicAuth: { realm: "", htpasswd: ["u:$apr1$x$y"] },
      jwt: { issuer: "", audiences: [], jwksJson: "", jwksUri: "http://idp.example/jwks" },
    }),
  ]);
  assert.equal(set.size, 1);
  assert.equal(set.problems.length, 3);
  assert.match(set.problems.join("\n"), /invalid CIDR "10.0.0.0\/99"/);
  assert.match(set.problems.join("\n"), /unsupported hash/);
  assert.match(set.problems.join("\n"), /jwksUri http:\/\/idp.example\/jwks must use https/);
});

Deno.test("rate limit: an IPv4-mapped source shares the IPv4 client's bucket", () => {
  const rp = compilePolicies([
    pol("ns/rl", { rateLimit: { requestsPerSecond: 1, burst: 1, key: "source-ip" } }),
  ], { clock: () => 0 }).forRoute(route("r", ["ns/rl"]))!;
  assert.equal((rp.check(req({ ip: "10.0.0.7" })) as PolicyDecision).allow, true);
  assert.equal((rp.check(req({ ip: "::ffff:10.0.0.7" })) as PolicyDecision).allow, false);
});

Deno.test("decisions apply to the engine's own header list (Hdrs)", async () => {
  const { Hdrs } = await import("../../../src/proxy/core/headers.ts");
  const d = compilePolicies([
    pol("ns/h", {
      requestHeaders: { set: [{ name: "X-Policy", value: "yes" }], add: [], remove: ["cookie"] },
      responseHeaders: { set: [], add: [{ name: "Via", value: "edge" }], remove: [] },
    }),
  ]).forRoute(route("r", ["ns/h"]))!.check(req()) as PolicyDecision;
  assert.ok(d.allow);
  if (!d.allow) return;
  const up = new Hdrs(["cookie", "a=1", "host", "x"]);
  applyPolicyRequest(d, up);
  assert.equal(up.get("x-policy"), "yes");
  assert.equal(up.get("cookie"), null);
  assert.equal(up.get("host"), "x");
  const down = new Hdrs(["via", "backend"]);
  applyPolicyResponse(d, null, down);
  assert.deepEqual(down.getAll("via"), ["backend", "edge"]);
});
