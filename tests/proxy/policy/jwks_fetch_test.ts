/**
 * Remote JWKS (jwt.jwksUri): fetched from a loopback JWKS server, shared per
 * URI, refreshed on rotation and when stale, last good set kept when the
 * server is down, fail closed (503) before the first fetch.
 */
import assert from "node:assert/strict";
import { JwtVerifier } from "../../../src/proxy/policy/jwt.ts";
import {
  JwksFetcher,
  jwksFetcherFor,
  jwksUriProblem,
} from "../../../src/proxy/policy/jwks_fetch.ts";
import { compilePolicies } from "../../../src/proxy/policy/compile.ts";
import { DataPlane } from "../../../src/proxy/mod.ts";
import type { Policy, Route } from "../../../src/snapshot/types.ts";
import {
  accessLines,
  backend,
  cluster,
  echoBackend,
  freePort,
  listener,
  prefix,
  route,
  snapshot,
} from "../_helpers.ts";
import { makePki } from "../_tls.ts";
import { jwks, rs256 } from "./_jwt_helpers.ts";

const k1 = await rs256("k1");
const k2 = await rs256("k2");
const claims = () => ({ sub: "u", exp: Math.floor(Date.now() / 1000) + 600 });

/** A loopback JWKS server whose document and status the test changes. */
function jwksServer(body: string) {
  const s = { body, status: 200, hits: 0, port: 0, close: async () => {} };
  const b = backend(() => {
    s.hits++;
    return new Response(s.body, {
      status: s.status,
      headers: { "content-type": "application/json" },
    });
  });
  s.port = b.port;
  s.close = b.close;
  return s;
}

function clock() {
  const c = { t: 0, now: () => c.t };
  return c;
}

const jwtCfg = (uri: string) => ({ issuer: "", audiences: [], jwksJson: "", jwksUri: uri });

Deno.test("jwksUri: keys fetched once, then tokens verify (cached afterwards)", async () => {
  const srv = jwksServer(jwks(k1));
  const f = new JwksFetcher(`http://127.0.0.1:${srv.port}/jwks`);
  try {
    const v = new JwtVerifier(jwtCfg(f.uri), Date.now, 100, f);
    assert.equal(v.configError, "");
    const t = await k1.sign({}, claims());
    assert.deepEqual(await v.verify(t), { ok: true });
    assert.deepEqual(v.check(t), { ok: true }, "second time from the token cache");
    assert.equal(srv.hits, 1);
    assert.equal(f.lastError, "");
  } finally {
    await srv.close();
  }
});

Deno.test("jwksUri: a rotated-in kid triggers a re-fetch; rate-limited for unknown kids", async () => {
  const srv = jwksServer(jwks(k1));
  const c = clock();
  const f = new JwksFetcher(`http://127.0.0.1:${srv.port}/jwks`, {
    clock: c.now,
    minRefetchMs: 10_000,
  });
  try {
    const v = new JwtVerifier(jwtCfg(f.uri), Date.now, 100, f);
    const t1 = await k1.sign({}, claims());
    assert.deepEqual(await v.verify(t1), { ok: true });
    // The IdP rotates: k2 signs, k1 is withdrawn.
    srv.body = jwks(k2);
    c.t += 20_000;
    const t2 = await k2.sign({}, claims());
    assert.deepEqual(await v.verify(t2), { ok: true }, "new kid picked up on first use");
    assert.equal(srv.hits, 2);
    // The withdrawn key no longer verifies, even for a token verified before.
    assert.deepEqual(await v.verify(t1), { ok: false, reason: "no matching key in JWKS" });
    // Unknown kids do not make a fetch each: one per minRefetchMs.
    const bogus = await (await rs256("nope")).sign({}, claims());
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await v.verify(bogus), { ok: false, reason: "no matching key in JWKS" });
    }
    assert.equal(srv.hits, 2, "within minRefetchMs of the last fetch: no new fetch");
    c.t += 10_000;
    await v.verify(bogus);
    assert.equal(srv.hits, 3);
  } finally {
    await srv.close();
  }
});

