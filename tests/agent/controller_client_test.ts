/**
 * End to end on loopback: the real grpc-js server and client over TLS with a
 * CA from src/controller/pki.ts.
 */
import assert from "node:assert/strict";
import {
  backoffDelay,
  ControllerClient,
  type SnapshotDelivery,
} from "../../src/agent/controller_client.ts";
import { AgentRegistry } from "../../src/controller/agents.ts";
import {
  type Authenticator,
  AuthError,
  staticTokenAuthenticator,
} from "../../src/controller/auth.ts";
import { fetchSnapshotFromController } from "../../src/controller/dump_client.ts";
import { type GrpcServer, startGrpcServer } from "../../src/controller/grpc_server.ts";
import { type CertKeyPair, createCa, issueLeaf } from "../../src/controller/pki.ts";
import { REDACTED, SnapshotHub } from "../../src/controller/snapshot_hub.ts";
import { setLogLevel } from "../../src/observe/log.ts";
import { decodeTestSnapshot, encodeTestSnapshot, testSnapshot } from "../controller/_helpers.ts";

setLogLevel("error");

const ca = await createCa("test-ca");
const leaf = await issueLeaf(ca, {
  commonName: "ctl",
  sans: ["novaedge-controller", "localhost", "127.0.0.1"],
});
const TOKEN = "agent-token-1";

interface Fixture {
  hub: SnapshotHub;
  registry: AgentRegistry;
  server: GrpcServer;
}

async function startController(
  port = 0,
  authenticate: Authenticator = staticTokenAuthenticator(new Map([[TOKEN, "agent"]])),
  cert: CertKeyPair = leaf,
  hub = new SnapshotHub(encodeTestSnapshot),
): Promise<Fixture> {
  const registry = new AgentRegistry("ctl-test");
  const server = await startGrpcServer({
    address: `127.0.0.1:${port}`,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    authenticate,
    hub,
    registry,
    controllerId: "ctl-test",
  });
  return { hub, registry, server };
}

/** Poll until `cond` holds (bounded: fails after `ms`). */
async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function agent(
  port: number,
  opts: {
    token?: string;
    node?: string;
    caPem?: string;
    reject?: (u: SnapshotDelivery) => string | undefined;
  } = {},
) {
  const received: SnapshotDelivery[] = [];
  const states: string[] = [];
  let current = "";
  const client = new ControllerClient({
    address: `127.0.0.1:${port}`,
    node: opts.node ?? "node-a",
    caPem: opts.caPem ?? ca.certPem,
    token: () => Promise.resolve(opts.token ?? TOKEN),
    agentVersion: "test",
    currentVersion: () => current,
    backoff: { initialMs: 50, maxMs: 200 },
    onSnapshot: (u) => {
      received.push(u);
      const why = opts.reject?.(u);
      if (why) return Promise.reject(new Error(why));
      current = u.version;
      return Promise.resolve();
    },
    onStateChange: (s, d) => states.push(`${s}:${d}`),
  });
  client.start();
  return { client, received, states, current: () => current };
}

Deno.test("ControllerClient receives the full snapshot, then each new version, and acks", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1", 2));
  const a = agent(f.server.port);
  try {
    await until("v1 acked", () => f.registry.servedVersion("node-a") === "v1");
    assert.deepEqual(
      decodeTestSnapshot(a.received[0].bytes),
      decodeTestSnapshot(encodeTestSnapshot(testSnapshot("v1", 2))),
    );
    assert.equal(a.received[0].controller, "ctl-test");
    assert.equal(a.client.state, "connected");
    f.hub.publish("node-a", testSnapshot("v2", 5));
    await until("v2 acked", () => f.registry.servedVersion("node-a") === "v2");
    assert.equal(decodeTestSnapshot(a.received.at(-1)!.bytes).routes.length, 5);
    // Republishing the same version sends nothing.
    assert.equal(f.hub.publish("node-a", testSnapshot("v2", 5)), false);
    // Another node's snapshot does not reach this agent.
    f.hub.publish("node-b", testSnapshot("vb", 1));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(a.received.map((r) => r.version), ["v1", "v2"]);
    const [s] = f.registry.list();
    assert.equal(s.node, "node-a");
    assert.equal(s.sentVersion, "v2");
    assert.equal(s.ackedVersion, "v2");
  } finally {
    await a.client.stop();
    await f.server.close();
  }
});

