/**
 * `up`, `down` and `status` of the local cluster: etcd on tmpfs, kube-apiserver on
 * loopback (token auth, RBAC), kube-controller-manager, the node simulator, the
 * NovaEdge and Gateway API CRDs, and a kubeconfig at a stable path.
 */
import { ensureBuilt, gatewayApiDir } from "./build.ts";
import {
  DEFAULT_NODES,
  ETCD_BIN,
  GATEWAY_API_VERSION,
  K8S_BIN_DIR,
  K8S_VERSION,
  k8sBin,
  KUBECONFIG_PATH,
  nodeIP,
  RUN_DIR,
  SERVICE_CIDR,
  STATE_DIR,
} from "./config.ts";
import { exists, freePort, run, waitFor } from "./exec.ts";
import { cleanupNetwork, ensureBridge, listOurLinks, listPodNetns } from "./network.ts";
import { ensurePki } from "./pki.ts";
import { daemonPid, LOG_DIR, startDaemon, stopDaemon, stopPid, strayPids } from "./procs.ts";
import { KubeApi } from "./api.ts";

/** What `up` records in `<state>/cluster.json` for later commands and the node simulator. */
export interface ClusterState {
  server: string;
  apiserverPort: number;
  etcdPort: number;
  kcmPort: number;
  nodes: number;
  token: string;
  caFile: string;
  kubeletCert: string;
  kubeletKey: string;
  kubeconfig: string;
  startedAt: string;
}

/** Path of the state file. */
export const STATE_FILE = `${STATE_DIR}/cluster.json`;
/** Folder whose YAML files are NovaEdge's CRDs. */
export const NOVAEDGE_CRD_DIR = new URL("../../manifests/crds/", import.meta.url).pathname;

/** Controllers kube-controller-manager runs (everything tests need, nothing that needs a cloud). */
export const CONTROLLERS = [
  "garbagecollector",
  "endpointslice",
  "endpointslicemirroring",
  "endpoint",
  "deployment",
  "replicaset",
  "namespace",
  "serviceaccount",
  "daemonset",
  "statefulset",
  "job",
  "disruption",
];

const COMPONENTS = ["nodesim", "kube-controller-manager", "kube-apiserver", "etcd"] as const;

function log(msg: string): void {
  console.error(`[cluster] ${msg}`);
}

/** Read the state of the current (or last) cluster, if any. */
export function readState(): ClusterState | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(STATE_FILE)) as ClusterState;
  } catch {
    return undefined;
  }
}

/** A REST client for a cluster state. */
export function apiFor(s: ClusterState): KubeApi {
  return new KubeApi({ server: s.server, token: s.token, caPem: Deno.readTextFileSync(s.caFile) });
}

async function readyz(s: ClusterState): Promise<boolean> {
  const api = apiFor(s);
  try {
    return (await api.probe("/readyz")) === 200;
  } finally {
    api.close();
  }
}

/** True when every component runs and the API server answers /readyz. */
export async function isHealthy(): Promise<boolean> {
  const s = readState();
  if (!s) return false;
  if (COMPONENTS.some((c) => daemonPid(c) === undefined)) return false;
  return await readyz(s);
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const ca = btoa(caPem);
  return `apiVersion: v1
kind: Config
clusters:
- name: novaedge
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: novaedge-admin
  user:
    token: ${token}
contexts:
- name: novaedge
  context:
    cluster: novaedge
    user: novaedge-admin
    namespace: default
current-context: novaedge
`;
}

/** Stop everything this harness may have left running and remove namespaces, links and tmpfs data. */
export async function cleanup(quiet = false): Promise<void> {
  for (const c of COMPONENTS) {
    // The node simulator gets longer: it stops every pod before it exits.
    if (await stopDaemon(c, c === "nodesim" ? 20_000 : 10_000)) {
      if (!quiet) log(`stopped ${c}`);
    }
  }
  const strays = strayPids();
  for (const pid of strays) {
    if (!quiet) log(`stopping leftover process ${pid}`);
    await stopPid(pid, 3_000);
  }
  const net = await cleanupNetwork();
  if (!quiet && (net.netns.length || net.links.length)) {
    log(`removed ${net.netns.length} network namespace(s), ${net.links.length} link(s)`);
  }
  await Deno.remove(RUN_DIR, { recursive: true }).catch(() => undefined);
  await Deno.remove(STATE_FILE).catch(() => undefined);
}

/** Options of {@link up}. */
export interface UpOptions {
  /** Number of simulated nodes (default 2, or NOVAEDGE_CLUSTER_NODES). */
  nodes?: number;
}