Deno.test("jwksUri: stale keys are refreshed; a failed refresh keeps the last good set", async () => {
  const srv = jwksServer(jwks(k1));
  const c = clock();
  const f = new JwksFetcher(`http://127.0.0.1:${srv.port}/jwks`, {
    clock: c.now,
    refreshMs: 60_000,
    minRefetchMs: 0,
  });
  const v = new JwtVerifier(jwtCfg(f.uri), Date.now, 100, f);
  const t1 = await k1.sign({}, claims());
  assert.deepEqual(await v.verify(t1), { ok: true });
  // Stale: the next use starts a background refresh.
  c.t += 61_000;
  srv.body = jwks(k1, k2);
  assert.deepEqual(v.check(t1), { ok: true }, "answered from cache while refreshing");
  await f.refetchForMiss();
  assert.equal(srv.hits, 2);
  assert.ok(f.current?.keys.some((k) => k.kid === "k2"));
  // Server errors, then down: the last good set stays in use.
  srv.status = 500;
  c.t += 61_000;
  await f.refresh();
  assert.match(f.lastError, /HTTP 500/);
  await srv.close();
  c.t += 61_000;
  await f.refresh();
  assert.match(f.lastError, /fetching http:\/\/127\.0\.0\.1:\d+\/jwks failed/);
  const t2 = await k2.sign({}, claims());
  assert.deepEqual(await v.verify(t2), { ok: true }, "last good keys still verify");
  assert.deepEqual(await v.verify(t1), { ok: true });
});

Deno.test("jwksUri: never fetched fails closed with 503 and the fetch error as reason", async () => {
  const port = freePort(); // nothing listens here
  const uri = `http://127.0.0.1:${port}/jwks`;
  const f = new JwksFetcher(uri, { minRefetchMs: 0 });
  const v = new JwtVerifier(jwtCfg(uri), Date.now, 100, f);
  const t = await k1.sign({}, claims());
  const r = await v.verify(t);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.unavailable);
  assert.match(!r.ok ? r.reason : "", new RegExp(`JWKS ${uri} not available \\(fetching`));
  // Through a policy: 503 with the reason for the access log, no key → 401 as before.
  const policies: Policy[] = [{ name: "ns/jwt", targets: [], jwt: jwtCfg(uri) }];
  const set = compilePolicies(policies);
  const rp = set.forRoute({ policies: ["ns/jwt"] } as unknown as Route)!;
  const req = (authz: string | null) => ({
    method: "GET",
    sourceIp: "10.0.0.1",
    header: (n: string) => (n === "authorization" ? authz : null),
    query: "",
  });
  const d = await rp.check(req(`Bearer ${t}`));
  assert.ok(!d.allow);
  assert.equal(d.status, 503);
  assert.match(d.reason, /policy ns\/jwt: jwt: JWKS .* not available/);
  const none = await rp.check(req(null));
  assert.ok(!none.allow);
  assert.equal(none.status, 401);
});

Deno.test("jwksUri: bounded size and time; bad documents and redirects are failed fetches", async () => {
  const srv = jwksServer("x".repeat(2000));
  const uri = `http://127.0.0.1:${srv.port}/jwks`;
  try {
    const f = new JwksFetcher(uri, { maxBytes: 1000 });
    await f.refresh();
    assert.match(f.lastError, /JWKS larger than 1000 bytes/);
    srv.body = "{nope";
    const g = new JwksFetcher(uri);
    await g.refresh();
    assert.match(g.lastError, /JWKS is not valid JSON/);
    srv.body = "";
    srv.status = 302;
    await g.refresh();
    assert.match(g.lastError, /HTTP 302/);
    assert.equal(g.current, null);
  } finally {
    await srv.close();
  }
  // A server that accepts and never answers.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of silent) held.push(c);
  })();
  try {
    const f = new JwksFetcher(`http://127.0.0.1:${silent.addr.port}/jwks`, { timeoutMs: 200 });
    await f.refresh();
    assert.match(f.lastError, /no answer within 200 ms/);
  } finally {
    silent.close();
    await accepting.catch(() => {});
    for (const c of held) c.close();
  }
});

Deno.test("jwksUri: scheme rules (https; http only for loopback or when allowed)", () => {
  assert.equal(jwksUriProblem("https://idp.example/jwks"), "");
  assert.equal(jwksUriProblem("http://127.0.0.1:1/jwks"), "");
  assert.equal(jwksUriProblem("http://[::1]:1/jwks"), "");
  assert.equal(jwksUriProblem("http://localhost/jwks"), "");
  assert.match(jwksUriProblem("http://idp.example/jwks"), /must use https/);
  assert.equal(jwksUriProblem("http://idp.example/jwks", { allowHttp: true }), "");
  Deno.env.set("NOVAEDGE_JWKS_ALLOW_HTTP", "1");
  try {
    assert.equal(jwksUriProblem("http://idp.example/jwks"), "", "explicitly allowed");
  } finally {
    Deno.env.delete("NOVAEDGE_JWKS_ALLOW_HTTP");
  }
  assert.match(jwksUriProblem("not a url"), /is not a URL/);
});