Deno.test("ControllerClient nacks a failing apply and the controller sees the reason", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1"));
  const a = agent(f.server.port, {
    reject: (u) => u.version === "v-bad" ? "listener default/gw/http: port 8080 in use" : undefined,
  });
  try {
    await until("v1 acked", () => f.registry.servedVersion("node-a") === "v1");
    f.hub.publish("node-a", testSnapshot("v-bad"));
    await until("nack", () => f.registry.list()[0]?.nackedVersion === "v-bad");
    const s = f.registry.list()[0];
    assert.equal(s.nackReason, "listener default/gw/http: port 8080 in use");
    assert.equal(s.ackedVersion, "v1", "the agent still serves v1");
    assert.equal(a.current(), "v1");
    // A fixed version clears the nack.
    f.hub.publish("node-a", testSnapshot("v3"));
    await until("v3 acked", () => f.registry.servedVersion("node-a") === "v3");
    assert.equal(f.registry.list()[0].nackReason, "");
  } finally {
    await a.client.stop();
    await f.server.close();
  }
});

Deno.test("ControllerClient reconnects after the controller restarts and gets the new version", async () => {
  let f = await startController();
  const port = f.server.port;
  f.hub.publish("node-a", testSnapshot("v1"));
  const a = agent(port);
  try {
    await until("v1", () => a.current() === "v1");
    await f.server.close();
    await until("disconnected", () => a.client.state !== "connected");
    // A restarted controller (new hub) with a newer version on the same port.
    f = await startController(port);
    f.hub.publish("node-a", testSnapshot("v2"));
    await until("v2 after restart", () => a.current() === "v2");
    assert.equal(f.registry.servedVersion("node-a"), "v2");
    assert.ok(a.states.some((s) => s.startsWith("disconnected:")), a.states.join(", "));
  } finally {
    await a.client.stop();
    await f.server.close();
  }
});

Deno.test("ControllerClient: an agent reconnecting with the version it serves is acked without re-applying", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1"));
  const a = agent(f.server.port);
  try {
    await until("v1", () => f.registry.servedVersion("node-a") === "v1");
    // Drop every stream: the client reconnects, says lastVersion=v1, gets v1 again.
    for (const s of f.registry.sessions()) f.registry.remove(s.id);
    await f.server.close();
    const g = await startController(f.server.port);
    g.hub.publish("node-a", testSnapshot("v1"));
    try {
      await until(
        "reconnected + acked",
        () =>
          g.registry.list()[0]?.ackedVersion === "v1" && g.registry.list()[0]?.sentVersion === "v1",
      );
      assert.equal(a.received.length, 1, "v1 applied once");
    } finally {
      await a.client.stop();
      await g.server.close();
    }
  } finally {
    await a.client.stop();
  }
});

Deno.test("startGrpcServer refuses a wrong token and sends no snapshot", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1"));
  const a = agent(f.server.port, { token: "wrong" });
  try {
    await until("refused", () => a.client.lastError.startsWith("UNAUTHENTICATED"));
    assert.match(a.client.lastError, /unknown token/);
    assert.equal(a.received.length, 0);
    assert.equal(f.registry.list().length, 0);
  } finally {
    await a.client.stop();
    await f.server.close();
  }
});

Deno.test("startGrpcServer refuses a credential bound to another node", async () => {
  const bound: Authenticator = (token) =>
    token === TOKEN
      ? Promise.resolve({ subject: "sa", node: "node-a" })
      : Promise.reject(new AuthError("bad"));
  const f = await startController(0, bound);
  f.hub.publish("node-b", testSnapshot("vb"));
  f.hub.publish("node-a", testSnapshot("va"));
  const b = agent(f.server.port, { node: "node-b" });
  const a = agent(f.server.port, { node: "node-a" });
  try {
    await until("refused", () => b.client.lastError !== "");
    assert.match(b.client.lastError, /bound to node "node-a", not "node-b"/);
    await until("node-a served", () => a.current() === "va");
    assert.equal(b.received.length, 0);
  } finally {
    await a.client.stop();
    await b.client.stop();
    await f.server.close();
  }
});

Deno.test("ControllerClient refuses a controller whose certificate it cannot verify", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1"));
  const otherCa = await createCa("other");
  const a = agent(f.server.port, { caPem: otherCa.certPem });
  try {
    await until("tls failure", () => a.client.lastError !== "");
    assert.match(a.client.lastError, /UNAVAILABLE/);
    assert.equal(a.received.length, 0);
    assert.equal(f.registry.list().length, 0);
  } finally {
    await a.client.stop();
    await f.server.close();
  }
});

