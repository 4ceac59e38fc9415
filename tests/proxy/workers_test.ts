import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { DataPlane } from "../../src/proxy/mod.ts";
import { registry } from "../../src/observe/metrics.ts";
import { cb, cluster, echoBackend, freePort, listener, route, snapshot } from "./_helpers.ts";
import { curl, makePki } from "./_tls.ts";
import {
  BreakerTable,
  CONNECTIONS,
  PENDING,
  REQUESTS,
} from "../../src/proxy/core/shared_breaker.ts";
import { until as untilHolds, waitFor } from "../_support/agent.ts";

/** Polls a condition (bounded: the two-thread cases can take a while on a busy box). */
const until = (cond: () => boolean, what: string) => untilHolds(cond, what, 15_000);

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

/**
 * A backend that holds requests until release() (except /500, answered at
 * once, and /broken, whose body fails midway), counting what it sees: requests
 * arrived, in progress now and at most, and distinct client connections.
 */
function holdingBackend() {
  const ac = new AbortController();
  const waiting: (() => void)[] = [];
  let released = false;
  const s = {
    port: 0,
    arrived: 0,
    inflight: 0,
    most: 0,
    conns: new Set<number>(),
    release() {
      released = true;
      for (const w of waiting.splice(0)) w();
    },
    close: async () => {
      s.release();
      ac.abort();
      await srv.finished;
    },
  };
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req, info) => {
      s.arrived++;
      s.inflight++;
      s.most = Math.max(s.most, s.inflight);
      s.conns.add(info.remoteAddr.port);
      try {
        const path = new URL(req.url).pathname;
        if (path === "/500") return new Response("boom", { status: 500 });
        if (path === "/broken") {
          return new Response(
            new ReadableStream({
              start(c) {
                c.enqueue(new TextEncoder().encode("part"));
                c.error(new Error("backend broke"));
              },
            }),
          );
        }
        if (!released) await new Promise<void>((r) => waiting.push(r));
        return new Response("done");
      } finally {
        s.inflight--;
      }
    },
  );
  s.port = srv.addr.port;
  return s;
}

/** The agent-wide breaker counts of `name` (the worker set's shared table; test access). */
function sharedCounts(dp: DataPlane, name: string) {
  const buf = (dp as unknown as { workers: { shared: { breakers: SharedArrayBuffer } } })
    .workers.shared.breakers;
  const t = new BreakerTable(buf);
  return t.counts(t.slotOf(name), 0);
}

Deno.test("workers: circuitBreaker.maxRequests is one cap for the agent (2 threads, limit 3: 3 at the backend)", async () => {
  const b = holdingBackend();
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"])],
      clusters: [cluster("c", [b.port], { circuitBreaker: cb({ maxRequests: 3 }) })],
    }));
    // Separate connections: the kernel spreads them over both threads
    // (with per-thread counts each would let 3 through).
    let done = 0;
    const all = Array.from(
      { length: 16 },
      (_, i) =>
        freshGet(`http://127.0.0.1:${port}/r${i}`)
          .catch((e) => ({ status: 0, body: String(e) }))
          .finally(() => done++),
    );
    await until(() => done === 13 && b.inflight === 3, "13 refusals, 3 held at the backend");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.arrived, 3, "no fourth request reached the backend");
    assert.equal(sharedCounts(dp, "c").count(REQUESTS), 3);
    b.release();
    const got = await Promise.all(all);
    assert.equal(got.filter((r) => r.status === 200).length, 3);
    for (const r of got.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 503);
      assert.match(
        r.body,
        /^circuit breaker open: requests: cluster "c" has \d+ requests in flight \(maxRequests 3\)/,
      );
    }
    assert.equal(b.most, 3);
    await until(() => sharedCounts(dp, "c").count(REQUESTS) === 0, "no request left counted");
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("workers: circuitBreaker.maxConnections is one cap for the agent (2 threads, limit 3)", async () => {
  const b = holdingBackend();
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"])],
      clusters: [cluster("c", [b.port], { circuitBreaker: cb({ maxConnections: 3 }) })],
    }));
    let done = 0;
    const all = Array.from(
      { length: 16 },
      (_, i) =>
        freshGet(`http://127.0.0.1:${port}/r${i}`)
          .catch((e) => ({ status: 0, body: String(e) }))
          .finally(() => done++),
    );
    // The rest wait for one of their thread's connections, or are refused
    // when their thread has none.
    await until(() => b.inflight === 3, "3 connections busy at the backend");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.arrived, 3, "no fourth connection was opened");
    const counts = sharedCounts(dp, "c");
    assert.equal(counts.count(CONNECTIONS), 3);
    await until(() => counts.count(PENDING) + done === 13, "the others waiting or refused");
    b.release();
    const got = await Promise.all(all);
    assert.ok(got.filter((r) => r.status === 200).length >= 3);
    for (const r of got.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 503);
      assert.match(
        r.body,
        /^circuit breaker: connections: cluster "c" has \d+ upstream connections in use \(maxConnections 3\)/,
      );
    }
    assert.equal(b.most, 3);
    assert.ok(b.conns.size <= 3, `connections opened: ${b.conns.size}`);
    // (The proxy finishes a request just after its last byte went out.)
    await until(
      () => counts.count(REQUESTS) === 0 && counts.count(PENDING) === 0,
      "nothing left counted",
    );
  } finally {
    await dp.close();
    await b.close();
  }
});

/** A request the client gives up on after `ms`. */
async function abandonedGet(url: string, ms: number): Promise<void> {
  const c = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    const r = await fetch(url, { client: c, signal: ac.signal });
    await r.body?.cancel();
  } catch {
    // aborted
  } finally {
    clearTimeout(t);
    c.close();
  }
}

