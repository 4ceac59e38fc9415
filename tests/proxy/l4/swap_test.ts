/**
 * Snapshot swaps with L4 listeners: added, changed and removed without a
 * restart; an open TCP connection keeps its config and survives; conflicting
 * listeners on one port are refused with the old config still serving.
 */
import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { cluster, freePort, listener, snapshot } from "../_helpers.ts";
import { l4Route, named, tcpBackend, tcpListener, tcpRequest } from "./_l4.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes `text` and reads exactly its length back (the backend echoes). */
async function roundTrip(c: Deno.Conn, text: string): Promise<string> {
  await c.write(enc.encode(text));
  const buf = new Uint8Array(text.length);
  let n = 0;
  while (n < buf.length) {
    const k = await c.read(buf.subarray(n));
    if (k === null) break;
    n += k;
  }
  return dec.decode(buf.subarray(0, n));
}

Deno.test("L4 swap: listeners added, re-routed and removed while a TCP connection stays open", async () => {
  const echoBe = tcpBackend(); // echo
  const other = tcpBackend(named("other"));
  const portA = freePort();
  const portB = freePort();
  const dp = new DataPlane({});
  let open: Deno.Conn | null = null;
  try {
    await dp.apply(snapshot({
      listeners: [tcpListener("t1", portA)],
      routes: [l4Route("r1", "TCP", ["echo"])],
      clusters: [cluster("echo", [echoBe.port]), cluster("other", [other.port])],
    }));
    open = await Deno.connect({ hostname: "127.0.0.1", port: portA });
    assert.equal(await roundTrip(open, "x"), "x");

    // t1 now routes to "other"; t2 is added.
    await dp.apply(snapshot({
      listeners: [tcpListener("t1", portA), tcpListener("t2", portB)],
      routes: [
        l4Route("r1", "TCP", ["other"], { listeners: ["t1"] }),
        l4Route("r2", "TCP", ["other"], { listeners: ["t2"] }),
      ],
      clusters: [cluster("echo", [echoBe.port]), cluster("other", [other.port])],
    }));
    assert.equal(await roundTrip(open, "y"), "y", "the open connection keeps its upstream");
    assert.equal(await tcpRequest(portA, ""), "other", "new connections take the new route");
    assert.equal(await tcpRequest(portB, ""), "other", "the added listener serves");

    // t1 removed: the open connection drains, new connections are refused.
    await dp.apply(snapshot({
      listeners: [tcpListener("t2", portB)],
      routes: [l4Route("r2", "TCP", ["other"])],
      clusters: [cluster("other", [other.port])],
    }));
    assert.equal(await roundTrip(open, "z"), "z", "a removed listener's connection keeps going");
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: portA }));
    assert.equal(await tcpRequest(portB, ""), "other");
    assert.equal(echoBe.accepted, 1);
  } finally {
    open?.close();
    await dp.close();
    echoBe.close();
    other.close();
  }
});

