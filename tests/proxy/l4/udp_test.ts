/** UDP listeners: per-client sessions, replies to the right client, session reuse, idle expiry. */
import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { accessLines, cluster, freePort, limits, snapshot } from "../_helpers.ts";
import { waitFor } from "../../_support/agent.ts";
import { l4Route, tcpListener } from "./_l4.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A UDP backend answering "<name>:<payload>" and remembering source ports. */
function udpBackend(name: string) {
  const sock = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const sources: number[] = [];
  (async () => {
    for (;;) {
      try {
        const [data, from] = await sock.receive();
        sources.push((from as Deno.NetAddr).port);
        await sock.send(enc.encode(`${name}:${dec.decode(data)}`), from);
      } catch {
        return;
      }
    }
  })();
  return { port: (sock.addr as Deno.NetAddr).port, sources, close: () => sock.close() };
}

/** Sends one datagram and waits (up to 5 s) for one reply. */
async function ask(sock: Deno.DatagramConn, port: number, text: string): Promise<string> {
  await sock.send(enc.encode(text), { transport: "udp", hostname: "127.0.0.1", port });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reply = await Promise.race([
    sock.receive().then(([d]) => dec.decode(d)),
    new Promise<string>((r) => (timer = setTimeout(() => r("<no reply>"), 5000))),
  ]);
  clearTimeout(timer);
  return reply;
}

/** A data plane with one UDP listener `name` routing to a backend port (none: no route). */
async function udpProxy(
  name: string,
  backendPort: number | null,
  idleTimeoutMs = 0,
): Promise<{ dp: DataPlane; port: number }> {
  const port = freePort();
  const dp = new DataPlane({});
  await dp.apply(snapshot({
    listeners: [tcpListener(name, port, { protocol: "UDP", limits: limits({ idleTimeoutMs }) })],
    routes: backendPort === null ? [] : [l4Route(`r-${name}`, "UDP", ["c"])],
    clusters: backendPort === null ? [] : [cluster("c", [backendPort])],
  }));
  return { dp, port };
}

function client(): Deno.DatagramConn {
  return Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
}

Deno.test("UDP: two clients get their own replies; a client's datagrams share one session", async () => {
  const be = udpBackend("be");
  const { dp, port } = await udpProxy("dns", be.port);
  const c1 = client();
  const c2 = client();
  try {
    assert.equal(dp.listeners().find((l) => l.kind === "udp")?.port, port);
    assert.equal(await ask(c1, port, "one"), "be:one");
    assert.equal(await ask(c2, port, "two"), "be:two");
    assert.equal(await ask(c1, port, "three"), "be:three");
    assert.equal(await ask(c2, port, "four"), "be:four");
    // Session reuse: per client one upstream socket (one source port each).
    assert.equal(be.sources.length, 4);
    assert.equal(be.sources[0], be.sources[2]);
    assert.equal(be.sources[1], be.sources[3]);
    assert.notEqual(be.sources[0], be.sources[1]);
  } finally {
    c1.close();
    c2.close();
    await dp.close();
    be.close();
  }
});

Deno.test("UDP: an idle session expires, logs one line, and the next datagram opens a new one", async () => {
  const be = udpBackend("be");
  const { dp, port } = await udpProxy("udp-idle", be.port, 200);
  const c1 = client();
  try {
    assert.equal(await ask(c1, port, "a"), "be:a");
    assert.equal(await ask(c1, port, "bb"), "be:bb");
    const line = await waitFor(
      "the expired session's line",
      () => Promise.resolve(accessLines().find((l) => l.listener === "udp-idle")),
    );
    assert.equal(line.msg, "session");
    assert.equal(line.route, "r-udp-idle");
    assert.equal(line.bytesIn, 3);
    assert.equal(line.bytesOut, "be:a".length + "be:bb".length);
    assert.equal(await ask(c1, port, "c"), "be:c");
    assert.equal(be.sources.length, 3);
    assert.notEqual(be.sources[2], be.sources[0], "a new session has a new upstream socket");
  } finally {
    c1.close();
    await dp.close();
    be.close();
  }
});

Deno.test("UDP: no route → datagrams are dropped and the session is logged with the reason", async () => {
  const { dp, port } = await udpProxy("udp-none", null, 100);
  const c1 = client();
  try {
    await c1.send(enc.encode("x"), { transport: "udp", hostname: "127.0.0.1", port });
    const line = await waitFor(
      "the refused session's line",
      () => Promise.resolve(accessLines().find((l) => l.listener === "udp-none")),
    );
    assert.equal(line.msg, "session");
    assert.match(String(line.reason), /no UDP route is attached to listener udp-none/);
  } finally {
    c1.close();
    await dp.close();
  }
});

Deno.test("UDP: at the session cap, datagrams from new clients are dropped and counted", async () => {
  const { UdpSocket } = await import("../../../src/proxy/l4/udp.ts");
  const { planL4 } = await import("../../../src/proxy/l4/plan.ts");
  const { logger } = await import("../../../src/observe/log.ts");
  const { registry } = await import("../../../src/observe/metrics.ts");
  const l = tcpListener("udp-cap", 0, { protocol: "UDP" });
  const cfg = planL4({
    kind: "udp",
    listeners: [l],
    routes: [l4Route("r-cap", "UDP", ["c"])],
    clusters: new Map(),
    secrets: new Map(),
    version: "v1",
    accessLog: false,
  });
  // No cluster: every session is a refused one, which still counts against the cap.
  const sock = new UdpSocket(
    "udp:127.0.0.1:0",
    "127.0.0.1",
    0,
    { ...cfg, maxSessions: 1 },
    logger("t"),
  );
  await sock.start();
  const c1 = client();
  const c2 = client();
  try {
    const to = { transport: "udp" as const, hostname: "127.0.0.1", port: sock.boundPort };
    await c1.send(enc.encode("a"), to);
    await waitFor("the first session", () => Promise.resolve(sock.sessionCount === 1 || undefined));
    await c2.send(enc.encode("b"), to);
    const dropped = await waitFor("the drop to be counted", async () => {
      const m = await registry.getSingleMetricAsString("novaedge_l4_refused_total");
      return /listener="udp-cap",cause="session_limit"\} [1-9]/.test(m) || undefined;
    });
    assert.equal(dropped, true);
    assert.equal(sock.sessionCount, 1);
  } finally {
    c1.close();
    c2.close();
    await sock.stopAccepting();
  }
});
