/**
 * The circuit breaker's maxPendingRequests and maxConnections on HTTP/1.1
 * pools (core/cluster.ts + upstream/h1_pool.ts), against real backends: a
 * request over a limit fails fast with a 503-kind error naming the limit.
 */
import assert from "node:assert/strict";
import { ClusterRuntime } from "../../../src/proxy/core/cluster.ts";
import { Cancel } from "../../../src/proxy/core/types.ts";
import { Hdrs } from "../../../src/proxy/core/headers.ts";
import { createBalancer } from "../../../src/proxy/lb/balancer.ts";
import { PoolRegistry } from "../../../src/proxy/upstream/registry.ts";
import {
  type OutboundRequest,
  UpstreamError,
  type UpstreamResponse,
} from "../../../src/proxy/upstream/types.ts";
import type { Cluster } from "../../../src/snapshot/types.ts";
import { cb, cluster, endpoint, freePort, gatedBackend, simpleProxy } from "../_helpers.ts";
import { until } from "../../_support/agent.ts";

const GET: OutboundRequest = {
  method: "GET",
  target: "/",
  authority: "t",
  scheme: "http",
  headers: new Hdrs(),
  body: null,
  upgrade: null,
};

function runtime(c: Cluster, registry: PoolRegistry): ClusterRuntime {
  return new ClusterRuntime(c, createBalancer(c), registry);
}

function send(cr: ClusterRuntime, port: number): Promise<UpstreamResponse> {
  return cr.exchange(endpoint(port), `127.0.0.1:${port}`, GET, new Cancel());
}

/** Reads the body to the end (returns the connection to its pool). */
async function text(res: UpstreamResponse): Promise<string> {
  let s = "";
  for (let c = await res.body?.read(); c; c = await res.body?.read()) {
    s += new TextDecoder().decode(c);
  }
  return s;
}

Deno.test("circuit breaker: maxPendingRequests caps requests waiting for a pooled connection", async () => {
  const b = gatedBackend();
  const registry = new PoolRegistry();
  const cr = runtime(
    cluster("ns/c", [b.port], {
      maxConnectionsPerEndpoint: 1,
      circuitBreaker: cb({ maxPendingRequests: 1 }),
    }),
    registry,
  );
  try {
    const first = send(cr, b.port);
    await until(() => b.arrived === 1, "the first request upstream");
    const second = send(cr, b.port);
    await until(() => cr.pending === 1, "the second request waiting");
    await assert.rejects(send(cr, b.port), (e: unknown) => {
      assert.ok(e instanceof UpstreamError);
      assert.equal(e.kind, "overflow");
      assert.match(e.message, /^circuit breaker: pending requests: cluster "ns\/c" already has 1/);
      return true;
    });
    b.open();
    assert.equal(await text(await first), "done");
    await until(() => b.arrived === 2, "the waiting request on the freed connection");
    b.open();
    assert.equal(await text(await second), "done");
    assert.equal(cr.pending, 0);
    assert.equal(cr.openConnections(), 1, "one connection served all of them");
  } finally {
    b.open();
    registry.close();
    await b.close();
  }
});

Deno.test("circuit breaker: maxConnections caps the cluster's upstream connections across endpoints", async () => {
  const a = gatedBackend();
  const b = gatedBackend();
  const registry = new PoolRegistry();
  const cr = runtime(
    cluster("ns/two", [a.port, b.port], { circuitBreaker: cb({ maxConnections: 1 }) }),
    registry,
  );
  try {
    const first = send(cr, a.port);
    await until(() => a.arrived === 1, "a request holding the cluster's one connection");
    await assert.rejects(send(cr, b.port), (e: unknown) => {
      assert.ok(e instanceof UpstreamError);
      assert.equal(e.kind, "overflow");
      assert.match(e.message, /^circuit breaker: connections: cluster "ns\/two" has 1 upstream/);
      return true;
    });
    assert.equal(b.arrived, 0);
    // To the endpoint that has the connection: wait for it instead of failing.
    const queued = send(cr, a.port);
    await until(() => cr.pending === 1, "a request queued on the busy connection");
    a.open();
    assert.equal(await text(await first), "done");
    await until(() => a.arrived === 2, "the queued request");
    a.open();
    assert.equal(await text(await queued), "done");
    // The idle connection to a is closed to make room for one to b.
    const toB = send(cr, b.port);
    await until(() => b.arrived === 1, "the request to b");
    assert.equal(cr.openConnections(), 1);
    b.open();
    assert.equal(await text(await toB), "done");
  } finally {
    a.open();
    b.open();
    registry.close();
    await a.close();
    await b.close();
  }
});

