/**
 * An Ingress that leaves our class (ingressClassName or the legacy annotation
 * changed to another controller's class) loses the address we wrote — but only
 * while `status.loadBalancer.ingress` is still exactly what we wrote on that
 * same object: another controller's address is never touched. A follower that
 * saw the addresses (observe) releases them once it leads. Fakes as in
 * status_ingress_test.ts: a KubeClient stand-in that records patches and keeps
 * the object as the API server would (resourceVersion checked: 409 on a stale one).
 */
import assert from "node:assert/strict";
import { StatusWriter } from "../../src/controller/status_writer.ts";
import { KubeError } from "../../src/source/kube_client.ts";
import type { KubeClient } from "../../src/source/kube_client.ts";
import type { KubeObject, ObjectStatus } from "../../src/store/types.ts";
import { setLogLevel } from "../../src/observe/log.ts";
import { Reconciler } from "../../src/controller/reconciler.ts";
import { SnapshotHub } from "../../src/controller/snapshot_hub.ts";
import { AgentRegistry } from "../../src/controller/agents.ts";
import { encodeSnapshot } from "../../src/snapshot/codec.ts";

setLogLevel("error");

type Addr = { ip?: string; hostname?: string };
type Mutable = { -readonly [K in keyof KubeObject]: KubeObject[K] };

const PATH = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web";
const OURS: Addr[] = [{ ip: "192.0.2.50" }, { hostname: "edge.example.test" }];
const THEIRS: Addr[] = [{ ip: "198.51.100.9" }];

type PatchBody = { metadata: { resourceVersion?: string }; status: Record<string, unknown> };

/** The API server's copy of one Ingress, and a client that patches it like the server. */
class FakeServer {
  obj: Mutable;
  patches: { path: string; body: PatchBody }[] = [];
  gets = 0;
  /** Answer the next patches with 409 (someone wrote in between). */
  conflictsLeft = 0;
  /** Run before answering a 409 (the concurrent write). */
  onConflict: (() => void) | undefined;

  constructor(cls: string) {
    this.obj = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: "web",
        namespace: "shop",
        uid: "uid-1",
        generation: 1,
        resourceVersion: "1",
      },
      spec: { ingressClassName: cls },
    };
  }

  /** Another writer (a controller, kubectl) sets the status. */
  setAddresses(a: Addr[]): void {
    this.obj.status = a.length ? { loadBalancer: { ingress: a } } : { loadBalancer: {} };
    this.bump();
  }

  bump(): void {
    this.obj.metadata = {
      ...this.obj.metadata,
      resourceVersion: String(Number(this.obj.metadata.resourceVersion) + 1),
    };
  }

  snapshot(): KubeObject {
    return structuredClone(this.obj);
  }

  client(): KubeClient {
    const c = {
      patch: (path: string, body: PatchBody) => {
        this.patches.push({ path, body });
        if (this.conflictsLeft > 0) {
          this.conflictsLeft--;
          this.onConflict?.();
          return Promise.reject(new KubeError(409, "Conflict", "the object has been modified"));
        }
        if (body.metadata.resourceVersion !== this.obj.metadata.resourceVersion) {
          return Promise.reject(new KubeError(409, "Conflict", "stale resourceVersion"));
        }
        const lb = (body.status as { loadBalancer?: { ingress?: unknown } }).loadBalancer;
        this.obj.status = lb?.ingress === null
          ? { loadBalancer: {} }
          : structuredClone(body.status) as Record<string, unknown>;
        this.bump();
        return Promise.resolve(this.snapshot());
      },
      get: () => {
        this.gets++;
        return Promise.resolve(this.snapshot());
      },
    };
    return c as unknown as KubeClient;
  }
}

function ingressStatus(addrs: Addr[]): ObjectStatus {
  return {
    ref: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "shop", name: "web" },
    generation: 1,
    status: {
      observedGeneration: 1,
      conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "ok" }],
      loadBalancer: { ingress: addrs },
    },
  };
}

/** A status of something else, so a sync is never empty. */
const OTHER: ObjectStatus = {
  ref: { apiVersion: "novaedge.io/v1alpha1", kind: "ProxyRoute", namespace: "shop", name: "r" },
  generation: 1,
  status: { observedGeneration: 1, conditions: [] },
};