/** Build if needed, then start the cluster (a no-op when a healthy one already runs). */
export async function up(opts: UpOptions = {}): Promise<ClusterState> {
  const t0 = Date.now();
  await ensureBuilt();
  const nodes = opts.nodes ?? Number(Deno.env.get("NOVAEDGE_CLUSTER_NODES") ?? DEFAULT_NODES);
  if (await isHealthy()) {
    const s = readState()!;
    if (opts.nodes === undefined || s.nodes === nodes) {
      log(`already up: ${s.server} (${s.nodes} node(s)); kubeconfig ${s.kubeconfig}`);
      return s;
    }
    log(`running cluster has ${s.nodes} node(s), ${nodes} wanted: restarting`);
  }
  await cleanup();
  await Deno.mkdir(STATE_DIR, { recursive: true });
  await Deno.mkdir(`${RUN_DIR}/etcd`, { recursive: true, mode: 0o700 });
  for (const f of Deno.readDirSync(STATE_DIR)) {
    if (f.name === "logs") await Deno.remove(`${STATE_DIR}/logs`, { recursive: true });
  }
  const nodeIPs = Array.from({ length: nodes }, (_, i) => nodeIP(i));
  const pki = await ensurePki(`${STATE_DIR}/pki`, nodeIPs);
  await ensureBridge(nodes);

  const etcdPort = freePort();
  const etcdPeer = freePort();
  const apiPort = freePort();
  const kcmPort = freePort();
  const server = `https://127.0.0.1:${apiPort}`;
  const state: ClusterState = {
    server,
    apiserverPort: apiPort,
    etcdPort,
    kcmPort,
    nodes,
    token: pki.adminToken,
    caFile: pki.caCert,
    kubeletCert: pki.kubeletCert,
    kubeletKey: pki.kubeletKey,
    kubeconfig: KUBECONFIG_PATH,
    startedAt: new Date().toISOString(),
  };
  await Deno.writeTextFile(STATE_FILE, JSON.stringify(state, null, 2));
  await Deno.writeTextFile(
    KUBECONFIG_PATH,
    kubeconfigYaml(server, Deno.readTextFileSync(pki.caCert), pki.adminToken),
    { mode: 0o600 },
  );

  log(`starting etcd on 127.0.0.1:${etcdPort} (data on tmpfs ${RUN_DIR}/etcd)`);
  await startDaemon("etcd", ETCD_BIN, [
    "--name=novaedge",
    `--data-dir=${RUN_DIR}/etcd`,
    `--listen-client-urls=http://127.0.0.1:${etcdPort}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=novaedge=http://127.0.0.1:${etcdPeer}`,
    "--logger=zap",
    "--log-level=warn",
    "--quota-backend-bytes=4294967296",
  ]);
  await waitFor(
    "etcd /health",
    async () => {
      const r = await fetch(`http://127.0.0.1:${etcdPort}/health`).catch(() => undefined);
      if (!r) return false;
      const j = await r.json().catch(() => ({})) as { health?: string };
      return j.health === "true";
    },
    60_000,
    200,
  );

  log(`starting kube-apiserver ${K8S_VERSION} on ${server}`);
  await startDaemon("kube-apiserver", k8sBin("kube-apiserver"), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${apiPort}`,
    `--cert-dir=${STATE_DIR}/pki/apiserver-generated`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--token-auth-file=${pki.tokenFile}`,
    "--authorization-mode=RBAC",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.saPub}`,
    `--service-account-signing-key-file=${pki.saKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--disable-admission-plugins=ServiceAccount",
    "--endpoint-reconciler-type=none",
    "--kubelet-preferred-address-types=InternalIP",
    "--allow-privileged=true",
    "--profiling=false",
    "--enable-priority-and-fairness=false",
    "--v=1",
  ]);
  await waitFor(
    "kube-apiserver /readyz",
    () => {
      if (daemonPid("kube-apiserver") === undefined) {
        throw new Error(`kube-apiserver exited; see ${LOG_DIR}/kube-apiserver.log`);
      }
      return readyz(state);
    },
    180_000,
    500,
  );

  log("starting kube-controller-manager and the node simulator");
  await startDaemon("kube-controller-manager", k8sBin("kube-controller-manager"), [
    `--kubeconfig=${KUBECONFIG_PATH}`,
    `--authentication-kubeconfig=${KUBECONFIG_PATH}`,
    `--authorization-kubeconfig=${KUBECONFIG_PATH}`,
    "--leader-elect=false",
    `--controllers=${CONTROLLERS.join(",")}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${kcmPort}`,
    `--cert-dir=${STATE_DIR}/pki/kcm-generated`,
    "--use-service-account-credentials=false",
    "--concurrent-gc-syncs=10",
    "--v=1",
  ]);
  const nodesim = new URL("./nodesim/main.ts", import.meta.url).pathname;
  await startDaemon("nodesim", Deno.execPath(), [
    "run",
    "-A",
    "--unstable-net",
    nodesim,
    `--state=${STATE_FILE}`,
  ]);

  await installCrds();
  const api = apiFor(state);
  try {
    await waitFor(
      `${nodes} Ready node(s)`,
      async () => {
        if (daemonPid("nodesim") === undefined) {
          throw new Error(`node simulator exited; see ${LOG_DIR}/nodesim.log`);
        }
        const list = await api.get<
          { items: { status?: { conditions?: { type: string; status: string }[] } }[] }
        >(
          "/api/v1/nodes",
        );
        const ready = list.items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")
        );
        return ready.length >= nodes;
      },
      120_000,
      500,
    );
    await waitFor(
      "default ServiceAccount (controller-manager working)",
      async () => {
        if (daemonPid("kube-controller-manager") === undefined) {
          throw new Error(
            `kube-controller-manager exited; see ${LOG_DIR}/kube-controller-manager.log`,
          );
        }
        return await api.tryGet("/api/v1/namespaces/default/serviceaccounts/default");
      },
      120_000,
      500,
    );
  } finally {
    api.close();
  }
  log(`up in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${server}, ${nodes} node(s)`);
  log(`kubeconfig: ${KUBECONFIG_PATH}   (eval "$(deno task cluster env)")`);
  return state;
}

