import assert from "node:assert/strict";
import client from "prom-client";
import { parseAddress, startAdminServer } from "../../src/observe/admin.ts";

Deno.test("parseAddress accepts host:port, [v6]:port and :port and rejects junk", () => {
  assert.deepEqual(parseAddress("127.0.0.1:9901"), { hostname: "127.0.0.1", port: 9901 });
  assert.deepEqual(parseAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.deepEqual(parseAddress(":9901"), { hostname: "0.0.0.0", port: 9901 });
  assert.throws(() => parseAddress("9901"), /expected host:port/);
  assert.throws(() => parseAddress("a:99999"), /above 65535/);
});

Deno.test("admin server answers healthz, readyz by state, metrics and debug endpoints", async () => {
  const registry = new client.Registry();
  const c = new client.Counter({ name: "test_total", help: "t", registers: [registry] });
  c.inc(3);
  let ready = false;
  let snapshot: unknown = undefined;
  const admin = await startAdminServer({
    address: "127.0.0.1:0",
    registry,
    ready: () => ({ ready, reason: "no snapshot applied yet" }),
    debug: { "/debug/snapshot": () => snapshot },
  });
  const base = `http://127.0.0.1:${admin.port}`;
  try {
    const get = async (p: string) => {
      const r = await fetch(base + p);
      return { status: r.status, body: await r.text() };
    };
    assert.deepEqual(await get("/healthz"), { status: 200, body: "ok\n" });
    const notReady = await get("/readyz");
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /no snapshot applied yet/);
    ready = true;
    assert.equal((await get("/readyz")).status, 200);
    assert.match((await get("/metrics")).body, /^test_total 3$/m);
    assert.equal((await get("/debug/snapshot")).status, 404);
    snapshot = { version: "v1" };
    const s = await get("/debug/snapshot");
    assert.equal(s.status, 200);
    assert.equal(JSON.parse(s.body).version, "v1");
    const missing = await get("/nope");
    assert.equal(missing.status, 404);
    assert.match(missing.body, /try one of: \/healthz/);
  } finally {
    await admin.close();
  }
});