Deno.test("circuit breaker: a pending-requests refusal is a 503 with the reason, and no retry", async () => {
  const b = gatedBackend();
  const { dp, url } = await simpleProxy([cluster("c", [b.port], {
    maxConnectionsPerEndpoint: 1,
    circuitBreaker: cb({ maxPendingRequests: 1 }),
  })]);
  try {
    const first = fetch(`${url}/1`);
    await until(() => b.arrived === 1, "the first request upstream");
    // One of these waits for the connection, the other is over maxPendingRequests.
    let settled = 0;
    const two = [fetch(`${url}/2`), fetch(`${url}/3`)].map((p) => p.finally(() => settled++));
    await until(() => settled === 1, "one refusal");
    b.open();
    await (await first).text();
    await until(() => b.arrived === 2, "the waiting request");
    b.open();
    const got = await Promise.all(two.map(async (p) => {
      const r = await p;
      return `${r.status} ${await r.text()}`;
    }));
    got.sort();
    assert.equal(got[0], "200 done");
    assert.match(got[1], /^503 circuit breaker: pending requests: cluster "c" already has 1 /);
    assert.equal(b.arrived, 2, "the refused request was not retried upstream");
  } finally {
    b.open();
    await dp.close();
    await b.close();
  }
});

Deno.test("circuit breaker: a request waiting for a pooled connection stops waiting when cancelled", async () => {
  const b = gatedBackend();
  const registry = new PoolRegistry();
  const cr = runtime(
    cluster("ns/cancel", [b.port], {
      maxConnectionsPerEndpoint: 1,
      circuitBreaker: cb({ maxPendingRequests: 1 }),
    }),
    registry,
  );
  try {
    const first = send(cr, b.port);
    await until(() => b.arrived === 1, "the first request upstream");
    const cancel = new Cancel();
    const waiting = cr.exchange(endpoint(b.port), `127.0.0.1:${b.port}`, GET, cancel);
    await until(() => cr.pending === 1, "the second request waiting");
    cancel.cancel("client went away");
    await assert.rejects(waiting, (e: unknown) => {
      assert.ok(e instanceof UpstreamError);
      assert.equal(e.kind, "cancelled");
      return true;
    });
    assert.equal(cr.pending, 0, "its pending count was given back");
    // Room for another waiting request again (maxPendingRequests 1).
    const third = send(cr, b.port);
    await until(() => cr.pending === 1, "the third request waiting");
    b.open();
    assert.equal(await text(await first), "done");
    await until(() => b.arrived === 2, "the third request on the freed connection");
    b.open();
    assert.equal(await text(await third), "done");
    assert.equal(b.arrived, 2, "the cancelled request never went upstream");
    assert.equal(cr.pending, 0);
  } finally {
    b.open();
    registry.close();
    await b.close();
  }
});

Deno.test("circuit breaker: a failed dial wakes the request waiting for that pool; nothing stays counted", async () => {
  const dead = freePort();
  const registry = new PoolRegistry();
  const cr = runtime(
    cluster("ns/dead", [dead], {
      maxConnectionsPerEndpoint: 1,
      circuitBreaker: cb({ maxPendingRequests: 5, maxConnections: 2 }),
    }),
    registry,
  );
  try {
    // The second waits for the first's connection, which never comes.
    const tries = [send(cr, dead), send(cr, dead), send(cr, dead)];
    for (const t of tries) {
      await assert.rejects(t, (e: unknown) => {
        assert.ok(e instanceof UpstreamError);
        assert.equal(e.kind, "connect");
        return true;
      });
    }
    assert.equal(cr.pending, 0);
    assert.equal(cr.connections, 0);
  } finally {
    registry.close();
  }
});

Deno.test("circuit breaker: connection counts follow the cluster across a new runtime (snapshot swap)", async () => {
  const b = gatedBackend();
  const registry = new PoolRegistry();
  const c = cluster("ns/swapconn", [b.port], { circuitBreaker: cb({ maxConnections: 1 }) });
  const old = runtime(c, registry);
  try {
    const first = send(old, b.port);
    await until(() => b.arrived === 1, "a request on the old runtime's connection");
    const next = runtime(c, registry);
    assert.equal(next.connections, 1, "the new runtime sees the old one's connection");
    b.open();
    assert.equal(await text(await first), "done");
    // The pool (shared by both runtimes) reuses the idle connection: still 1.
    const second = send(next, b.port);
    await until(() => b.arrived === 2, "a request on the new runtime");
    b.open();
    assert.equal(await text(await second), "done");
    assert.equal(next.connections, 1);
    registry.close();
    assert.equal(next.connections, 0, "closing the pool gave the connection back");
  } finally {
    b.open();
    registry.close();
    await b.close();
  }
});