Deno.test("jwksUri: https with a given CA", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("jwks", ["localhost"]);
  const ac = new AbortController();
  let hits = 0;
  const srv = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: () => {},
    cert: leaf.certPem,
    key: leaf.keyPem,
  }, () => {
    hits++;
    return new Response(jwks(k1));
  });
  try {
    const f = new JwksFetcher(`https://localhost:${srv.addr.port}/jwks`, { caPem: pki.caPem });
    await f.refresh();
    assert.equal(f.lastError, "");
    assert.equal(f.current?.keys[0].kid, "k1");
    // Without the CA the server is not trusted.
    const g = new JwksFetcher(`https://localhost:${srv.addr.port}/jwks`);
    await g.refresh();
    assert.match(g.lastError, /fetching https:\/\/localhost:\d+\/jwks failed/);
    assert.equal(hits, 1);
    f.close();
  } finally {
    ac.abort();
    await srv.finished;
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("jwksUri: a policy's jwksCaPem reaches the thread's fetcher (one per URI and CA)", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("jwks", ["localhost"]);
  const srv = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
    cert: leaf.certPem,
    key: leaf.keyPem,
    onError: () => new Response("tls error", { status: 599 }),
  }, () => new Response(jwks(k1)));
  try {
    const uri = `https://localhost:${srv.addr.port}/jwks`;
    const t = await k1.sign({}, claims());
    const withCa = new JwtVerifier({ ...jwtCfg(uri), jwksCaPem: pki.caPem });
    assert.equal(withCa.configError, "");
    assert.deepEqual(await withCa.verify(t), { ok: true });
    const forged = await (await rs256("k1")).sign({}, claims());
    assert.deepEqual(await withCa.verify(forged), { ok: false, reason: "bad signature" });
    // The same URI without the CA is another fetcher, and its server is not trusted.
    const shared = jwksFetcherFor(uri, { caPem: pki.caPem });
    assert.notEqual(jwksFetcherFor(uri), shared);
    assert.equal(shared.lastError, "");
    const withoutCa = await new JwtVerifier(jwtCfg(uri)).verify(t);
    assert.ok(!withoutCa.ok && withoutCa.unavailable, JSON.stringify(withoutCa));
    assert.match(!withoutCa.ok ? withoutCa.reason : "", /not available \(fetching https:/);
    shared.close();
    jwksFetcherFor(uri).close();
  } finally {
    await srv.shutdown();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("jwksUri through the data plane: one fetch per URI for all routes; 401/503 logged", async () => {
  const srv = jwksServer(jwks(k1));
  const uri = `http://127.0.0.1:${srv.port}/jwks`;
  const deadUri = `http://127.0.0.1:${freePort()}/jwks`;
  const b = echoBackend("api");
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply({
      ...snapshot({
        listeners: [listener("l", port)],
        routes: [
          route("r1", ["c"], { matches: [prefix("/one")], policies: ["ns/a"] }),
          route("r2", ["c"], { matches: [prefix("/two")], policies: ["ns/b"] }),
          route("r3", ["c"], { matches: [prefix("/dead")], policies: ["ns/dead"] }),
        ],
        clusters: [cluster("c", [b.port])],
      }),
      policies: [
        { name: "ns/a", targets: [], jwt: jwtCfg(uri) },
        { name: "ns/b", targets: [], jwt: { ...jwtCfg(uri), issuer: "" } },
        { name: "ns/dead", targets: [], jwt: jwtCfg(deadUri) },
      ],
    });
    const t = await k1.sign({}, claims());
    const get = async (path: string, token: string | null) => {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
      await r.body?.cancel();
      return r.status;
    };
    assert.equal(await get("/one", t), 200);
    assert.equal(await get("/two", t), 200);
    assert.equal(await get("/one", null), 401);
    assert.equal(srv.hits, 1, "one fetcher for the URI, shared by both policies");
    assert.equal(jwksFetcherFor(uri), jwksFetcherFor(uri));
    assert.equal(await get("/dead", t), 503);
    const line = accessLines().findLast((l) => l.route === "r3");
    assert.match(String(line?.reason), /JWKS http:\/\/127\.0\.0\.1:\d+\/jwks not available/);
  } finally {
    await dp.close();
    await b.close();
    await srv.close();
  }
});
