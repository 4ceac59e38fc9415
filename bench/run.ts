/**
 * Side-by-side proxy benchmark: the same backend behind nginx (1 worker,
 * upstream keepalive), HAProxy (1 thread, http-reuse always), NovaEdge, and
 * direct. For each: req/s, p50/p99 latency, the proxy's CPU-seconds per 100k
 * requests and its peak RSS, plus ratios against nginx. Writes a markdown
 * table to bench/results/<timestamp>.md and prints it.
 *
 *   deno task bench [--duration 10] [--connections 64] [--only nginx,novaedge]
 *
 * Every load is bounded by --duration; everything runs on 127.0.0.1.
 */
import { parseFlags } from "../src/cli/flags.ts";
import { h2loadPercentiles } from "./profile/proc.ts";
import { nginxConf } from "./nginx_conf.ts";

const { flags } = parseFlags(Deno.args, [
  { name: "duration", kind: "number", help: "seconds per load", default: 10 },
  { name: "connections", kind: "number", help: "client connections", default: 64 },
  { name: "only", kind: "string", help: "comma-separated subset of proxies" },
  { name: "workers", kind: "number", help: "NovaEdge workers", default: 1 },
]);
const duration = flags.duration as number;
const connections = flags.connections as number;
const only = typeof flags.only === "string" ? new Set(flags.only.split(",")) : null;

const root = new URL("..", import.meta.url).pathname;
const work = await Deno.makeTempDir({ prefix: "novaedge-bench-" });
const BACKEND = 18080;
const GRPC_BACKEND = 18085;
const GHZ = `${Deno.env.get("HOME")}/.cache/novaedge/gotools/bin/ghz`;
const PORTS = { nginx: 18081, haproxy: 18082, novaedge: 18083 } as const;
const H2PORTS = { nginx: 18091, haproxy: 18092, novaedge: 18083 } as const;
type ProxyName = "direct" | keyof typeof PORTS;

async function need(bin: string, pkg: string): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", `command -v ${bin}`], stdout: "null" })
    .output();
  if (!r.success) {
    throw new Error(
      `${bin} is not installed: apt-get install ${pkg} (or run scripts/install_deps.sh ${pkg})`,
    );
  }
}

function spawn(cmd: string, args: string[], env?: Record<string, string>): Deno.ChildProcess {
  return new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).spawn();
}

async function waitPort(port: number, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not open 127.0.0.1:${port} within 10s`);
}

/** CPU seconds (user+sys) of a process and all its descendants. */
async function cpuSeconds(pid: number): Promise<number> {
  const tick = 100; // USER_HZ on Linux
  let total = 0;
  const seen = new Set<number>();
  const visit = async (p: number) => {
    if (seen.has(p)) return;
    seen.add(p);
    try {
      const stat = await Deno.readTextFile(`/proc/${p}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / tick;
      const kids = await Deno.readTextFile(`/proc/${p}/task/${p}/children`).catch(() => "");
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) await visit(Number(k));
    } catch { /* exited */ }
  };
  await visit(pid);
  return total;
}

/** Peak RSS in MiB of a process tree (VmHWM summed). */
async function peakRssMiB(pid: number): Promise<number> {
  let kb = 0;
  const visit = async (p: number) => {
    try {
      const st = await Deno.readTextFile(`/proc/${p}/status`);
      kb += Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0);
      const kids = await Deno.readTextFile(`/proc/${p}/task/${p}/children`).catch(() => "");
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) await visit(Number(k));
    } catch { /* exited */ }
  };
  await visit(pid);
  return kb / 1024;
}

interface LoadResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  requests: number;
  errors: number;
}

function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60000 : n;
}

async function wrk(url: string): Promise<LoadResult> {
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${connections}`, `-d${duration}s`, "--latency", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const lat = (pct: string) => {
    const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s|m)`).exec(text);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0),
    p50ms: lat("50"),
    p99ms: lat("99"),
    requests,
    errors,
  };
}

