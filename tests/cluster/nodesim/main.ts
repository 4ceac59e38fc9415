/**
 * The node simulator: stands in for kubelets (and the scheduler) on the local
 * cluster. It registers N Nodes, binds pending pods to them, runs each bound pod
 * through a PodRunner, keeps Node heartbeats, and serves container logs at each
 * node's IP. Started by `deno task cluster up`; SIGTERM stops every pod.
 *
 * Usage: deno run -A --unstable-net tests/cluster/nodesim/main.ts --state=<cluster.json>
 */
import { ApiError, KubeApi } from "../api.ts";
import { K8S_VERSION, KUBELET_PORT, nodeIP, nodeName, nodePodCIDR, RUN_DIR } from "../config.ts";
import type { ClusterState } from "../control_plane.ts";
import { podEvent } from "./events.ts";
import { kubeletHandler } from "./kubelet_server.ts";
import { PodRunner } from "./pod_runner.ts";
import type { List, Pod } from "./types.ts";

function log(msg: string): void {
  console.log(`${new Date().toISOString()} nodesim: ${msg}`);
}

interface SimNode {
  index: number;
  name: string;
  ip: string;
  labels: Record<string, string>;
  /** Pod IP pool of this node's /24 (host part 2..254), allocated round-robin. */
  used: Set<string>;
  cursor: number;
  /** Simulated failure: set by the annotation SIMULATE_NOT_READY on the Node. */
  down: boolean;
  /** When Ready last changed (lastTransitionTime). */
  readySince: string;
}

/** Annotate a Node with this ("true") to make its simulated kubelet stop and report NotReady. */
const SIMULATE_NOT_READY = "novaedge.io/simulate-not-ready";

const statePath = Deno.args.find((a) => a.startsWith("--state="))?.slice("--state=".length);
if (!statePath) {
  console.error("usage: main.ts --state=<cluster.json>");
  Deno.exit(2);
}
const state = JSON.parse(Deno.readTextFileSync(statePath)) as ClusterState;
const api = new KubeApi({
  server: state.server,
  token: state.token,
  caPem: Deno.readTextFileSync(state.caFile),
});

const nodes: SimNode[] = Array.from({ length: state.nodes }, (_, i) => ({
  index: i,
  name: nodeName(i),
  ip: nodeIP(i),
  labels: {
    "kubernetes.io/hostname": nodeName(i),
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "novaedge.io/simulated-node": "true",
  },
  used: new Set(),
  cursor: 1,
  down: false,
  readySince: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
}));
const nodeByName = new Map(nodes.map((n) => [n.name, n]));
const runners = new Map<string, PodRunner>();
/** UIDs already handled and gone (so a late watch event does not restart them). */
const finished = new Set<string>();
const binding = new Set<string>();
let shuttingDown = false;

function allocateIP(n: SimNode): string {
  const [a, b, c] = nodePodCIDR(n.index).split("/")[0].split(".");
  for (let i = 0; i < 253; i++) {
    n.cursor = n.cursor >= 254 ? 2 : n.cursor + 1;
    const ip = `${a}.${b}.${c}.${n.cursor}`;
    if (!n.used.has(ip)) {
      n.used.add(ip);
      return ip;
    }
  }
  throw new Error(`node ${n.name}: pod IP range exhausted`);
}