/** A writer over `server`; the informer cache is the server's object unless `cache` says otherwise. */
function writerFor(server: FakeServer, cache?: () => KubeObject | undefined): StatusWriter {
  return new StatusWriter({
    client: server.client(),
    live: (kind, ns, name) =>
      kind === "Ingress" && ns === "shop" && name === "web"
        ? (cache ? cache() : server.snapshot())
        : undefined,
    resourceOf: (kind) =>
      kind === "Ingress"
        ? { group: "networking.k8s.io", version: "v1", plural: "ingresses", kind }
        : undefined,
  });
}

const lbOf = (o: KubeObject) => (o.status as { loadBalancer?: unknown } | undefined)?.loadBalancer;

Deno.test("an Ingress that leaves our class has the address we wrote cleared, once", async () => {
  const server = new FakeServer("novaedge");
  const w = writerFor(server);
  const r1 = await w.sync([ingressStatus(OURS), OTHER]);
  assert.equal(r1.written, 1);
  assert.deepEqual(lbOf(server.obj), { ingress: OURS });
  // ingressClassName changed to another controller's class: the translator reports no status.
  server.obj.spec = { ingressClassName: "other" };
  server.bump();
  const r2 = await w.sync([OTHER]);
  assert.equal(r2.written, 1);
  assert.equal(r2.failed, 0);
  assert.deepEqual(server.patches.at(-1), {
    path: `${PATH}/status`,
    body: {
      metadata: { resourceVersion: "3" },
      status: { loadBalancer: { ingress: null } },
    },
  });
  assert.deepEqual(lbOf(server.obj), {});
  // Released once: later syncs leave it alone, even when the other controller writes its own.
  server.setAddresses(THEIRS);
  const before = server.patches.length;
  await w.sync([OTHER]);
  await w.sync([OTHER]);
  assert.equal(server.patches.length, before);
  assert.deepEqual(lbOf(server.obj), { ingress: THEIRS });
});

Deno.test("another controller's address is never cleared", async () => {
  // (1) It wrote its address after ours (the Ingress moved and its new controller was faster).
  const server = new FakeServer("novaedge");
  const w = writerFor(server);
  await w.sync([ingressStatus(OURS)]);
  server.obj.spec = { ingressClassName: "other" };
  server.setAddresses(THEIRS);
  const n = server.patches.length;
  const r = await w.sync([OTHER]);
  assert.equal(r.written, 0);
  assert.equal(server.patches.length, n);
  assert.deepEqual(lbOf(server.obj), { ingress: THEIRS });

  // (2) An Ingress we never served, even with the very address list we use.
  const foreign = new FakeServer("other");
  foreign.setAddresses(OURS);
  const w2 = writerFor(foreign);
  await w2.sync([OTHER]);
  await w2.sync([OTHER]);
  assert.equal(foreign.patches.length, 0);
  assert.deepEqual(lbOf(foreign.obj), { ingress: OURS });
});

Deno.test("the legacy annotation changing class releases the address too; a recreated Ingress does not", async () => {
  // Annotation kubernetes.io/ingress.class moved to another controller: same release.
  const server = new FakeServer("unused");
  server.obj.spec = {};
  server.obj.metadata = {
    ...server.obj.metadata,
    annotations: { "kubernetes.io/ingress.class": "novaedge" },
  };
  const w = writerFor(server);
  await w.sync([ingressStatus(OURS)]);
  server.obj.metadata = {
    ...server.obj.metadata,
    annotations: { "kubernetes.io/ingress.class": "nginx" },
  };
  server.bump();
  await w.sync([OTHER]);
  assert.deepEqual(lbOf(server.obj), {});

  // Deleted and created again under the same name (another uid) by another controller's user,
  // who copied our address into it: another object, not ours.
  const s2 = new FakeServer("novaedge");
  const w2 = writerFor(s2);
  await w2.sync([ingressStatus(OURS)]);
  s2.obj.metadata = { ...s2.obj.metadata, uid: "uid-2" };
  s2.obj.spec = { ingressClassName: "other" };
  s2.setAddresses(OURS);
  const n = s2.patches.length;
  await w2.sync([OTHER]);
  assert.equal(s2.patches.length, n);
  assert.deepEqual(lbOf(s2.obj), { ingress: OURS });
});

