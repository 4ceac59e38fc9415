/**
 * Circuit-breaker limits on HTTP/2 upstreams (upstream/h2_client.ts with
 * core/cluster.ts as its gate), against real h2c backends on node:http2:
 * maxPendingRequests bounds requests waiting for the connection or a stream
 * slot, maxConnections the connections dialled, maxRequests the streams in
 * flight (proxy core); refusals are 503s naming the limit and the cluster,
 * in the access log, not retried; counts go back to 0 on every path.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { ClusterRuntime } from "../../../src/proxy/core/cluster.ts";
import { Cancel } from "../../../src/proxy/core/types.ts";
import { Hdrs } from "../../../src/proxy/core/headers.ts";
import { breakerCounts, PENDING, REQUESTS } from "../../../src/proxy/core/shared_breaker.ts";
import { createBalancer } from "../../../src/proxy/lb/balancer.ts";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { PoolRegistry } from "../../../src/proxy/upstream/registry.ts";
import {
  type OutboundRequest,
  UpstreamError,
  type UpstreamResponse,
} from "../../../src/proxy/upstream/types.ts";
import type { Cluster } from "../../../src/snapshot/types.ts";
import {
  accessLines,
  cb,
  cluster,
  endpoint,
  freePort,
  listener,
  route,
  snapshot,
} from "../_helpers.ts";
import { until } from "../../_support/agent.ts";

/**
 * An h2c backend (node:http2) that holds each stream until release(), except
 * /500 (answered at once) and /reset (reset at once); it allows
 * `maxStreams` concurrent streams per connection (its SETTINGS).
 */
