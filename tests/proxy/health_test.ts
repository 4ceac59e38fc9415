import assert from "node:assert/strict";
import { backend, cluster, listener, route, simpleProxy, snapshot } from "./_helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("health: an endpoint failing its active check leaves rotation and comes back", async () => {
  let aHealthy = true;
  const a = backend((req) => {
    if (new URL(req.url).pathname === "/healthz") {
      return new Response("", { status: aHealthy ? 200 : 503 });
    }
    return new Response("a");
  });
  const b = backend(() => new Response("b"));
  const c = cluster("c", [a.port, b.port], {
    healthCheck: {
      path: "/healthz",
      intervalMs: 100,
      timeoutMs: 500,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
      expectedStatuses: [200],
    },
  });
  const { dp, url, port } = await simpleProxy([c]);
  const spread = async (n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(await (await fetch(url)).text());
    return seen;
  };
  try {
    assert.deepEqual([...(await spread(6))].sort(), ["a", "b"]);
    aHealthy = false;
    await sleep(400);
    assert.deepEqual([...(await spread(6))], ["b"]);
    // A new snapshot (new balancer) keeps the failed endpoint out.
    await dp.apply(
      snapshot({ listeners: [listener("l1", port)], routes: [route("r2", ["c"])], clusters: [c] }),
    );
    assert.deepEqual([...(await spread(6))], ["b"]);
    aHealthy = true;
    await sleep(400);
    assert.deepEqual([...(await spread(6))].sort(), ["a", "b"]);
  } finally {
    await dp.close();
    await a.close();
    await b.close();
  }
});

Deno.test("health: outlier detection ejects an endpoint after consecutive 5xx", async () => {
  const bad = backend(() => new Response("boom", { status: 500 }));
  const good = backend(() => new Response("good"));
  const { dp, url } = await simpleProxy([cluster("c", [bad.port, good.port], {
    outlierDetection: {
      consecutive5xx: 2,
      intervalMs: 1000,
      baseEjectionMs: 5000,
      maxEjectionPercent: 50,
    },
  })]);
  try {
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await fetch(url);
      codes.push(r.status);
      await r.body?.cancel();
    }
    // Round robin alternates until the 2nd 5xx ejects "bad" (within the
    // first 4 requests whatever the start phase); then only "good" answers.
    assert.deepEqual(codes.slice(4), [200, 200, 200, 200]);
    assert.equal(codes.filter((c) => c === 500).length, 2);
  } finally {
    await dp.close();
    await bad.close();
    await good.close();
  }
});

Deno.test("circuit breaker: requests beyond maxRequests in flight get 503 with a reason", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const slow = backend(async () => {
    await gate;
    return new Response("done");
  });
  const { dp, url } = await simpleProxy([cluster("c", [slow.port], {
    circuitBreaker: { maxConnections: 0, maxPendingRequests: 0, maxRequests: 2, maxRetries: 0 },
  })]);
  try {
    const first = [fetch(url), fetch(url)];
    await sleep(150);
    const third = await fetch(url);
    assert.equal(third.status, 503);
    assert.match(await third.text(), /circuit breaker open/);
    release();
    for (const r of await Promise.all(first)) assert.equal(await r.text(), "done");
  } finally {
    release();
    await dp.close();
    await slow.close();
  }
});