async function h2load(url: string): Promise<LoadResult> {
  // Per-request log: h2load's summary has no percentiles.
  const log = await Deno.makeTempFile({ dir: work, prefix: "h2load-" });
  const out = await new Deno.Command("h2load", {
    args: [
      "-D",
      String(duration),
      "-c",
      String(Math.min(connections, 16)),
      "-m",
      "10",
      "-t",
      "2",
      `--log-file=${log}`,
      url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored/
      .exec(text);
  const done = Number(m?.[2] ?? 0);
  const [p50, p99] = await h2loadPercentiles(log, [50, 99]);
  await Deno.remove(log).catch(() => {});
  return {
    rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(text)?.[1] ?? 0),
    p50ms: p50,
    p99ms: p99,
    requests: done,
    errors: Number(m?.[4] ?? 0) + Number(m?.[5] ?? 0),
  };
}

interface GhzReport {
  count: number;
  rps: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution?: Record<string, number>;
}

async function ghz(target: string): Promise<LoadResult> {
  const out = await new Deno.Command(GHZ, {
    args: [
      "--insecure",
      "--import-paths",
      `${root}bench`,
      "--proto",
      "echo.proto",
      "--call",
      "bench.Echo.Say",
      "-d",
      '{"msg":"hello"}',
      "-z",
      `${duration}s`,
      "-c",
      String(Math.min(connections, 32)),
      "--connections",
      "4",
      "-O",
      "json",
      target,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as GhzReport;
  const pct = (p: number) =>
    (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const ok = r.statusCodeDistribution?.["OK"] ?? 0;
  return { rps: r.rps, p50ms: pct(50), p99ms: pct(99), requests: r.count, errors: r.count - ok };
}

async function startNginx(): Promise<Deno.ChildProcess> {
  const dir = `${work}/nginx`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    nginxConf({
      dir,
      listens: [`127.0.0.1:${PORTS.nginx}`, `127.0.0.1:${H2PORTS.nginx} http2`],
      backendPort: BACKEND,
      grpcBackendPort: GRPC_BACKEND,
    }),
  );
  const p = spawn("nginx", ["-c", `${dir}/nginx.conf`, "-p", dir]);
  await waitPort(PORTS.nginx, "nginx");
  return p;
}

async function startHaproxy(): Promise<Deno.ChildProcess> {
  const dir = `${work}/haproxy`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/haproxy.cfg`,
    `global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${PORTS.haproxy}
  bind 127.0.0.1:${H2PORTS.haproxy} proto h2
  use_backend grpc if { path_beg /bench.Echo/ }
  default_backend be
backend be
  server s1 127.0.0.1:${BACKEND}
backend grpc
  server g1 127.0.0.1:${GRPC_BACKEND} proto h2
`,
  );
  const p = spawn("haproxy", ["-db", "-f", `${dir}/haproxy.cfg`]);
  await waitPort(PORTS.haproxy, "haproxy");
  return p;
}

async function startNovaedge(): Promise<Deno.ChildProcess> {
  const dir = `${work}/novaedge`;
  await Deno.mkdir(dir, { recursive: true });
  const tpl = await Deno.readTextFile(`${root}bench/novaedge.yaml`);
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    tpl.replaceAll("${PORT}", String(PORTS.novaedge)).replaceAll("${BACKEND}", String(BACKEND))
      .replaceAll("${GRPC_BACKEND}", String(GRPC_BACKEND)),
  );
  const p = spawn(Deno.execPath(), [
    "run",
    "-A",
    "--unstable-net",
    `${root}src/main.ts`,
    "agent",
    "--config-dir",
    dir,
    "--admin-address",
    "127.0.0.1:0",
    "--log-level",
    "warn",
    "--workers",
    String(flags.workers),
  ]);
  await waitPort(PORTS.novaedge, "novaedge agent");
  return p;
}

interface Row {
  scenario: string;
  proxy: ProxyName;
  load: LoadResult;
  cpuPer100k: number;
  rssMiB: number;
}

const rows: Row[] = [];
const procs: Deno.ChildProcess[] = [];
try {
  await need("wrk", "wrk");
  await need("h2load", "nghttp2-client");
  await need("nginx", "nginx-light");
  await need("haproxy", "haproxy");
  const backend = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", `${root}bench/backend.ts`, String(BACKEND)],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  procs.push(backend);
  await waitPort(BACKEND, "backend");
  const grpcBackend = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}bench/grpc_backend.ts`, String(GRPC_BACKEND)],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  procs.push(grpcBackend);
  await waitPort(GRPC_BACKEND, "gRPC backend");
  const haveGhz = await Deno.stat(GHZ).then(() => true, () => false);
  if (!haveGhz) console.error(`no gRPC rows: ${GHZ} is missing (run scripts/install_gotools.sh)`);

  const starters: Record<Exclude<ProxyName, "direct">, () => Promise<Deno.ChildProcess>> = {
    nginx: startNginx,
    haproxy: startHaproxy,
    novaedge: startNovaedge,
  };
  const names: ProxyName[] = ["direct", "nginx", "haproxy", "novaedge"];
  for (const name of names) {
    if (only && !only.has(name)) continue;
    let proc: Deno.ChildProcess | null = null;
    try {
      if (name !== "direct") {
        proc = await starters[name]();
        procs.push(proc);
      }
      const port = name === "direct" ? BACKEND : PORTS[name];
      const pid = proc?.pid ?? backend.pid;
      const scenarios: [string, () => Promise<LoadResult>][] = [
        ["HTTP/1.1 small", () => wrk(`http://127.0.0.1:${port}/`)],
        ["HTTP/1.1 64 KiB", () => wrk(`http://127.0.0.1:${port}/64k`)],
      ];
      if (name !== "direct") {
        scenarios.push(["HTTP/2 (h2c) small", () => h2load(`http://127.0.0.1:${H2PORTS[name]}/`)]);
      }
      if (haveGhz) {
        const target = `127.0.0.1:${name === "direct" ? GRPC_BACKEND : H2PORTS[name]}`;
        scenarios.push(["gRPC unary", () => ghz(target)]);
      }
      for (const [scenario, fn] of scenarios) {
        // Warm up briefly so pools and JITs are in steady state.
        await (scenario.startsWith("HTTP/2")
          ? Promise.resolve()
          : wrkWarm(`http://127.0.0.1:${port}/`));
        const measured = name === "direct" && scenario.startsWith("gRPC") ? grpcBackend.pid : pid;
        const before = await cpuSeconds(measured);
        const load = await fn();
        const after = await cpuSeconds(measured);
        const cpuPer100k = load.requests > 0 ? ((after - before) / load.requests) * 100_000 : NaN;
        rows.push({ scenario, proxy: name, load, cpuPer100k, rssMiB: await peakRssMiB(measured) });
        console.error(
          `${scenario.padEnd(20)} ${name.padEnd(9)} ${load.rps.toFixed(0).padStart(8)} req/s  p99 ${
            load.p99ms.toFixed(2)
          } ms  cpu/100k ${cpuPer100k.toFixed(2)} s  errors ${load.errors}`,
        );
      }
    } catch (err) {
      console.error(`${name}: ${(err as Error).message}`);
    } finally {
      if (proc) {
        try {
          proc.kill("SIGTERM");
        } catch { /* gone */ }
        await proc.status;
      }
    }
  }
} finally {
  for (const p of procs) {
    try {
      p.kill("SIGTERM");
    } catch { /* already gone */ }
  }
}

async function wrkWarm(url: string): Promise<void> {
  await new Deno.Command("wrk", {
    args: ["-t1", "-c8", "-d1s", url],
    stdout: "null",
    stderr: "null",
  })
    .output();
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const lines = [
  `# NovaEdge benchmark (${new Date().toISOString()})`,
  "",
  `wrk -t2 -c${connections} -d${duration}s (HTTP/1.1 keep-alive); h2load -c16 -m10 (h2c); ` +
  "ghz -c32 over 4 connections (gRPC unary, h2c). " +
  "Same backend, same run, 127.0.0.1, 2 cores. CPU-s/100k counts only the proxy's processes.",
  "",
  "| scenario | proxy | req/s | p50 ms | p99 ms | CPU-s / 100k req | CPU vs nginx | p99 vs nginx | peak RSS MiB | errors |",
  "|---|---|---|---|---|---|---|---|---|---|",
];
for (const r of rows) {
  const ng = rows.find((x) => x.scenario === r.scenario && x.proxy === "nginx");
  const cpuRatio = ng && r.proxy !== "direct" ? r.cpuPer100k / ng.cpuPer100k : NaN;
  const p99Ratio = ng ? r.load.p99ms / ng.load.p99ms : NaN;
  lines.push(
    `| ${r.scenario} | ${r.proxy} | ${r.load.rps.toFixed(0)} | ${fmt(r.load.p50ms)} | ${
      fmt(r.load.p99ms)
    } | ${fmt(r.cpuPer100k)} | ${fmt(cpuRatio)} | ${fmt(p99Ratio)} | ${
      fmt(r.rssMiB, 1)
    } | ${r.load.errors} |`,
  );
}
lines.push(
  "",
  "HTTP/2 percentiles come from h2load's per-request log (--log-file).",
  "For `direct`, CPU and RSS are the backend's own.",
);
const table = lines.join("\n") + "\n";
await Deno.mkdir(`${root}bench/results`, { recursive: true });
const file = `${root}bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.md`;
await Deno.writeTextFile(file, table);
console.log(table);
console.error(`written to ${file}`);
await Deno.remove(work, { recursive: true });