async function h2Backend(maxStreams = 100) {
  const held: (() => void)[] = [];
  let released = false;
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createServer({ settings: { maxConcurrentStreams: maxStreams } });
  const s = {
    port: 0,
    arrived: 0,
    inflight: 0,
    most: 0,
    connections: 0,
    release() {
      released = true;
      for (const f of held.splice(0)) f();
    },
    /** Holds again from now on. */
    hold() {
      released = false;
    },
    close: async () => {
      s.release();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Let sessions the client is closing (GOAWAY) finish first: destroying
      // one mid-GOAWAY has aborted Deno's nghttp2 (stream->closed_next assertion).
      for (let i = 0; i < 50 && sessions.size > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const x of sessions) x.destroy();
      await closed;
    },
  };
  server.on("session", (x) => {
    s.connections++;
    sessions.add(x);
    x.on("close", () => sessions.delete(x));
  });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    s.arrived++;
    s.inflight++;
    s.most = Math.max(s.most, s.inflight);
    stream.on("close", () => s.inflight--);
    stream.on("error", () => {});
    const path = String(headers[":path"]);
    if (path === "/reset") {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const answer = (status: number, body: string) => {
      if (stream.destroyed || stream.closed) return;
      stream.respond({ ":status": status, "content-type": "text/plain" });
      stream.end(body);
    };
    if (path === "/500") return answer(500, "boom");
    if (released) answer(200, "done");
    else held.push(() => answer(200, "done"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  s.port = (server.address() as { port: number }).port;
  return s;
}

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

function send(cr: ClusterRuntime, port: number, cancel = new Cancel()): Promise<UpstreamResponse> {
  return cr.exchange(endpoint(port), `127.0.0.1:${port}`, GET, cancel);
}

async function text(res: UpstreamResponse): Promise<string> {
  let s = "";
  for (let c = await res.body?.read(); c; c = await res.body?.read()) {
    s += new TextDecoder().decode(c);
  }
  return s;
}

function overflow(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof UpstreamError, String(e));
    assert.equal(e.kind, "overflow");
    assert.match(e.message, re);
    return true;
  };
}

Deno.test("h2 breaker: maxPendingRequests bounds requests waiting for a stream slot; a cancelled one stops waiting", async () => {
  const b = await h2Backend(1);
  const registry = new PoolRegistry();
  const cr = runtime(
    cluster("ns/h2p", [b.port], {
      protocol: "H2C",
      circuitBreaker: cb({ maxPendingRequests: 1 }),
    }),
    registry,
  );
  try {
    const first = send(cr, b.port);
    await until(() => b.arrived === 1, "the first stream at the backend");
    // The backend allows one stream: the next request waits for the slot.
    const cancel = new Cancel();
    const waiting = send(cr, b.port, cancel);
    await until(() => cr.pending === 1, "a request waiting for a stream");
    await assert.rejects(
      send(cr, b.port),
      overflow(/^circuit breaker: pending requests: cluster "ns\/h2p" already has 1 requests/),
    );
    cancel.cancel("client went away");
    await assert.rejects(
      waiting,
      (e: unknown) => e instanceof UpstreamError && e.kind === "cancelled",
    );
    assert.equal(cr.pending, 0, "the cancelled request gave its pending count back");
    const second = send(cr, b.port);
    await until(() => cr.pending === 1, "another request waiting");
    b.release();
    assert.equal(await text(await first), "done");
    assert.equal(await text(await second), "done");
    assert.equal(cr.pending, 0);
    assert.equal(b.most, 1);
    assert.equal(b.connections, 1, "all on one connection");
  } finally {
    registry.close();
    await b.close();
  }
});

for (const engine of ["own", "node"] as const) {
  Deno.test(`h2 breaker (${engine} client): maxConnections bounds the connections dialled across endpoints`, async () => {
    if (engine === "node") Deno.env.set("NOVAEDGE_H2_ENGINE", "node");
    const a = await h2Backend();
    const b = await h2Backend();
    const registry = new PoolRegistry();
    const name = `ns/h2c-${engine}`;
    const cr = runtime(
      cluster(name, [a.port, b.port], {
        protocol: "H2C",
        circuitBreaker: cb({ maxConnections: 1 }),
      }),
      registry,
    );
    try {
      const first = send(cr, a.port);
      await until(() => a.arrived === 1, "a stream on the connection to a");
      assert.equal(cr.connections, 1);
      await assert.rejects(
        send(cr, b.port),
        overflow(new RegExp(`^circuit breaker: connections: cluster "ns/h2c-${engine}" has 1 `)),
      );
      assert.equal(b.connections, 0);
      // More streams on the connection that is open are fine.
      const again = send(cr, a.port);
      await until(() => a.arrived === 2, "a second stream to a");
      a.release();
      assert.equal(await text(await first), "done");
      assert.equal(await text(await again), "done");
      assert.equal(a.connections, 1);
      // The connection closes: its count goes back and b can be reached.
      registry.close();
      await until(() => cr.connections === 0, "the closed connection uncounted");
      const fresh = new PoolRegistry();
      try {
        const cr2 = runtime(cr.cluster, fresh);
        b.release();
        assert.equal(await text(await send(cr2, b.port)), "done");
        assert.equal(cr2.connections, 1);
      } finally {
        fresh.close();
      }
      await until(() => cr.connections === 0, "all connections uncounted");
      assert.equal(cr.pending, 0);
    } finally {
      Deno.env.delete("NOVAEDGE_H2_ENGINE");
      registry.close();
      await a.close();
      await b.close();
    }
  });
}

Deno.test("h2 breaker: an unreachable h2c endpoint gives its connection count back", async () => {
  const registry = new PoolRegistry();
  const dead = freePort();
  const cr = runtime(
    cluster("ns/h2dead", [dead], { protocol: "H2C", circuitBreaker: cb({ maxConnections: 1 }) }),
    registry,
  );
  try {
    for (let i = 0; i < 3; i++) {
      await assert.rejects(send(cr, dead), (e: unknown) => {
        assert.ok(e instanceof UpstreamError);
        assert.equal(e.kind, "connect", "never refused by the breaker: nothing stays counted");
        return true;
      });
    }
    assert.equal(cr.connections, 0);
    assert.equal(cr.pending, 0);
  } finally {
    registry.close();
  }
});

/** Sends `paths` as concurrent streams on one node:http2 session to the proxy. */
function h2Requests(port: number, paths: string[]) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const streams: http2.ClientHttp2Stream[] = [];
  const results = paths.map((p) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const st = session.request({ ":path": p });
      streams.push(st);
      let status = 0;
      let body = "";
      st.setEncoding("utf8");
      st.on("response", (h) => (status = Number(h[":status"])));
      st.on("data", (d: string) => (body += d));
      st.on("end", () => resolve({ status, body }));
      st.on("error", () => resolve({ status: -1, body }));
      st.on("close", () => resolve({ status: status || -1, body }));
    })
  );
  return { session, streams, results };
}

