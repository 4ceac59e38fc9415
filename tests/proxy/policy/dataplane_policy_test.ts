/**
 * End to end through the DataPlane: a snapshot with ProxyPolicies attached to
 * routes; requests over real sockets get 403 / 401 / 429 / preflight answers
 * from the policy and reach the backend with the policy's header edits.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DataPlane } from "../../../src/proxy/mod.ts";
import type { Policy } from "../../../src/snapshot/types.ts";
import { backend, cluster, freePort, listener, prefix, route, snapshot } from "../_helpers.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

Deno.test("policies are enforced by the data plane", async () => {
  const seen: Record<string, string | null>[] = [];
  const b = backend((req) => {
    seen.push({ xp: req.headers.get("x-policy"), key: req.headers.get("x-api-key") });
    return new Response("ok", { headers: { server: "backend" } });
  });
  const port = freePort();
  const dp = new DataPlane({});
  const policies: Policy[] = [
    {
      name: "ns/key",
      targets: [],
      apiKey: { header: "x-api-key", queryParam: "", keySha256: [sha("k1")] },
      requestHeaders: { set: [{ name: "x-policy", value: "on" }], add: [], remove: [] },
      responseHeaders: { set: [], add: [], remove: ["server"] },
      cors: {
        allowOrigins: ["https://app.test"],
        allowMethods: ["GET"],
        allowHeaders: ["x-api-key"],
        exposeHeaders: [],
        allowCredentials: false,
        maxAgeSeconds: 60,
      },
    },
    { name: "ns/deny", targets: [], ipDeny: { cidrs: ["127.0.0.0/8", "::1/128"] } },
    { name: "ns/rl", targets: [], rateLimit: { requestsPerSecond: 0.001, burst: 2, key: "" } },
  ];
  try {
    await dp.apply({
      ...snapshot({
        listeners: [listener("l", port)],
        routes: [
          route("open", ["a"], { matches: [prefix("/open")] }),
          route("key", ["a"], { matches: [prefix("/key")], policies: ["ns/key"] }),
          route("deny", ["a"], { matches: [prefix("/deny")], policies: ["ns/deny"] }),
          route("rl", ["a"], { matches: [prefix("/rl")], policies: ["ns/rl"] }),
        ],
        clusters: [cluster("a", [b.port])],
      }),
      policies,
    });
    const get = async (path: string, headers: Record<string, string> = {}, method = "GET") => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers, method });
      return { status: r.status, headers: r.headers, body: await r.text() };
    };
    assert.equal((await get("/open")).status, 200);
    const no = await get("/key");
    assert.equal(no.status, 401);
    assert.equal(no.body, "unauthorized\n");
    const yes = await get("/key", { "x-api-key": "k1", origin: "https://app.test" });
    assert.equal(yes.status, 200);
    assert.equal(yes.headers.get("server"), null, "policy response edit");
    assert.equal(yes.headers.get("access-control-allow-origin"), "https://app.test");
    assert.deepEqual(seen.at(-1), { xp: "on", key: "k1" }, "policy request edit");
    const pre = await get("/key", {
      origin: "https://app.test",
      "access-control-request-method": "GET",
    }, "OPTIONS");
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get("access-control-allow-headers"), "x-api-key");
    const denied = await get("/deny");
    assert.equal(denied.status, 403);
    assert.equal((await get("/rl")).status, 200);
    assert.equal((await get("/rl")).status, 200);
    const limited = await get("/rl");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    // A new snapshot with the same policy keeps the exhausted bucket.
    await dp.apply({
      ...snapshot({
        listeners: [listener("l", port)],
        routes: [route("rl", ["a"], { matches: [prefix("/rl")], policies: ["ns/rl"] })],
        clusters: [cluster("a", [b.port])],
      }),
      policies,
    });
    assert.equal((await get("/rl")).status, 429);
  } finally {
    await dp.close();
    await b.close();
  }
});
