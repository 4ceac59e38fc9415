/**
 * Same-run interleaved A/B for HTTP/2: h2c small responses (h2load) and gRPC
 * unary (ghz) through each variant in turn, several rounds, against shared
 * backends; prints per-round and median CPU-seconds per 100k requests, req/s
 * and p50/p99 per variant and scenario. nginx (1 worker, http2 listener,
 * grpc_pass) is the yardstick with --nginx.
 *
 *   deno run -A bench/profile/ab_h2.ts --rounds 3 --duration 5 --nginx \
 *     --variant base=/tmp/abA/src/main.ts --variant new=src/main.ts \
 *     [--variant node=src/main.ts,NOVAEDGE_H2_ENGINE=node] [--only h2c|grpc]
 *
 * A variant is `name=<main.ts>[,ENV=value...]` (copy src/ + deno.json to
 * compare against the code before a change). Ports 1848x, so it can run next
 * to ab.ts (1838x).
 */
import { agentArgs, cpuSeconds, GHZ, ghzArgs, h2loadPercentiles, waitPort } from "./proc.ts";
import { nginxConf } from "../nginx_conf.ts";

const args = Deno.args;
const variants: { name: string; main: string; env: Record<string, string> }[] = [];
let rounds = 3;
let duration = 5;
let withNginx = false;
let only = "";
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--variant") {
    const [name, rest] = args[++i].split(/=(.*)/s);
    const [main, ...envs] = rest.split(",");
    const env: Record<string, string> = {};
    for (const e of envs) {
      const [k, v] = e.split("=");
      env[k] = v;
    }
    variants.push({ name, main, env });
  } else if (a === "--rounds") rounds = Number(args[++i]);
  else if (a === "--duration") duration = Number(args[++i]);
  else if (a === "--nginx") withNginx = true;
  else if (a === "--only") only = args[++i];
}
const root = new URL("../..", import.meta.url).pathname;
const BACKEND = 18480;
const GRPC_BACKEND = 18485;
const PORT = 18483;

interface Load {
  n: number;
  errors: number;
  p50: number;
  p99: number;
}

