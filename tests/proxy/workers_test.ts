import assert from "node:assert/strict";
import { DataPlane } from "../../src/proxy/mod.ts";
import { registry } from "../../src/observe/metrics.ts";
import { cluster, echoBackend, freePort, listener, route, snapshot } from "./_helpers.ts";
import { curl, makePki } from "./_tls.ts";

Deno.test("workers: two threads share the port, apply to both, metrics are folded back", async () => {
  const b = echoBackend("w");
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  assert.equal(dp.workerCount, 2);
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await dp.apply(snapshot({
      version: "w1",
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"])],
      clusters: [cluster("c", [b.port])],
    }));
    assert.equal(dp.activeVersion, "w1");
    assert.deepEqual(dp.listeners().map((l) => l.port), [port]);
    // Separate connections spread over the threads by the kernel.
    const results = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const c = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
        const r = await fetch(`http://127.0.0.1:${port}/x`, { client: c });
        const j = await r.json();
        c.close();
        return j.name;
      }),
    );
    assert.ok(results.every((n) => n === "w"));
    await assert.rejects(
      dp.apply(snapshot({
        version: "w2",
        listeners: [listener("wl", port), listener("taken", (blocker.addr as Deno.NetAddr).port)],
        routes: [route("wr", ["c"])],
        clusters: [cluster("c", [b.port])],
      })),
      /cannot listen/,
    );
    assert.equal(dp.activeVersion, "w1");
    assert.equal((await fetch(`http://127.0.0.1:${port}/y`)).status, 200);
    const text = await registry.metrics();
    const m = /novaedge_http_requests_total\{route="wr",code="200"\} (\d+)/.exec(text);
    assert.ok(m && Number(m[1]) >= 21, `requests counted from workers: ${m?.[1]}`);
    await dp.drain(1000);
  } finally {
    blocker.close();
    await dp.close();
    await b.close();
  }
});

Deno.test("workers: a crashed worker does not take the process down and is replaced", async () => {
  const b = echoBackend("w");
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"])],
      clusters: [cluster("c", [b.port])],
    }));
    // Reach the worker set (diagnostic message, not public API).
    const ws =
      (dp as unknown as { workers: { threads: { call(m: { type: string }): Promise<unknown> }[] } })
        .workers;
    await ws.threads[0].call({ type: "crash" });
    await new Promise((r) => setTimeout(r, 2000));
    for (let i = 0; i < 10; i++) {
      const c = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const r = await fetch(`http://127.0.0.1:${port}/x`, { client: c });
      assert.equal(r.status, 200);
      await r.body?.cancel();
      c.close();
    }
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("workers: an HTTPS listener is shared by every worker (SO_REUSEPORT on TLS sockets)", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("edge", ["secure.example.com"]);
  const b = echoBackend("tls");
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("l", port, {
        protocol: "HTTPS",
        tls: { mode: "Terminate", certificates: [leaf.name], minVersion: "1.2", alpn: [] },
      })],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [b.port])],
      secrets: [leaf],
    }));
    // Several fresh connections: whichever worker accepts must terminate TLS.
    for (let i = 0; i < 6; i++) {
      const r = await curl([
        "--cacert",
        pki.caFile,
        "--resolve",
        `secure.example.com:${port}:127.0.0.1`,
        `https://secure.example.com:${port}/w${i}`,
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`/w${i}`));
    }
  } finally {
    await dp.close();
    await b.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

/** One request on a fresh connection (so the kernel may hand it to either worker). */
async function freshGet(url: string): Promise<{ status: number; body: string }> {
  const c = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const r = await fetch(url, { client: c });
    return { status: r.status, body: await r.text() };
  } finally {
    c.close();
  }
}

Deno.test("workers: a rate limit is one budget for the agent, not one per worker", async () => {
  const b = echoBackend("rl");
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply({
      ...snapshot({
        listeners: [listener("wl", port)],
        routes: [route("wr", ["c"], { policies: ["ns/rl"] })],
        clusters: [cluster("c", [b.port])],
      }),
      policies: [{
        name: "ns/rl",
        targets: [],
        rateLimit: { requestsPerSecond: 0.001, burst: 5, key: "" },
      }],
    });
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) {
      statuses.push((await freshGet(`http://127.0.0.1:${port}/`)).status);
    }
    // Per-worker buckets would admit up to 5 per thread (10 in all).
    assert.deepEqual(statuses, [...Array(5).fill(200), ...Array(11).fill(429)]);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("workers: round robin takes turns across worker threads", async () => {
  const names = ["e0", "e1"];
  const bs = names.map((n) => echoBackend(n));
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"])],
      clusters: [cluster("c", bs.map((b) => b.port))],
    }));
    const seen: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await freshGet(`http://127.0.0.1:${port}/`);
      seen.push((JSON.parse(r.body) as { name: string }).name);
    }
    // Consecutive requests alternate whichever thread accepted them.
    for (let i = 1; i < seen.length; i++) {
      assert.notEqual(seen[i], seen[i - 1], `requests ${i - 1} and ${i}: ${seen.join(" ")}`);
    }
  } finally {
    await dp.close();
    for (const b of bs) await b.close();
  }
});
