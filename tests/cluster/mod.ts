/**
 * Test helper for cluster-backed TypeScript tests.
 *
 * ```ts
 * import { clusterTest } from "../cluster/mod.ts";
 * clusterTest("controller writes status", async (c) => {
 *   await c.apply(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n`);
 *   const core = c.kubeconfig.makeApiClient(k8s.CoreV1Api);
 *   ...
 * });
 * ```
 *
 * The first use in a test process reuses a running cluster or starts one
 * (`deno task cluster up`); the last test process using a cluster that tests
 * started stops it when it exits. A cluster started by hand is never stopped.
 * Each `withCluster` call gets a fresh namespace, deleted afterwards.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { type KObj, KubeApi } from "./api.ts";
import { ECHO_BIN, K8S_BIN_DIR, KUBECONFIG_PATH, nodeIP, nodeName, STATE_DIR } from "./config.ts";
import { type ClusterState, isHealthy, readState } from "./control_plane.ts";
import { exists, run, type RunResult, runSync, waitFor } from "./exec.ts";

export { waitFor } from "./exec.ts";
export type { RunResult } from "./exec.ts";

/** A simulated node. */
export interface ClusterNode {
  name: string;
  /** InternalIP: an address on the host's bridge; its kubelet API listens on :10250. */
  ip: string;
}

/** What a test gets. */
export interface Cluster {
  /** Stable kubeconfig path (admin token, cluster CA). */
  kubeconfigPath: string;
  /** API server URL (https://127.0.0.1:<port>). */
  server: string;
  /** Admin bearer token (system:masters). */
  token: string;
  /** Cluster CA certificate (PEM). */
  caPem: string;
  /** A @kubernetes/client-node KubeConfig loaded from the kubeconfig. */
  kubeconfig: KubeConfig;
  /** A small fetch-based REST client (get/create/mergePatch/delete/watch). */
  api: KubeApi;
  /** This test's fresh namespace. */
  namespace: string;
  /** The simulated nodes. */
  nodes: ClusterNode[];
  /** Directory with the built kubectl, kube-apiserver and kube-controller-manager. */
  binDir: string;
  /** Path of the built echo-basic. */
  echoBasic: string;
  /** Run kubectl (namespace defaults to the test's); throws on failure unless check: false. */
  kubectl(
    args: string[],
    opts?: { stdin?: string; check?: boolean; namespace?: string },
  ): Promise<RunResult>;
  /** `kubectl apply --server-side -f -` into the test's namespace (unless the YAML names one). */
  apply(yaml: string): Promise<void>;
  /** Wait until `count` pods matching `selector` are Ready (default 120 s); returns them. */
  waitForReadyPods(selector: string, count: number, timeoutMs?: number): Promise<KObj[]>;
  /**
   * Simulate a node failure (`ready: false`: its kubelet stops heartbeats, the Node turns
   * NotReady and its pods not Ready; processes keep running, as in a partition) or recovery.
   * Resolves once the Node's Ready condition shows it. Nodes are restored after the test.
   */
  setNodeReady(name: string, ready: boolean): Promise<void>;
}

/** The Node annotation the node simulator watches to simulate a failure. */
export const SIMULATE_NOT_READY = "novaedge.io/simulate-not-ready";

/** Options of {@link withCluster}. */
export interface WithClusterOptions {
  /** Prefix of the generated namespace name (default "t"). */
  namespacePrefix?: string;
  /** Keep the namespace after the test (for debugging). */
  keepNamespace?: boolean;
}

const USERS_DIR = `${STATE_DIR}/users`;
const TEST_OWNED = `${STATE_DIR}/started-by-tests`;
const CLI = new URL("./cli.ts", import.meta.url).pathname;
const LOCK = `${STATE_DIR}.lock`;

let userId: string | undefined;
let ready: Promise<ClusterState> | undefined;

function pidAlive(pid: number): boolean {
  return exists(`/proc/${pid}`);
}

/** Drop user entries of processes that no longer exist. */
function purgeDeadUsers(): string[] {
  const live: string[] = [];
  try {
    for (const e of Deno.readDirSync(USERS_DIR)) {
      const pid = Number(e.name.split("-")[0]);
      if (pidAlive(pid)) live.push(e.name);
      else Deno.removeSync(`${USERS_DIR}/${e.name}`);
    }
  } catch { /* no dir */ }
  return live;
}

function lockSync(): Deno.FsFile {
  Deno.mkdirSync(STATE_DIR.slice(0, STATE_DIR.lastIndexOf("/")), { recursive: true });
  const f = Deno.openSync(LOCK, { create: true, write: true });
  f.lockSync(true);
  return f;
}

/** On exit: unregister; the last user of a test-started cluster stops it. */
function onUnload(): void {
  if (!userId) return;
  const f = lockSync();
  try {
    try {
      Deno.removeSync(`${USERS_DIR}/${userId}`);
    } catch { /* gone */ }
    userId = undefined;
    if (purgeDeadUsers().length === 0 && exists(TEST_OWNED)) {
      runSync(Deno.execPath(), ["run", "-A", CLI, "down"]);
      try {
        Deno.removeSync(TEST_OWNED);
      } catch { /* gone */ }
    }
  } finally {
    f.close();
  }
}

