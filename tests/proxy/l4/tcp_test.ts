/** TCP listeners: splice with half-close, large transfers, weights, failover, refusals, timeouts. */
import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { registry } from "../../../src/observe/metrics.ts";
import { accessLines, cluster, endpoint, freePort, limits, snapshot } from "../_helpers.ts";
import { waitFor } from "../../_support/agent.ts";
import {
  l4Route,
  named,
  readAll,
  reply,
  tcpBackend,
  tcpListener,
  tcpProxy,
  tcpRequest,
} from "./_l4.ts";

Deno.test("TCP: echo through the proxy with half-close (backend sees EOF, its reply still arrives)", async () => {
  const be = tcpBackend(reply("got: ")); // answers only after the client's EOF
  const { dp, port } = await tcpProxy([cluster("c1", [be.port])], [
    l4Route("r-tcp", "TCP", ["c1"], { listeners: ["tcp1"] }),
  ]);
  try {
    assert.equal(await tcpRequest(port, "hello"), "got: hello");
    const line = accessLines().find((l) => l.listener === "tcp1" && l.route === "r-tcp");
    assert.ok(line, "one access line per connection");
    assert.equal(line.msg, "connection");
    assert.equal(line.cluster, "c1");
    assert.equal(line.upstream, `127.0.0.1:${be.port}`);
    assert.equal(line.bytesIn, 5);
    assert.equal(line.bytesOut, "got: hello".length);
    assert.equal(line.reason, null);
    const m = await registry.getSingleMetricAsString("novaedge_l4_bytes_total");
    assert.match(
      m,
      /novaedge_l4_bytes_total\{listener="tcp1",route="r-tcp",direction="in"\} [1-9]/,
    );
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("TCP: a 64 MiB transfer arrives intact both ways", async () => {
  const be = tcpBackend(); // echo
  const { dp, port } = await tcpProxy([cluster("c1", [be.port])]);
  try {
    const size = 64 * 1024 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) data[i] = (i >> 12) & 0xff;
    data[size - 1] = 0x5a;
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const writing = (async () => {
      let o = 0;
      while (o < size) o += await c.write(data.subarray(o, Math.min(size, o + (1 << 20))));
      await c.closeWrite();
    })();
    const back = await readAll(c);
    await writing;
    c.close();
    assert.equal(back.length, size);
    let same = true;
    for (let i = 0; i < size; i += 4096) if (back[i] !== data[i]) same = false;
    assert.ok(same && back[size - 1] === 0x5a, "bytes come back unchanged");
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("TCP: weighted split over two clusters with many connections", async () => {
  const a = tcpBackend(named("A"));
  const b = tcpBackend(named("B"));
  const { dp, port } = await tcpProxy(
    [cluster("ca", [a.port]), cluster("cb", [b.port])],
    [l4Route("r", "TCP", [
      { cluster: "ca", weight: 3, filters: [] },
      { cluster: "cb", weight: 1, filters: [] },
    ])],
  );
  try {
    const counts: Record<string, number> = { A: 0, B: 0 };
    for (let i = 0; i < 200; i++) counts[await tcpRequest(port, "")]++;
    assert.equal(counts.A + counts.B, 200);
    // 3:1 → expected 150/50; bounds far outside random variation (p < 1e-6).
    assert.ok(counts.A > 110 && counts.A < 185, `A got ${counts.A} of 200`);
  } finally {
    await dp.close();
    a.close();
    b.close();
  }
});

Deno.test("TCP: several routes on one listener → the oldest (orderKey) serves, whatever their names", async () => {
  const older = tcpBackend(named("older"));
  const newer = tcpBackend(named("newer"));
  const { dp, port } = await tcpProxy(
    [cluster("c-old", [older.port]), cluster("c-new", [newer.port])],
    [
      l4Route("a-newer", "TCP", ["c-new"], { orderKey: "2026-02-01T00:00:00Z/ns/a" }),
      l4Route("z-older", "TCP", ["c-old"], { orderKey: "2026-01-01T00:00:00Z/ns/z" }),
    ],
  );
  try {
    for (let i = 0; i < 3; i++) assert.equal(await tcpRequest(port, ""), "older");
  } finally {
    await dp.close();
    older.close();
    newer.close();
  }
});

Deno.test("TCP: a ring-hash cluster keeps one client address on one endpoint", async () => {
  const a = tcpBackend(named("A"));
  const b = tcpBackend(named("B"));
  const { dp, port } = await tcpProxy([
    cluster("c", [a.port, b.port], {
      lb: { policy: "RingHash", hashOn: { header: "", cookie: "", sourceIp: true } },
    }),
  ]);
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await tcpRequest(port, ""));
    assert.equal(seen.size, 1, `one endpoint for 127.0.0.1, got ${[...seen]}`);
  } finally {
    await dp.close();
    a.close();
    b.close();
  }
});

Deno.test("TCP: a refused connect moves to another endpoint", async () => {
  const live = tcpBackend(named("live"));
  const dead = freePort(); // nothing listens there
  const { dp, port } = await tcpProxy([
    cluster("c1", [], { endpoints: [endpoint(dead), endpoint(live.port)] }),
  ]);
  try {
    for (let i = 0; i < 6; i++) assert.equal(await tcpRequest(port, "x"), "live");
    const retried = accessLines().filter((l) => l.listener === "tcp1" && l.tries === 2);
    assert.ok(retried.length >= 1, "round robin hit the dead endpoint and moved on");
  } finally {
    await dp.close();
    live.close();
  }
});

Deno.test("TCP: no endpoint / no route → the connection is closed and the reason logged", async () => {
  const port = freePort();
  const port2 = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [tcpListener("tcp-empty", port), tcpListener("tcp-noroute", port2)],
      routes: [l4Route("r-empty", "TCP", ["c0"], { listeners: ["tcp-empty"] })],
      clusters: [cluster("c0", [])],
    }));
    assert.equal(await tcpRequest(port, "hi"), "");
    assert.equal(await tcpRequest(port2, "hi"), "");
    const lines = accessLines();
    const empty = lines.find((l) => l.listener === "tcp-empty");
    assert.match(String(empty?.reason), /no healthy endpoint in cluster "c0"/);
    const none = lines.find((l) => l.listener === "tcp-noroute");
    assert.match(String(none?.reason), /no TCP route is attached to listener tcp-noroute/);
  } finally {
    await dp.close();
  }
});