Deno.test("L4 swap: an HTTP and a TCP listener on one address:port are refused; the old config keeps serving", async () => {
  const be = tcpBackend(named("be"));
  const port = freePort();
  const dp = new DataPlane({});
  try {
    const good = snapshot({
      listeners: [tcpListener("t1", port)],
      routes: [l4Route("r1", "TCP", ["c"])],
      clusters: [cluster("c", [be.port])],
    });
    await dp.apply(good);
    await assert.rejects(
      dp.apply(snapshot({
        listeners: [tcpListener("t1", port), listener("h1", port)],
        routes: [l4Route("r1", "TCP", ["c"])],
        clusters: [cluster("c", [be.port])],
      })),
      /t1 \(TCP\), h1 \(HTTP\) share 127\.0\.0\.1:\d+ with protocols that cannot share a port/,
    );
    assert.equal(dp.activeVersion, good.version);
    assert.equal(await tcpRequest(port, ""), "be");
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("L4 swap: a TCP port that becomes HTTP (and back) is re-bound by kind", async () => {
  const be = tcpBackend(named("tcp-be"));
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [tcpListener("t1", port)],
      routes: [l4Route("r1", "TCP", ["c"])],
      clusters: [cluster("c", [be.port])],
    }));
    assert.equal(await tcpRequest(port, ""), "tcp-be");
    await dp.apply(snapshot({ listeners: [listener("h1", port)], routes: [], clusters: [] }));
    assert.equal(dp.listeners()[0].kind, "http");
    const r = await tcpRequest(port, "GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    assert.match(r, /^HTTP\/1\.1 404/);
    await dp.apply(snapshot({
      listeners: [tcpListener("t1", port)],
      routes: [l4Route("r1", "TCP", ["c"])],
      clusters: [cluster("c", [be.port])],
    }));
    assert.equal(await tcpRequest(port, ""), "tcp-be");
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("L4 with two workers: TCP served by every worker (SO_REUSEPORT), UDP bound once", async () => {
  const be = tcpBackend(named("w"));
  const port = freePort();
  const udpPort = freePort();
  const dp = new DataPlane({ workers: 2 });
  try {
    assert.equal(dp.workerCount, 2);
    await dp.apply(snapshot({
      listeners: [tcpListener("t1", port), tcpListener("u1", udpPort, { protocol: "UDP" })],
      routes: [
        l4Route("r1", "TCP", ["c"], { listeners: ["t1"] }),
        l4Route("r2", "UDP", ["c"], { listeners: ["u1"] }),
      ],
      clusters: [cluster("c", [be.port])],
    }));
    for (let i = 0; i < 20; i++) assert.equal(await tcpRequest(port, ""), "w");
    assert.deepEqual(dp.listeners().map((l) => l.kind).sort(), ["tcp", "udp"]);
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("L4 swap: an HTTPS port gains a passthrough listener without waiting for an open keep-alive connection", async () => {
  const { makePki } = await import("../_tls.ts");
  const { echoBackend, route } = await import("../_helpers.ts");
  const tls = await import("node:tls");
  const p = await makePki();
  const web = await p.leaf("web", ["www.example.test"]);
  const passCert = await p.leaf("pass", ["pass.example.test"]);
  const http = echoBackend("web");
  const { tlsBackend, tlsRequest } = await import("./_l4.ts");
  const pass = tlsBackend(passCert.certPem, passCert.keyPem, "pass");
  const port = freePort();
  const dp = new DataPlane({});
  const webListener = listener("web", port, {
    protocol: "HTTPS",
    hostnames: ["www.example.test"],
    tls: { mode: "Terminate", certificates: ["web"], minVersion: "", alpn: ["http/1.1"] },
  });
  const base = {
    routes: [route("r-web", ["c-web"], { listeners: ["web"] })],
    clusters: [cluster("c-web", [http.port]), cluster("c-pass", [pass.port])],
    secrets: [web],
  };
  let sock: import("node:tls").TLSSocket | null = null;
  try {
    await dp.apply(snapshot({ listeners: [webListener], ...base }));
    // An HTTP/1.1 keep-alive connection that stays open across the swap.
    sock = tls.connect({ host: "127.0.0.1", port, servername: "www.example.test", ca: [p.caPem] });
    const s = sock;
    const first = await new Promise<string>((resolve, reject) => {
      s.once("error", reject);
      s.once("data", (d: Uint8Array) => resolve(new TextDecoder().decode(d)));
      s.write("GET /one HTTP/1.1\r\nhost: www.example.test\r\n\r\n");
    });
    assert.match(first, /^HTTP\/1\.1 200/);
    await dp.apply(snapshot({
      listeners: [
        webListener,
        listener("pass", port, {
          protocol: "TLS",
          hostnames: ["pass.example.test"],
          tls: { mode: "Passthrough", certificates: [], minVersion: "", alpn: [] },
        }),
      ],
      ...base,
      routes: [
        ...base.routes,
        l4Route("r-pass", "TLS", ["c-pass"], {
          listeners: ["pass"],
          hostnames: ["pass.example.test"],
        }),
      ],
    }));
    assert.equal(dp.listeners()[0].kind, "tls");
    assert.deepEqual(await tlsRequest(port, "pass.example.test", p.caPem), {
      text: "pass",
      error: null,
    });
    // The old socket drains: its idle keep-alive connection is closed cleanly.
    if (!s.destroyed) await new Promise((r) => s.once("close", r));
  } finally {
    sock?.destroy();
    await dp.close();
    await http.close();
    pass.close();
  }
});