Deno.test("h2 breaker through the proxy: maxRequests caps streams in flight to an h2c cluster (503, logged, not retried)", async () => {
  const b = await h2Backend();
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("l", port)],
      routes: [route("r", ["h2r"], {
        retry: {
          attempts: 3,
          codes: [503],
          perTryTimeoutMs: 0,
          backoffMs: 0,
          retryNonIdempotent: false,
          on: [],
        },
      })],
      clusters: [cluster("h2r", [b.port], {
        protocol: "H2C",
        circuitBreaker: cb({ maxRequests: 2 }),
      })],
    }));
    const { session, results } = h2Requests(port, ["/a", "/b", "/c", "/d", "/e", "/f"]);
    try {
      let done = 0;
      for (const r of results) void r.then(() => done++);
      await until(() => done === 4 && b.inflight === 2, "4 refusals, 2 streams at the backend");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(b.arrived, 2, "refused requests were not retried to the backend");
      b.release();
      const got = await Promise.all(results);
      assert.equal(got.filter((r) => r.status === 200).length, 2);
      const refused = got.filter((r) => r.status !== 200);
      assert.equal(refused.length, 4);
      for (const r of refused) {
        assert.equal(r.status, 503);
        assert.match(
          r.body,
          /^circuit breaker open: requests: cluster "h2r" has \d+ requests in flight \(maxRequests 2\)/,
        );
      }
      const logged = accessLines().filter((l) => l.cluster === "h2r" && l.status === 503);
      assert.ok(logged.length >= 4, `access lines: ${logged.length}`);
      for (const l of logged) assert.match(String(l.reason), /^circuit breaker open: requests: /);
      assert.equal(b.most, 2);
      await until(() => breakerCounts("h2r").count(REQUESTS) === 0, "the streams uncounted");
    } finally {
      session.close();
    }
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("h2 breaker through the proxy: maxPendingRequests refuses beyond the requests waiting for a stream", async () => {
  const b = await h2Backend(1);
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("l", port)],
      routes: [route("r", ["h2q"])],
      clusters: [cluster("h2q", [b.port], {
        protocol: "H2C",
        circuitBreaker: cb({ maxPendingRequests: 1 }),
      })],
    }));
    // One at a time, so which request holds the stream and which waits is known.
    const first = h2Requests(port, ["/1"]);
    await until(() => b.arrived === 1, "the first stream at the backend");
    const second = h2Requests(port, ["/2"]);
    await until(() => breakerCounts("h2q").count(PENDING) === 1, "the second waiting");
    const rest = h2Requests(port, ["/3", "/4"]);
    const refused = await Promise.all(rest.results);
    for (const r of refused) {
      assert.equal(r.status, 503);
      assert.match(
        r.body,
        /^circuit breaker: pending requests: cluster "h2q" already has 1 requests waiting/,
      );
    }
    b.release();
    assert.deepEqual(await Promise.all(first.results), [{ status: 200, body: "done" }]);
    assert.deepEqual(await Promise.all(second.results), [{ status: 200, body: "done" }]);
    assert.equal(b.arrived, 2);
    assert.equal(breakerCounts("h2q").count(PENDING), 0);
    for (const x of [first, second, rest]) x.session.close();
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("h2 breaker through the proxy: counts return to 0 after resets, 500s and client cancels", async () => {
  const b = await h2Backend(2);
  const port = freePort();
  const dp = new DataPlane({ accessLog: false });
  try {
    await dp.apply(snapshot({
      listeners: [listener("l", port)],
      routes: [route("r", ["h2z"])],
      clusters: [cluster("h2z", [b.port], {
        protocol: "H2C",
        circuitBreaker: cb({ maxRequests: 20, maxPendingRequests: 5, maxConnections: 1 }),
      })],
    }));
    const paths = Array.from({ length: 24 }, (_, i) => ["/reset", "/500", "/held", "/held"][i % 4]);
    const { session, streams, results } = h2Requests(port, paths);
    // The client gives up on the held ones (RST_STREAM CANCEL to the proxy).
    await new Promise((r) => setTimeout(r, 300));
    streams.forEach((st, i) => {
      if (paths[i] === "/held" && !st.closed) st.close(http2.constants.NGHTTP2_CANCEL);
    });
    const got = await Promise.all(results);
    const statuses = new Set(got.map((r) => r.status));
    assert.ok(statuses.has(500) || statuses.has(502), `answers: ${[...statuses]}`);
    const counts = breakerCounts("h2z");
    await until(
      () => counts.count(REQUESTS) === 0 && counts.count(PENDING) === 0,
      "requests and pending back to 0",
    );
    await until(() => b.inflight === 0, "no stream left open at the backend");
    session.close();
    // Still usable afterwards.
    b.release();
    const after = h2Requests(port, ["/ok"]);
    assert.deepEqual(await Promise.all(after.results), [{ status: 200, body: "done" }]);
    after.session.close();
  } finally {
    await dp.close();
    await b.close();
  }
  assert.equal(breakerCounts("h2z").count(REQUESTS), 0);
});

