/**
 * The `deno task cluster` commands as a user runs them, on a separate cluster instance
 * (NOVAEDGE_CLUSTER_ID 3..9, whichever is free) so they never disturb the shared one: up,
 * env, status, a pod, a crash (every component SIGKILLed, the pod's process left running),
 * then down must remove every leftover process, network namespace and link.
 */
import assert from "node:assert/strict";
import { run, waitFor } from "./exec.ts";

const HOME = Deno.env.get("HOME") ?? "/root";

/**
 * Claim a cluster id no other test process uses (another checkout or engineer may run this
 * test at the same time): an atomic mkdir holding our pid; stale claims of dead pids are taken over.
 */
function claimId(): { id: string; release: () => void } {
  for (let i = 3; i <= 9; i++) {
    const dir = `${HOME}/.cache/novaedge/lifecycle-test-${i}.claim`;
    try {
      Deno.mkdirSync(dir, { recursive: false });
    } catch {
      let owner = 0;
      try {
        owner = Number(Deno.readTextFileSync(`${dir}/pid`));
      } catch { /* being written */ }
      const alive = owner > 0 && (() => {
        try {
          Deno.statSync(`/proc/${owner}`);
          return true;
        } catch {
          return false;
        }
      })();
      if (alive || owner === 0) continue;
      Deno.removeSync(dir, { recursive: true });
      try {
        Deno.mkdirSync(dir);
      } catch {
        continue;
      }
    }
    Deno.writeTextFileSync(`${dir}/pid`, String(Deno.pid));
    return { id: String(i), release: () => Deno.removeSync(dir, { recursive: true }) };
  }
  throw new Error("no free cluster id for the lifecycle test (3..9 all claimed)");
}

// Set when the test starts (so a filtered-out test claims nothing).
let ID = "";
const CLI = new URL("./cli.ts", import.meta.url).pathname;
let STATE = "";
let env: Record<string, string> = {};

function cli(...args: string[]) {
  return run(Deno.execPath(), ["run", "-A", CLI, ...args], { env, check: false });
}

function pidsNaming(fragment: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!(pid > 0)) continue;
    try {
      const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
      const st = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const zombie = st.slice(st.lastIndexOf(")") + 2).startsWith("Z");
      if (!zombie && cmd.includes(fragment)) out.push(pid);
    } catch { /* gone */ }
  }
  return out;
}

async function ourNetns(): Promise<string[]> {
  const r = await run("ip", ["netns", "list"]);
  return r.stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) =>
    n.startsWith(`nv${ID}pod-`)
  );
}

async function ourLinks(): Promise<string[]> {
  const r = await run("ip", ["-o", "link", "show"]);
  return r.stdout.split("\n").map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((n) => n.startsWith(`nv${ID}v`) || n === `novaedge${ID}`);
}

Deno.test({
  name: "cluster CLI: up, env, status, crash leftovers removed by down",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    Deno.mkdirSync(`${HOME}/.cache/novaedge`, { recursive: true });
    const claim = claimId();
    ID = claim.id;
    STATE = `${HOME}/.cache/novaedge/cluster-${ID}`;
    env = { NOVAEDGE_CLUSTER_ID: ID };
    try {
      const up = await cli("up", "--nodes=1");
      assert.equal(up.code, 0, up.stderr);

      // `eval "$(deno task cluster env)"` puts our kubectl first and points at our kubeconfig.
      const sh = await run("bash", [
        "-c",
        `eval "$("${Deno.execPath()}" run -A "${CLI}" env)"; command -v kubectl; echo "$KUBECONFIG"; kubectl get nodes -o name`,
      ], { env });
      const [kubectlPath, kubeconfig, node] = sh.stdout.trim().split("\n");
      assert.match(kubectlPath, /\/\.cache\/novaedge\/k8s\/v[\d.]+\/bin\/kubectl$/);
      assert.equal(kubeconfig, `${STATE}/kubeconfig`);
      assert.equal(node, "node/novaedge-node-0");

      const st = await cli("status");
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.match(st.stdout, /kube-apiserver\s+running/);

      const kubectl = (args: string[], stdin?: string) =>
        run(`${kubectlPath}`, [`--kubeconfig=${kubeconfig}`, ...args], { stdin });
      await kubectl(
        ["apply", "-f", "-"],
        `apiVersion: v1
kind: Pod
metadata: {name: survivor, namespace: default}
spec:
  containers:
  - name: echo
    image: registry.k8s.io/gateway-api/echo-basic:v1.6.1
`,
      );
      await kubectl(["wait", "--for=condition=Ready", "pod/survivor", "--timeout=120s"]);
      assert.equal((await ourNetns()).length, 1);

      // Crash: every component dies at once; the pod's process keeps running in its netns.
      for (const c of ["nodesim", "kube-controller-manager", "kube-apiserver", "etcd"]) {
        const pid = Number(Deno.readTextFileSync(`${STATE}/pids/${c}.pid`).trim());
        Deno.kill(pid, "SIGKILL");
      }
      await waitFor("components dead", () => pidsNaming(`${STATE}/`).length === 0, 10_000);
      assert.equal((await ourNetns()).length, 1, "the crashed pod's namespace is left behind");
      const [ns] = await ourNetns();
      const echo = (await run("ip", ["netns", "pids", ns])).stdout.split(/\s+/).filter(Boolean).map(
        Number,
      );
      assert.ok(echo.length >= 1, "the crashed pod's process is left behind");

      const down = await cli("down");
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(await ourNetns(), []);
      assert.deepEqual(await ourLinks(), []);
      for (const pid of echo) {
        await waitFor(`leftover ${pid} gone`, () => {
          try {
            const st = Deno.readTextFileSync(`/proc/${pid}/stat`);
            return st.slice(st.lastIndexOf(")") + 2).startsWith("Z");
          } catch {
            return true;
          }
        }, 10_000);
      }
      assert.deepEqual(pidsNaming(`${STATE}/`), []);
      assert.deepEqual(pidsNaming(`/dev/shm/novaedge-cluster-${ID}/`), []);
      assert.notEqual((await cli("status")).code, 0);
    } finally {
      await cli("down");
      claim.release();
    }
  },
});