/** h2load with a per-request log, so p50/p99 are real percentiles. */
async function h2load(secs: number, conns = 16): Promise<Load> {
  const log = await Deno.makeTempFile({ prefix: "novaedge-h2load-" });
  const out = await new Deno.Command("h2load", {
    args: [
      "-D",
      String(secs),
      "-c",
      String(conns),
      "-m",
      "10",
      "-t",
      "2",
      `--log-file=${log}`,
      `http://127.0.0.1:${PORT}/`,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m =
    /requests: \d+ total, \d+ started, (\d+) done, \d+ succeeded, (\d+) failed, (\d+) errored/
      .exec(text);
  const [p50, p99] = await h2loadPercentiles(log, [50, 99]);
  await Deno.remove(log).catch(() => {});
  return {
    n: Number(m?.[1] ?? 0),
    errors: Number(m?.[2] ?? 0) + Number(m?.[3] ?? 0),
    p50,
    p99,
  };
}

async function ghz(secs: number): Promise<Load> {
  const out = await new Deno.Command(GHZ, {
    args: ghzArgs(`127.0.0.1:${PORT}`, secs, 32, true),
    stdout: "piped",
    stderr: "null",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    count: number;
    latencyDistribution: { percentage: number; latency: number }[] | null;
    statusCodeDistribution?: Record<string, number>;
  };
  const pct = (p: number) =>
    (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const ok = r.statusCodeDistribution?.["OK"] ?? 0;
  return { n: ok, errors: r.count - ok, p50: pct(50), p99: pct(99) };
}

const work = await Deno.makeTempDir({ prefix: "novaedge-abh2-" });
const tpl = await Deno.readTextFile(`${root}bench/novaedge.yaml`);
await Deno.writeTextFile(
  `${work}/config.yaml`,
  tpl.replaceAll("${PORT}", String(PORT)).replaceAll("${BACKEND}", String(BACKEND))
    .replaceAll("${GRPC_BACKEND}", String(GRPC_BACKEND)),
);
await Deno.writeTextFile(
  `${work}/nginx.conf`,
  nginxConf({
    dir: work,
    listens: [`127.0.0.1:${PORT} http2`],
    backendPort: BACKEND,
    grpcBackendPort: GRPC_BACKEND,
  }),
);
const backend = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net", `${root}bench/backend.ts`, String(BACKEND)],
  stdout: "null",
}).spawn();
// The gRPC backend (grpc-js under Deno) has been seen to abort ("free():
// invalid pointer") when a proxy is killed under load: one per variant run.
const startGrpc = () =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}bench/grpc_backend.ts`, String(GRPC_BACKEND)],
    stdout: "null",
    stderr: "null",
  }).spawn();
let grpcBackend = startGrpc();
const all = withNginx ? [{ name: "nginx", main: "", env: {} }, ...variants] : variants;
const scenarios: [string, (s: number) => Promise<Load>][] = [];
if (only !== "grpc") scenarios.push(["h2c", (s) => h2load(s)]);
if (only !== "h2c") scenarios.push(["grpc", (s) => ghz(s)]);
const results = new Map<
  string,
  { cpu: number; user: number; rps: number; p50: number; p99: number }[]
>();
try {
  await waitPort(BACKEND);
  await waitPort(GRPC_BACKEND);
  for (let round = 0; round < rounds; round++) {
    for (const v of all) {
      try {
        grpcBackend.kill("SIGTERM");
      } catch { /* already gone */ }
      await grpcBackend.status;
      grpcBackend = startGrpc();
      await waitPort(GRPC_BACKEND);
      const proc = v.name === "nginx"
        ? new Deno.Command("nginx", {
          args: ["-c", `${work}/nginx.conf`, "-p", work],
          stdout: "null",
          stderr: "null",
        }).spawn()
        : new Deno.Command(Deno.execPath(), {
          args: agentArgs(v.main, work),
          env: v.env,
          stdout: "null",
          stderr: "null",
        }).spawn();
      try {
        await waitPort(PORT);
        for (const [sc, fn] of scenarios) {
          await fn(1);
          const before = await cpuSeconds(proc.pid);
          const r = await fn(duration);
          const after = await cpuSeconds(proc.pid);
          const cpu = (after[0] - before[0]) / r.n * 100_000;
          const user = (after[1] - before[1]) / r.n * 100_000;
          const key = `${sc} ${v.name}`;
          const list = results.get(key) ?? [];
          list.push({ cpu, user, rps: r.n / duration, p50: r.p50, p99: r.p99 });
          results.set(key, list);
          console.log(
            `round ${round + 1} ${key.padEnd(16)} ${
              (r.n / duration).toFixed(0).padStart(6)
            } req/s` +
              `  cpu/100k ${cpu.toFixed(2)} s (user ${user.toFixed(2)})  p50 ${r.p50.toFixed(2)}` +
              ` p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`,
          );
        }
      } finally {
        proc.kill("SIGTERM");
        await proc.status;
      }
    }
  }
} finally {
  for (const p of [backend, grpcBackend]) {
    try {
      p.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await backend.status;
  await grpcBackend.status;
  await Deno.remove(work, { recursive: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log("\nmedian over rounds:");
for (const [key, list] of results) {
  const m = (f: (x: (typeof list)[0]) => number) => median(list.map(f));
  console.log(
    `${key.padEnd(16)} ${m((x) => x.rps).toFixed(0).padStart(6)} req/s  cpu/100k ${
      m((x) => x.cpu).toFixed(2)
    } s  user ${m((x) => x.user).toFixed(2)} s  p50 ${m((x) => x.p50).toFixed(2)}  p99 ${
      m((x) => x.p99).toFixed(2)
    } ms`,
  );
}
