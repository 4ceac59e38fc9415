/**
 * Propagation latency on the local cluster: a ProxyRoute created through the
 * API server → the controller's informer → pure pipeline → per-node snapshot →
 * gRPC → agent apply → the agent answers for the new route. Measured at 10,
 * 1,000 and 10,000 existing routes (p50 / p99), with the controller's and the
 * agent's resident memory at each size.
 *
 *   deno run -A --unstable-net bench/propagation.ts [--sizes 10,1000,10000] [--samples 30]
 *
 * Prints a Markdown table and writes bench/results/propagation.json.
 */
import { withCluster } from "../tests/cluster/mod.ts";
import { freePort, getVia, NovaProc } from "../tests/controller/_procs.ts";

const args = new Map<string, string>();
for (let i = 0; i < Deno.args.length; i += 2) {
  args.set(Deno.args[i].replace(/^--/, ""), Deno.args[i + 1]);
}
const SIZES = (args.get("sizes") ?? "10,1000,10000").split(",").map(Number);
const SAMPLES = Number(args.get("samples") ?? 30);

interface Result {
  routes: number;
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  initialSyncMs: number;
  controllerRssMiB: number;
  agentRssMiB: number;
}

function rssMiB(pid: number): number {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+) kB/.exec(s);
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function routeObj(ns: string, name: string, host: string): Record<string, unknown> {
  return {
    apiVersion: "novaedge.io/v1alpha1",
    kind: "ProxyRoute",
    metadata: { name, namespace: ns },
    spec: {
      parentRefs: [{ name: "edge" }],
      hostnames: [host],
      rules: [{ backendRefs: [{ name: "echo" }] }],
    },
  };
}

/** Wait (bounded) until the agent answers 200 for `host`; returns ms since `t0`. */
async function servedAfter(
  port: number,
  host: string,
  t0: number,
  limitMs: number,
): Promise<number> {
  while (performance.now() - t0 < limitMs) {
    try {
      const r = await getVia(port, host, "/");
      if (r.status === 200) return performance.now() - t0;
    } catch {
      // listener not up yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${host} not served within ${limitMs} ms`);
}

async function runSize(n: number): Promise<Result> {
  return await withCluster(async (c) => {
    const dir = await Deno.makeTempDir({ prefix: "novaedge-bench-" });
    const echo = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("ok"),
    );
    const procs: NovaProc[] = [];
    try {
      const ns = c.namespace;
      const gwPort = freePort();
      const base = `/apis/novaedge.io/v1alpha1/namespaces/${ns}`;
      await c.api.create(`${base}/proxygateways`, {
        apiVersion: "novaedge.io/v1alpha1",
        kind: "ProxyGateway",
        metadata: { name: "edge", namespace: ns },
        spec: { listeners: [{ name: "http", port: gwPort, protocol: "HTTP" }] },
      });
      await c.api.create(`${base}/proxybackends`, {
        apiVersion: "novaedge.io/v1alpha1",
        kind: "ProxyBackend",
        metadata: { name: "echo", namespace: ns },
        spec: { endpoints: [{ address: "127.0.0.1", port: echo.addr.port }] },
      });
      // The existing routes, created in parallel batches.
      for (let i = 0; i < n; i += 50) {
        await Promise.all(
          Array.from(
            { length: Math.min(50, n - i) },
            (_, j) =>
              c.api.create(
                `${base}/proxyroutes`,
                routeObj(ns, `r${i + j}`, `r${i + j}.bench.test`),
              ),
          ),
        );
      }
      await c.kubectl(["create", "serviceaccount", "novaedge-agent"]);
      const grpcPort = freePort();
      const t0 = performance.now();
      const ctl = new NovaProc(
        "ctl",
        [
          "controller",
          `--kubeconfig=${c.kubeconfigPath}`,
          `--namespace=${ns}`,
          `--listen=127.0.0.1:${grpcPort}`,
          `--admin-address=127.0.0.1:${freePort()}`,
          "--id=bench",
          `--lease-name=bench-${ns}`,
          "--log-level=warn",
        ],
        {},
        dir,
      );
      procs.push(ctl);
      let ca = "";
      for (let i = 0; i < 600 && !ca; i++) {
        const r = await c.kubectl([
          "get",
          "configmap",
          "novaedge-controller-ca",
          "-o",
          "jsonpath={.data.ca\\.crt}",
        ], { check: false });
        if (r.code === 0) ca = r.stdout;
        else await new Promise((r) => setTimeout(r, 100));
      }
      const token =
        (await c.kubectl(["create", "token", "novaedge-agent", "--audience=novaedge-controller"]))
          .stdout.trim();
      await Deno.writeTextFile(`${dir}/ca.crt`, ca);
      await Deno.writeTextFile(`${dir}/token`, token);
      const agent = new NovaProc(
        "agent",
        [
          "agent",
          `--controller=127.0.0.1:${grpcPort}`,
          "--node=novaedge-node-0",
          `--state-dir=${dir}/state`,
          `--admin-address=127.0.0.1:${freePort()}`,
          "--log-level=warn",
          `--controller-ca=${dir}/ca.crt`,
          `--token-file=${dir}/token`,
        ],
        {},
        dir,
      );
      procs.push(agent);
      const initialSyncMs = await servedAfter(gwPort, `r${n - 1}.bench.test`, t0, 600_000);

      const lat: number[] = [];
      for (let k = 0; k < SAMPLES; k++) {
        const host = `new${k}.bench.test`;
        const t = performance.now();
        await c.api.create(`${base}/proxyroutes`, routeObj(ns, `new${k}`, host));
        lat.push(await servedAfter(gwPort, host, t, 120_000));
      }
      const result: Result = {
        routes: n,
        samples: lat.length,
        p50Ms: Math.round(pct(lat, 50)),
        p99Ms: Math.round(pct(lat, 99)),
        maxMs: Math.round(Math.max(...lat)),
        initialSyncMs: Math.round(initialSyncMs),
        controllerRssMiB: rssMiB(ctl.pid),
        agentRssMiB: rssMiB(agent.pid),
      };
      console.error(JSON.stringify(result));
      return result;
    } finally {
      for (const p of procs) await p.stop();
      await echo.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }, { namespacePrefix: "bench" });
}

const results: Result[] = [];
for (const n of SIZES) results.push(await runSize(n));

console.log(
  "| routes | samples | p50 (ms) | p99 (ms) | max (ms) | initial sync (ms) | controller RSS (MiB) | agent RSS (MiB) |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
  console.log(
    `| ${r.routes} | ${r.samples} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.initialSyncMs} | ${r.controllerRssMiB} | ${r.agentRssMiB} |`,
  );
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/propagation.json", import.meta.url),
  JSON.stringify({ at: new Date().toISOString(), results }, null, 2) + "\n",
);
Deno.exit(0);