Deno.test("fetchSnapshotFromController returns the redacted snapshot and the agents' versions", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1"));
  const a = agent(f.server.port);
  try {
    await until("acked", () => f.registry.servedVersion("node-a") === "v1");
    const r = await fetchSnapshotFromController({
      address: `127.0.0.1:${f.server.port}`,
      node: "node-a",
      caPem: ca.certPem,
      token: TOKEN,
    });
    assert.equal(r.version, "v1");
    const s = decodeTestSnapshot(r.snapshot);
    assert.equal(s.secrets[0].keyPem, REDACTED);
    assert.equal(s.secrets[0].certPem, "CERT");
    assert.deepEqual(r.agents.map((x) => [x.node, x.ackedVersion]), [["node-a", "v1"]]);
    await assert.rejects(
      fetchSnapshotFromController({
        address: `127.0.0.1:${f.server.port}`,
        node: "node-a",
        caPem: ca.certPem,
        token: "nope",
      }),
      /UNAUTHENTICATED/,
    );
    await assert.rejects(
      fetchSnapshotFromController({
        address: `127.0.0.1:${f.server.port}`,
        node: "node-zzz",
        caPem: ca.certPem,
        token: TOKEN,
      }),
      /no snapshot for node "node-zzz"/,
    );
  } finally {
    await a.client.stop();
    await f.server.close();
  }
});

Deno.test("ControllerClient over a server name override (dialing an IP, verifying a DNS name)", async () => {
  const dnsOnly = await issueLeaf(ca, {
    commonName: "ctl",
    sans: ["novaedge-controller.novaedge-system.svc"],
  });
  const f = await startController(0, undefined, dnsOnly);
  f.hub.publish("node-a", testSnapshot("v1"));
  const received: string[] = [];
  const client = new ControllerClient({
    address: `127.0.0.1:${f.server.port}`,
    serverName: "novaedge-controller.novaedge-system.svc",
    node: "node-a",
    caPem: ca.certPem,
    token: () => Promise.resolve(TOKEN),
    agentVersion: "t",
    currentVersion: () => received.at(-1) ?? "",
    onSnapshot: (u) => {
      received.push(u.version);
      return Promise.resolve();
    },
  });
  client.start();
  try {
    await until("v1", () => received.includes("v1"));
  } finally {
    await client.stop();
    await f.server.close();
  }
});

Deno.test("backoffDelay grows exponentially, is capped and jittered", () => {
  assert.equal(backoffDelay(0, 100, 10_000, () => 1), 100);
  assert.equal(backoffDelay(3, 100, 10_000, () => 1), 800);
  assert.equal(backoffDelay(20, 100, 10_000, () => 1), 10_000);
  assert.equal(backoffDelay(20, 100, 10_000, () => 0), 1_000, "floor at a tenth");
  assert.equal(backoffDelay(2, 100, 10_000, () => 0.5), 200);
});

Deno.test("GrpcServer.rotateCertificate: new connections get the new certificate", async () => {
  const f = await startController();
  f.hub.publish("node-a", testSnapshot("v1"));
  const wants = "rotated.novaedge.test";
  const make = () => {
    const got: string[] = [];
    const client = new ControllerClient({
      address: `127.0.0.1:${f.server.port}`,
      serverName: wants,
      node: "node-a",
      caPem: ca.certPem,
      token: () => Promise.resolve(TOKEN),
      agentVersion: "t",
      currentVersion: () => got.at(-1) ?? "",
      backoff: { initialMs: 50, maxMs: 200 },
      onSnapshot: (u) => {
        got.push(u.version);
        return Promise.resolve();
      },
    });
    client.start();
    return { client, got };
  };
  const before = make();
  try {
    await until("a TLS name failure", () => before.client.lastError !== "");
    assert.equal(before.got.length, 0);
    await before.client.stop();
    const next = await issueLeaf(ca, { commonName: "ctl", sans: [wants] });
    f.server.rotateCertificate(next.certPem, next.keyPem);
    const after = make();
    try {
      await until("served after rotation", () => after.got.includes("v1"));
    } finally {
      await after.client.stop();
    }
  } finally {
    await before.client.stop();
    await f.server.close();
  }
});