function nodeStatus(n: SimNode) {
  const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: type === "Ready" ? n.readySince : startedAt,
  });
  return {
    addresses: [{ type: "InternalIP", address: n.ip }, { type: "Hostname", address: n.name }],
    capacity: { cpu: "8", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" },
    allocatable: { cpu: "8", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" },
    conditions: [
      cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "simulated"),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "simulated"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID", "simulated"),
      n.down
        ? cond(
          "Ready",
          "False",
          "KubeletNotReady",
          `simulated node failure (annotation ${SIMULATE_NOT_READY})`,
        )
        : cond("Ready", "True", "KubeletReady", "novaedge node simulator is posting ready status"),
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    nodeInfo: {
      machineID: `novaedge-${n.index}`,
      systemUUID: `novaedge-${n.index}`,
      bootID: bootID,
      kernelVersion: Deno.osRelease(),
      osImage: "NovaEdge node simulator",
      containerRuntimeVersion: "novaedge-nodesim://1.0.0",
      kubeletVersion: K8S_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const bootID = crypto.randomUUID();

async function registerNodes(): Promise<void> {
  for (const n of nodes) {
    const cidr = nodePodCIDR(n.index);
    const existing = await api.tryGet(`/api/v1/nodes/${n.name}`);
    if (!existing) {
      await api.create("/api/v1/nodes", {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: n.name, labels: n.labels },
        spec: { podCIDR: cidr, podCIDRs: [cidr] },
      });
    } else {
      await api.mergePatch(`/api/v1/nodes/${n.name}`, { metadata: { labels: n.labels } });
    }
    await api.mergePatch(`/api/v1/nodes/${n.name}/status`, { status: nodeStatus(n) });
    await removeNotReadyTaints(n.name);
    log(`registered node ${n.name} (${n.ip}, pods ${cidr})`);
  }
}

/**
 * The API server taints new Nodes `node.kubernetes.io/not-ready:NoSchedule`; the node
 * lifecycle controller (not run here) would lift it once the node reports Ready. We do.
 */
async function removeNotReadyTaints(name: string): Promise<void> {
  const node = await api.get<{ spec?: { taints?: { key: string }[] } }>(`/api/v1/nodes/${name}`);
  const taints = node.spec?.taints ?? [];
  const keep = taints.filter((t) =>
    t.key !== "node.kubernetes.io/not-ready" && t.key !== "node.kubernetes.io/unreachable"
  );
  if (keep.length !== taints.length) {
    await api.mergePatch(`/api/v1/nodes/${name}`, { spec: { taints: keep.length ? keep : null } });
  }
}

/** Renew the node's Lease in kube-node-lease, as a kubelet does every 10 s. */
async function renewLease(n: SimNode): Promise<void> {
  const renewTime = new Date().toISOString().replace(/Z$/, "000Z");
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n.name}`;
  try {
    await api.mergePatch(path, { spec: { holderIdentity: n.name, renewTime } });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
    await api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: n.name, namespace: "kube-node-lease" },
      spec: { holderIdentity: n.name, leaseDurationSeconds: 40, renewTime },
    });
  }
}

/**
 * Every 2 s: look for the failure annotation (and apply a change at once); every 10 s renew
 * Leases and every 20 s post status for the nodes that are up. A "down" node posts nothing
 * more, like a dead kubelet, and its pods are marked not Ready (as the node lifecycle
 * controller would) so their endpoints turn unready.
 */
async function heartbeat(): Promise<void> {
  let tick = 0;
  while (!shuttingDown) {
    for (const n of nodes) {
      try {
        const node = await api.get<{ metadata: { annotations?: Record<string, string> } }>(
          `/api/v1/nodes/${n.name}`,
        );
        const down = node.metadata.annotations?.[SIMULATE_NOT_READY] === "true";
        if (down !== n.down) {
          n.down = down;
          n.readySince = new Date().toISOString().replace(/\.\d+Z$/, "Z");
          log(`node ${n.name} is now ${down ? "NOT ready (simulated failure)" : "ready again"}`);
          await api.mergePatch(`/api/v1/nodes/${n.name}/status`, { status: nodeStatus(n) });
          for (const r of runners.values()) {
            if (r.pod.spec.nodeName === n.name) r.setNodeDown(down);
          }
        }
        if (!n.down && tick % 5 === 0) await renewLease(n);
        if (!n.down && tick % 10 === 9) {
          await api.mergePatch(`/api/v1/nodes/${n.name}/status`, { status: nodeStatus(n) });
        }
      } catch (e) {
        if (!shuttingDown) log(`heartbeat ${n.name}: ${e}`);
      }
    }
    tick++;
    await new Promise((r) => setTimeout(r, 2_000));
  }
}

/** Does node `n` satisfy the pod's nodeSelector and required node affinity (the common forms)? */
function fits(pod: Pod, n: SimNode): boolean {
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (n.labels[k] !== v) return false;
  }
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms;
  if (!terms || terms.length === 0) return true;
  return terms.some((t) => {
    const fieldsOk = (t.matchFields ?? []).every((f) =>
      f.key !== "metadata.name" || matchOp(f.operator, n.name, f.values)
    );
    const exprOk = (t.matchExpressions ?? []).every((e) =>
      matchOp(e.operator, n.labels[e.key], e.values)
    );
    return fieldsOk && exprOk;
  });
}

function matchOp(op: string, value: string | undefined, values: string[] = []): boolean {
  switch (op) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    default:
      return true;
  }
}

/** Bind a pending pod to the least-loaded fitting node (the scheduler's job). */
async function schedule(pod: Pod): Promise<void> {
  const m = pod.metadata;
  if (binding.has(m.uid)) return;
  const candidates = nodes.filter((n) => fits(pod, n));
  if (candidates.length === 0) {
    await api.mergePatch(`/api/v1/namespaces/${m.namespace}/pods/${m.name}/status`, {
      status: {
        conditions: [{
          type: "PodScheduled",
          status: "False",
          reason: "Unschedulable",
          message:
            `0/${nodes.length} nodes are available: no node matches the pod's node selector/affinity`,
          lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        }],
      },
    }).catch(() => undefined);
    return;
  }
  const load = (n: SimNode) =>
    [...podsByUid.values()].filter((p) => p.spec.nodeName === n.name).length;
  candidates.sort((a, b) => load(a) - load(b) || a.index - b.index);
  const target = candidates[0];
  binding.add(m.uid);
  try {
    await api.create(`/api/v1/namespaces/${m.namespace}/pods/${m.name}/binding`, {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: m.name, namespace: m.namespace, uid: m.uid },
      target: { apiVersion: "v1", kind: "Node", name: target.name },
    });
    podEvent(
      api,
      pod,
      "Normal",
      "Scheduled",
      `Successfully assigned ${m.namespace}/${m.name} to ${target.name}`,
      "default-scheduler",
    );
    // Count it at once so the next pod of a burst goes to another node.
    podsByUid.set(m.uid, { ...pod, spec: { ...pod.spec, nodeName: target.name } });
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 404 || e.status === 409))) {
      log(`bind ${m.name}: ${e}`);
    }
  } finally {
    binding.delete(m.uid);
  }
}