Deno.test("a conflicting release re-reads: cleared if still ours, left alone if not", async () => {
  // A concurrent write that does not touch the addresses (e.g. a label): retried, cleared.
  const server = new FakeServer("novaedge");
  const w = writerFor(server);
  await w.sync([ingressStatus(OURS)]);
  server.obj.spec = { ingressClassName: "other" };
  server.bump();
  server.conflictsLeft = 1;
  server.onConflict = () => server.bump();
  const r = await w.sync([OTHER]);
  assert.equal(r.conflicts, 1);
  assert.equal(r.written, 1);
  assert.deepEqual(lbOf(server.obj), {});

  // The concurrent write was the other controller's address: left alone.
  const s2 = new FakeServer("novaedge");
  const w2 = writerFor(s2);
  await w2.sync([ingressStatus(OURS)]);
  s2.obj.spec = { ingressClassName: "other" };
  s2.bump();
  s2.conflictsLeft = 1;
  s2.onConflict = () => s2.setAddresses(THEIRS);
  const r2 = await w2.sync([OTHER]);
  assert.equal(r2.written, 0);
  assert.equal(r2.failed, 0);
  assert.deepEqual(lbOf(s2.obj), { ingress: THEIRS });
});

Deno.test("a stale cache that does not show our write yet: the server is asked before giving up", async () => {
  const server = new FakeServer("novaedge");
  const stale = server.snapshot(); // the cache never sees our write
  const w = writerFor(server, () => stale);
  await w.sync([ingressStatus(OURS)]);
  assert.deepEqual(lbOf(server.obj), { ingress: OURS });
  server.obj.spec = { ingressClassName: "other" };
  server.bump();
  const gets = server.gets;
  await w.sync([OTHER]);
  assert.equal(server.gets, gets + 1);
  assert.deepEqual(lbOf(server.obj), {});
});

Deno.test("a failed release is retried by the next sync", async () => {
  const server = new FakeServer("novaedge");
  const client = server.client();
  let fail = false;
  const flaky = {
    patch: (path: string, body: PatchBody) =>
      fail ? Promise.reject(new Error("connection reset")) : client.patch(path, body),
    get: (path: string) => client.get(path),
  } as unknown as KubeClient;
  const w = new StatusWriter({
    client: flaky,
    live: () => server.snapshot(),
    resourceOf: (kind) =>
      kind === "Ingress"
        ? { group: "networking.k8s.io", version: "v1", plural: "ingresses", kind }
        : undefined,
  });
  await w.sync([ingressStatus(OURS)]);
  server.obj.spec = { ingressClassName: "other" };
  server.bump();
  fail = true;
  const r1 = await w.sync([OTHER]);
  assert.equal(r1.failed, 1);
  assert.deepEqual(lbOf(server.obj), { ingress: OURS });
  fail = false;
  const r2 = await w.sync([OTHER]);
  assert.equal(r2.written, 1);
  assert.deepEqual(lbOf(server.obj), {});
});

Deno.test("a follower remembers what the leader wrote and releases it once it leads", async () => {
  const server = new FakeServer("novaedge");
  // The previous leader wrote our address.
  server.setAddresses(OURS);
  let leader = false;
  let objects: KubeObject[] = [];
  const follower = writerFor(server);
  const r = new Reconciler({
    objects: () => objects,
    hub: new SnapshotHub(encodeSnapshot),
    registry: new AgentRegistry("t"),
    isLeader: () => leader,
    writeStatuses: (s) => follower.sync(s),
    observeStatuses: (s) => follower.observe(s),
    pipeline: { ingress: { ingressAddresses: ["192.0.2.50", "edge.example.test"] } },
  });
  const ingressClass = (name: string, controller: string): KubeObject => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name },
    spec: { controller },
  });
  const ingress = (cls: string): KubeObject => ({
    ...server.snapshot(),
    spec: {
      ingressClassName: cls,
      defaultBackend: { service: { name: "web", port: { number: 80 } } },
    },
  });
  const service: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "shop" },
    spec: { ports: [{ port: 80 }] },
  };
  const classes = [
    ingressClass("novaedge", "novaedge.io/ingress-controller"),
    ingressClass("other", "example.com/other"),
  ];
  try {
    objects = [...classes, service, ingress("novaedge")];
    await r.reconcileNow();
    const st = r.state?.statuses.find((s) => s.ref.kind === "Ingress");
    assert.deepEqual((st?.status as { loadBalancer?: unknown }).loadBalancer, { ingress: OURS });
    assert.equal(server.patches.length, 0, "a follower writes nothing");
    // The Ingress moves to the other class; the old leader is gone before releasing it.
    server.obj.spec = { ingressClassName: "other" };
    server.bump();
    objects = [...classes, service, ingress("other")];
    await r.reconcileNow();
    assert.equal(server.patches.length, 0);
    // This replica leads now: its first sync releases the address.
    leader = true;
    await r.resyncStatuses();
    assert.deepEqual(lbOf(server.obj), {});
    assert.equal(server.patches.length, 1);
  } finally {
    r.stop();
  }
});