Deno.test("TCP: an idle connection is closed after the listener's idle timeout", async () => {
  const be = tcpBackend(); // echo, never closes on its own
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [tcpListener("tcp-idle", port, { limits: limits({ idleTimeoutMs: 300 }) })],
      routes: [l4Route("r", "TCP", ["c"])],
      clusters: [cluster("c", [be.port])],
    }));
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(new TextEncoder().encode("x"));
    const got = await readAll(c); // returns once the proxy closes the idle connection
    c.close();
    assert.equal(new TextDecoder().decode(got), "x");
    const line = await waitFor(
      "the idle line",
      () => Promise.resolve(accessLines().find((l) => l.listener === "tcp-idle")),
    );
    assert.equal(line.reason, "idle timeout");
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("TCP: drain lets open connections run until the deadline, then closes them", async () => {
  const be = tcpBackend(); // echo
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [tcpListener("tcp-drain", port)],
      routes: [l4Route("r", "TCP", ["c"])],
      clusters: [cluster("c", [be.port])],
    }));
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(new TextEncoder().encode("y"));
    await dp.drain(300);
    const got = await readAll(c);
    c.close();
    assert.equal(new TextDecoder().decode(got), "y");
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), "no longer accepting");
    const line = await waitFor(
      "the drained line",
      () => Promise.resolve(accessLines().find((l) => l.listener === "tcp-drain")),
    );
    assert.equal(line.reason, "listener drained");
  } finally {
    await dp.close();
    be.close();
  }
});