Deno.test("workers: breaker counts return to zero after a burst with errors, retries and client hang-ups", async () => {
  const b = holdingBackend();
  const dead = freePort(); // nothing listens: connect failures, retried elsewhere
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  let closed = false;
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"], {
        retry: {
          attempts: 2,
          codes: [500],
          // Bounds a try whose client hang-up the proxy did not notice (it then ends at the deadline).
          perTryTimeoutMs: 2000,
          backoffMs: 0,
          retryNonIdempotent: false,
          on: [],
        },
      })],
      clusters: [cluster("c", [b.port, dead], {
        circuitBreaker: cb({ maxRequests: 40, maxPendingRequests: 6, maxConnections: 4 }),
      })],
    }));
    const url = `http://127.0.0.1:${port}`;
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 40 }, (_, i) => {
      switch (i % 4) {
        case 0:
          return freshGet(`${url}/500`).then((r) => statuses.push(r.status));
        case 1:
          return freshGet(`${url}/broken`).then((r) => statuses.push(r.status), () => {});
        default:
          // Held at the backend (or waiting for a connection) until the client leaves.
          return abandonedGet(`${url}/slow${i}`, 150 + 10 * i);
      }
    }));
    assert.ok(statuses.length >= 10, `answers: ${statuses}`);
    const counts = sharedCounts(dp, "c");
    await until(
      () => counts.count(REQUESTS) === 0 && counts.count(PENDING) === 0,
      "requests and pending back to 0",
    );
    assert.ok(counts.count(CONNECTIONS) <= 4, `connections: ${counts.count(CONNECTIONS)}`);
    b.release();
    // A request still goes through afterwards (nothing leaked blocks the cluster).
    assert.equal((await freshGet(`${url}/after`)).status, 200);
    closed = true;
    await dp.close();
    assert.equal(counts.count(CONNECTIONS), 0, "closing the pools gave every connection back");
    assert.equal(counts.count(REQUESTS), 0);
  } finally {
    if (!closed) await dp.close();
    await b.close();
  }
});

Deno.test("workers: a restarted worker drops the breaker counts its crashed predecessor held", async () => {
  const b = holdingBackend();
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["c"])],
      clusters: [cluster("c", [b.port], { circuitBreaker: cb({ maxRequests: 2 }) })],
    }));
    const held = Array.from(
      { length: 2 },
      (_, i) => freshGet(`http://127.0.0.1:${port}/h${i}`).catch(() => null),
    );
    await until(() => b.inflight === 2, "2 requests held at the backend");
    const counts = sharedCounts(dp, "c");
    assert.equal(counts.count(REQUESTS), 2);
    // Both threads die with their requests in flight (whichever holds them).
    const ws = (dp as unknown as {
      workers: { threads: { call(m: { type: string }): Promise<unknown> }[] };
    }).workers;
    for (const i of [0, 1]) await ws.threads[i].call({ type: "crash" });
    await until(() => counts.count(REQUESTS) === 0, "the dead workers' requests uncounted");
    await Promise.all(held);
    b.release();
    await until(() => dp.listeners().length === 1, "listeners back");
    // The cap is free again: requests go through (retried until the new workers serve).
    const r = await waitFor("a request through the restarted workers", async () => {
      const x = await freshGet(`http://127.0.0.1:${port}/after`).catch(() => null);
      return x?.status === 200 ? x : undefined;
    }, 15_000);
    assert.equal(r.body, "done");
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("workers: maxConnections holds across threads for an h2c cluster (one connection for the agent)", async () => {
  let sessions = 0;
  const open = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer();
  server.on("session", (x) => {
    sessions++;
    open.add(x);
    x.on("close", () => open.delete(x));
  });
  server.on("stream", (stream: http2.ServerHttp2Stream) => {
    stream.respond({ ":status": 200 });
    stream.end("h2");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const up = (server.address() as { port: number }).port;
  const port = freePort();
  const dp = new DataPlane({ workers: 2, accessLog: false });
  let closed = false;
  try {
    await dp.apply(snapshot({
      listeners: [listener("wl", port)],
      routes: [route("wr", ["h2"])],
      clusters: [cluster("h2", [up], {
        protocol: "H2C",
        circuitBreaker: cb({ maxConnections: 1 }),
      })],
    }));
    const got = await Promise.all(
      Array.from({ length: 16 }, (_, i) => freshGet(`http://127.0.0.1:${port}/r${i}`)),
    );
    const ok = got.filter((r) => r.status === 200);
    assert.ok(ok.length >= 1 && ok.every((r) => r.body === "h2"));
    for (const r of got.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 503);
      assert.match(
        r.body,
        /^circuit breaker: connections: cluster "h2" has 1 upstream connections in use \(maxConnections 1\)/,
      );
    }
    assert.equal(sessions, 1, "one upstream connection for both threads");
    const counts = sharedCounts(dp, "h2");
    assert.equal(counts.count(CONNECTIONS), 1);
    closed = true;
    await dp.close();
    await until(() => counts.count(CONNECTIONS) === 0, "the connection given back on close");
  } finally {
    if (!closed) await dp.close();
    // Let the session the proxy is closing (GOAWAY) finish before the server
    // goes: destroying one mid-GOAWAY has crashed Deno's nghttp2 (see
    // tests/proxy/upstream/h2_breaker_test.ts); a CI run segfaulted here.
    const gone = new Promise<void>((r) => server.close(() => r()));
    for (let i = 0; i < 50 && open.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    for (const x of open) x.destroy();
    await gone;
  }
});