// gRPC: a held unary method on grpc-js, called through the proxy.
const ser = (x: Buffer) => x;
const service: grpc.ServiceDefinition = {
  Hold: {
    path: "/test.Breaker/Hold",
    requestStream: false,
    responseStream: false,
    requestSerialize: ser,
    requestDeserialize: ser,
    responseSerialize: ser,
    responseDeserialize: ser,
  },
};

Deno.test("h2 breaker: a gRPC call over maxRequests gets UNAVAILABLE naming the limit", async () => {
  const held: (() => void)[] = [];
  const server = new grpc.Server();
  server.addService(service, {
    Hold: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => {
      held.push(() => cb(null, Buffer.from("held")));
    },
  });
  const up = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      "127.0.0.1:0",
      grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p)),
    )
  );
  const port = freePort();
  const dp = new DataPlane({ accessLog: false });
  const Client = grpc.makeGenericClientConstructor(service, "Breaker");
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = () =>
    new Promise<string>((resolve, reject) =>
      (client as unknown as Record<string, (...a: unknown[]) => unknown>).Hold(
        Buffer.from("x"),
        (e: grpc.ServiceError | null, v?: Buffer) => (e ? reject(e) : resolve(v!.toString())),
      )
    );
  try {
    await dp.apply(snapshot({
      listeners: [listener("g", port)],
      routes: [route("r", ["grpcb"])],
      clusters: [cluster("grpcb", [up], {
        protocol: "GRPC",
        circuitBreaker: cb({ maxRequests: 1 }),
      })],
    }));
    const first = call();
    await until(() => held.length === 1, "the first call at the server");
    await assert.rejects(call(), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAVAILABLE);
      assert.match(e.details, /^circuit breaker open: requests: cluster "grpcb" has 1 /);
      return true;
    });
    assert.equal(held.length, 1);
    held.shift()!();
    assert.equal(await first, "held");
    await until(() => breakerCounts("grpcb").count(REQUESTS) === 0, "the call uncounted");
  } finally {
    client.close();
    for (const f of held.splice(0)) f();
    await dp.close();
    server.forceShutdown();
  }
});