/** kubectl against the cluster, capturing output. */
export function kubectlRaw(args: string[], stdin?: string): ReturnType<typeof run> {
  return run(k8sBin("kubectl"), [`--kubeconfig=${KUBECONFIG_PATH}`, ...args], {
    stdin,
    check: false,
  });
}

/** Apply the NovaEdge CRDs (manifests/crds/*.yaml, if any) and the Gateway API experimental CRDs. */
export async function installCrds(): Promise<void> {
  const files: string[] = [];
  if (exists(NOVAEDGE_CRD_DIR)) {
    for (const e of Deno.readDirSync(NOVAEDGE_CRD_DIR)) {
      if (e.isFile && /\.ya?ml$/.test(e.name)) files.push(`${NOVAEDGE_CRD_DIR}${e.name}`);
    }
  }
  // The experimental channel is a superset of the standard one (same CRDs with more fields,
  // plus the x-k8s.io kinds); both carry the safe-upgrades ValidatingAdmissionPolicy.
  const gw = `${await gatewayApiDir()}/config/crd/experimental`;
  const gwFiles = [...Deno.readDirSync(gw)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml") && e.name !== "kustomization.yaml")
    .map((e) => `${gw}/${e.name}`);
  files.sort();
  gwFiles.sort();
  log(
    `installing ${files.length} NovaEdge CRD file(s) and ${gwFiles.length} Gateway API ${GATEWAY_API_VERSION} (experimental channel) file(s)`,
  );
  const all = [...gwFiles, ...files];
  const args = ["apply", "--server-side", "--force-conflicts", "--field-manager=novaedge-cluster"];
  for (const f of all) args.push("-f", f);
  const r = await waitFor(
    "CRD installation",
    async () => {
      const res = await kubectlRaw(args);
      if (res.code !== 0) throw new Error(res.stderr);
      return res;
    },
    60_000,
    1000,
  );
  void r;
  const w = await kubectlRaw([
    "wait",
    "--for=condition=Established",
    "crd",
    "--all",
    "--timeout=120s",
  ]);
  if (w.code !== 0) throw new Error(`CRDs not established: ${w.stderr}`);
}

/** Stop the cluster and remove every process, namespace, link and tmpfs file it left. */
export async function down(): Promise<void> {
  await cleanup();
  const netns = await listPodNetns();
  const links = await listOurLinks();
  const strays = strayPids();
  if (netns.length || links.length || strays.length) {
    throw new Error(
      `leftovers after down: netns=${netns.join(",")} links=${links.join(",")} pids=${
        strays.join(",")
      }`,
    );
  }
  log("down: no process, namespace or link left");
}

/** Human-readable status lines; also returns whether the cluster is healthy. */
export async function status(): Promise<{ healthy: boolean; lines: string[] }> {
  const s = readState();
  const lines: string[] = [];
  for (const c of COMPONENTS) {
    const pid = daemonPid(c);
    lines.push(`${c.padEnd(24)} ${pid ? `running (pid ${pid})` : "not running"}`);
  }
  let healthy = false;
  if (s) {
    healthy = await isHealthy();
    lines.push(`${"apiserver".padEnd(24)} ${s.server} ${healthy ? "ready" : "NOT ready"}`);
    lines.push(`${"kubeconfig".padEnd(24)} ${s.kubeconfig}`);
    lines.push(`${"nodes".padEnd(24)} ${s.nodes}`);
    if (healthy) {
      const r = await kubectlRaw(["get", "nodes,pods", "-A", "-o", "wide"]);
      lines.push(r.stdout.trimEnd());
    }
  } else {
    lines.push("no cluster state (run `deno task cluster up`)");
  }
  const netns = await listPodNetns();
  lines.push(`${"pod netns".padEnd(24)} ${netns.length}`);
  lines.push(`${"kubectl".padEnd(24)} ${K8S_BIN_DIR}/kubectl`);
  return { healthy, lines };
}

/** Shell lines for `eval "$(deno task cluster env)"`. */
export function envLines(): string[] {
  return [
    `export KUBECONFIG=${KUBECONFIG_PATH}`,
    `export PATH=${K8S_BIN_DIR}:$PATH`,
  ];
}