/**
 * Make sure a healthy cluster runs (start one if needed) and register this process as a
 * user of it. Idempotent per module instance.
 */
export function ensureCluster(): Promise<ClusterState> {
  ready ??= (async () => {
    const f = lockSync();
    try {
      Deno.mkdirSync(USERS_DIR, { recursive: true });
      userId = `${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
      Deno.writeTextFileSync(`${USERS_DIR}/${userId}`, "");
      globalThis.addEventListener("unload", onUnload);
      if (!(await isHealthy())) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", CLI, "up"],
          stdout: "piped",
          stderr: "piped",
        });
        const out = await child.output();
        const dec = new TextDecoder();
        if (out.code !== 0) {
          throw new Error(`cluster up failed:\n${dec.decode(out.stderr)}${dec.decode(out.stdout)}`);
        }
        Deno.writeTextFileSync(TEST_OWNED, new Date().toISOString());
      }
      const s = readState();
      if (!s) throw new Error("cluster is up but its state file is missing");
      return s;
    } finally {
      f.close();
    }
  })();
  ready.catch(() => ready = undefined);
  return ready;
}

let seq = 0;

/** Run `fn` against the cluster in a fresh namespace, deleted afterwards. */
export async function withCluster<T>(
  fn: (c: Cluster) => Promise<T>,
  opts: WithClusterOptions = {},
): Promise<T> {
  const s = await ensureCluster();
  const caPem = Deno.readTextFileSync(s.caFile);
  const api = new KubeApi({ server: s.server, token: s.token, caPem });
  const rand = crypto.randomUUID().slice(0, 6);
  const namespace = `${opts.namespacePrefix ?? "t"}-${Deno.pid}-${seq++}-${rand}`.toLowerCase()
    .slice(0, 63);
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(KUBECONFIG_PATH);
  const kubectl = async (
    args: string[],
    o: { stdin?: string; check?: boolean; namespace?: string } = {},
  ): Promise<RunResult> =>
    await run(`${K8S_BIN_DIR}/kubectl`, [
      `--kubeconfig=${KUBECONFIG_PATH}`,
      `--namespace=${o.namespace ?? namespace}`,
      ...args,
    ], { stdin: o.stdin, check: o.check ?? true });
  const downed = new Set<string>();
  const setNodeReady = async (name: string, ready: boolean): Promise<void> => {
    await api.mergePatch(`/api/v1/nodes/${name}`, {
      metadata: { annotations: { [SIMULATE_NOT_READY]: ready ? null : "true" } },
    });
    if (ready) downed.delete(name);
    else downed.add(name);
    await waitFor(`node ${name} Ready=${ready}`, async () => {
      const n = await api.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        `/api/v1/nodes/${name}`,
      );
      const st = n.status?.conditions?.find((c) => c.type === "Ready")?.status;
      return st === (ready ? "True" : "False");
    }, 30_000);
  };
  const cluster: Cluster = {
    kubeconfigPath: KUBECONFIG_PATH,
    server: s.server,
    token: s.token,
    caPem,
    kubeconfig,
    api,
    namespace,
    nodes: Array.from({ length: s.nodes }, (_, i) => ({ name: nodeName(i), ip: nodeIP(i) })),
    binDir: K8S_BIN_DIR,
    echoBasic: ECHO_BIN,
    kubectl,
    async apply(yaml: string) {
      await kubectl(["apply", "--server-side", "--field-manager=novaedge-test", "-f", "-"], {
        stdin: yaml,
      });
    },
    setNodeReady,
    async waitForReadyPods(selector: string, count: number, timeoutMs = 120_000) {
      const sel = encodeURIComponent(selector);
      return await waitFor(
        `${count} Ready pod(s) matching ${selector} in ${namespace}`,
        async () => {
          const list = await api.get<{ items: KObj[] }>(
            `/api/v1/namespaces/${namespace}/pods?labelSelector=${sel}`,
          );
          const readyPods = list.items.filter((p) => {
            const st = p.status as { conditions?: { type: string; status: string }[] } | undefined;
            const meta = p.metadata as { deletionTimestamp?: string };
            return !meta.deletionTimestamp &&
              st?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
          });
          return readyPods.length === count ? readyPods : undefined;
        },
        timeoutMs,
        250,
      );
    },
  };
  await api.create("/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: namespace, labels: { "novaedge.io/test-namespace": "true" } },
  });
  try {
    return await fn(cluster);
  } finally {
    for (const name of [...downed]) await setNodeReady(name, true).catch(() => undefined);
    if (!opts.keepNamespace) {
      await api.delete(`/api/v1/namespaces/${namespace}`).catch(() => undefined);
    }
    api.close();
  }
}

/**
 * `Deno.test` for cluster-backed tests: runs `fn` inside {@link withCluster} with the
 * sanitizers that long-lived cluster clients trip over turned off.
 */
export function clusterTest(
  name: string,
  fn: (c: Cluster) => Promise<void>,
  opts: WithClusterOptions & { ignore?: boolean; only?: boolean } = {},
): void {
  Deno.test({
    name,
    ignore: opts.ignore,
    only: opts.only,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withCluster(fn, opts),
  });
}
