import assert from "node:assert/strict";
import { AgentRegistry } from "../../src/controller/agents.ts";
import { Reconciler } from "../../src/controller/reconciler.ts";
import { SnapshotHub } from "../../src/controller/snapshot_hub.ts";
import { setLogLevel } from "../../src/observe/log.ts";
import { encodeSnapshot } from "../../src/snapshot/codec.ts";
import type { KubeObject, ObjectStatus } from "../../src/store/types.ts";

setLogLevel("error");

function objects(hosts: string[]): KubeObject[] {
  const ns = "demo";
  return [
    { apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: {} } },
    { apiVersion: "v1", kind: "Node", metadata: { name: "n2", labels: {} } },
    {
      apiVersion: "novaedge.io/v1alpha1",
      kind: "ProxyGateway",
      metadata: { name: "edge", namespace: ns, generation: 1 },
      spec: { listeners: [{ name: "http", port: 8080, protocol: "HTTP" }] },
    },
    {
      apiVersion: "novaedge.io/v1alpha1",
      kind: "ProxyBackend",
      metadata: { name: "app", namespace: ns, generation: 1 },
      spec: { endpoints: [{ address: "127.0.0.1", port: 9001 }] },
    },
    ...hosts.map((h, i): KubeObject => ({
      apiVersion: "novaedge.io/v1alpha1",
      kind: "ProxyRoute",
      metadata: { name: `r${i}`, namespace: ns, generation: 1 },
      spec: {
        parentRefs: [{ name: "edge" }],
        hostnames: [h],
        rules: [{ backendRefs: [{ name: "app" }] }],
      },
    })),
  ];
}

Deno.test("Reconciler: a burst of triggers builds once; every node gets a snapshot; only a leader writes", async () => {
  let objs = objects(["a.test"]);
  let builds = 0;
  const hub = new SnapshotHub(encodeSnapshot);
  const registry = new AgentRegistry("t");
  const written: ObjectStatus[][] = [];
  let leader = false;
  const r = new Reconciler({
    objects: () => {
      builds++;
      return objs;
    },
    hub,
    registry,
    isLeader: () => leader,
    writeStatuses: (s) => {
      written.push([...s]);
      return Promise.resolve();
    },
    debounceMs: 20,
  });
  try {
    for (let i = 0; i < 10; i++) r.trigger();
    await new Promise((res) => setTimeout(res, 150));
    assert.equal(builds, 1);
    assert.deepEqual(hub.nodes(), ["n1", "n2"]);
    const v1 = hub.get("n1")!.version;
    assert.equal(hub.snapshot("n1")!.routes.length, 1);
    assert.equal(written.length, 0, "a follower writes no status");
    assert.equal(r.state?.objects, objs.length);

    leader = true;
    objs = objects(["a.test", "b.test"]);
    r.trigger();
    await new Promise((res) => setTimeout(res, 150));
    assert.notEqual(hub.get("n1")!.version, v1);
    assert.equal(hub.snapshot("n2")!.routes.length, 2);
    assert.equal(written.length, 1);
    const route = written[0].find((s) => s.ref.kind === "ProxyRoute" && s.ref.name === "r1")!;
    assert.equal(route.status.conditions.find((c) => c.type === "Accepted")?.status, "True");
    // No agent reports to this controller: Programmed says so without blocking.
    const prog = route.status.conditions.find((c) => c.type === "Programmed")!;
    assert.equal(prog.status, "True");
    assert.match(prog.message, /2 node\(s\) not reporting/);

    // An agent acking an old version makes the new route pending on its node.
    const s = registry.add({
      node: "n1",
      peer: "p",
      agentVersion: "x",
      subject: "s",
      connectedAt: new Date(),
    });
    registry.ack(s.id, v1);
    await r.resyncStatuses();
    const last = written.at(-1)!.find((x) => x.ref.name === "r1")!;
    const p2 = last.status.conditions.find((c) => c.type === "Programmed")!;
    assert.equal(p2.status, "False");
    assert.match(p2.message, /not yet served by n1/);
    const r0 = written.at(-1)!.find((x) => x.ref.name === "r0")!;
    assert.equal(
      r0.status.conditions.find((c) => c.type === "Programmed")?.status,
      "True",
      "unchanged route stays programmed",
    );
  } finally {
    r.stop();
  }
});