/** Latest view of every pod (for scheduling load). */
const podsByUid = new Map<string, Pod>();

function handlePod(type: string, pod: Pod): void {
  const uid = pod.metadata.uid;
  if (type === "DELETED") {
    podsByUid.delete(uid);
    const r = runners.get(uid);
    if (r) void r.stop(0, false);
    return;
  }
  podsByUid.set(uid, pod);
  if (shuttingDown) return;
  if (!pod.spec.nodeName) {
    if (
      !pod.metadata.deletionTimestamp &&
      (pod.spec.schedulerName ?? "default-scheduler") === "default-scheduler"
    ) {
      void schedule(pod);
    }
    return;
  }
  const node = nodeByName.get(pod.spec.nodeName);
  if (!node) return;
  const existing = runners.get(uid);
  if (existing) {
    existing.update(pod);
    return;
  }
  if (finished.has(uid)) return;
  if (pod.metadata.deletionTimestamp) {
    // Never started here (e.g. after a simulator restart): finish the deletion.
    finished.add(uid);
    void api.delete(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
      gracePeriodSeconds: 0,
      preconditions: { uid },
    }).catch(() => undefined);
    return;
  }
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
  const runner = new PodRunner({
    api,
    runDir: RUN_DIR,
    nodeIP: node.ip,
    nodeName: node.name,
    allocateIP: () => allocateIP(node),
    releaseIP: (ip) => node.used.delete(ip),
    onGone: (u) => {
      runners.delete(u);
      finished.add(u);
    },
    log,
  }, pod);
  runners.set(uid, runner);
  if (node.down) runner.setNodeDown(true);
  void runner.start();
}

async function watchPods(): Promise<void> {
  while (!shuttingDown) {
    try {
      const list = await api.get<List<Pod>>("/api/v1/pods");
      const seen = new Set<string>();
      for (const p of list.items) {
        seen.add(p.metadata.uid);
        handlePod("ADDED", p);
      }
      // Pods that vanished while we were not watching.
      for (const uid of [...podsByUid.keys()]) {
        if (!seen.has(uid)) handlePod("DELETED", podsByUid.get(uid)!);
      }
      let rv = list.metadata.resourceVersion;
      for await (const ev of api.watch<Pod>("/api/v1/pods", rv, abort.signal)) {
        if (ev.type === "ERROR") {
          const code = (ev.object as unknown as { code?: number }).code;
          if (code === 410) break;
          continue;
        }
        rv = ev.object.metadata.resourceVersion ?? rv;
        if (ev.type === "BOOKMARK") continue;
        handlePod(ev.type, ev.object);
      }
    } catch (e) {
      if (shuttingDown) return;
      log(`pod watch: ${e}; re-listing`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

const abort = new AbortController();

function serveKubelets(): Deno.HttpServer[] {
  const cert = Deno.readTextFileSync(state.kubeletCert);
  const key = Deno.readTextFileSync(state.kubeletKey);
  const handler = kubeletHandler((ns, podName, container) => {
    const r = [...runners.values()].find((x) =>
      x.pod.metadata.namespace === ns && x.pod.metadata.name === podName
    );
    if (!r) {
      return {
        error: `pod "${podName}" in namespace "${ns}" is not running on this node`,
        status: 404,
      };
    }
    const c = r.find(container);
    if (!c) {
      return { error: `container "${container}" is not valid for pod "${podName}"`, status: 400 };
    }
    return { run: c };
  });
  return nodes.map((n) =>
    Deno.serve({ hostname: n.ip, port: KUBELET_PORT, cert, key, onListen: () => {} }, handler)
  );
}

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`stopping ${runners.size} pod(s)`);
  abort.abort();
  await Promise.all([...runners.values()].map((r) => r.stop(2, false)));
  log("bye");
  Deno.exit(0);
}

Deno.addSignalListener("SIGTERM", () => void shutdown());
Deno.addSignalListener("SIGINT", () => void shutdown());

await registerNodes();
serveKubelets();
void heartbeat();
log(`running ${nodes.length} node(s); kubelet API on port ${KUBELET_PORT}`);
await watchPods();
