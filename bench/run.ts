/**
 * Side-by-side proxy benchmark: the same backend behind nginx (1 worker,
 * upstream keepalive), HAProxy (1 thread, http-reuse always), NovaEdge, and
 * direct. For each: req/s, p50/p99 latency, the proxy's CPU-seconds per 100k
 * requests and its peak RSS, plus ratios against nginx. Writes a markdown
 * table to bench/results/<timestamp>.md and prints it.
 *
 *   deno task bench [--duration 10] [--rounds 3] [--connections 64]
 *                   [--only nginx,novaedge] [--workers 1]
 *
 * Why rounds: on a shared machine CPU time per request follows the box's load,
 * so proxies measured one after the other are not comparable (ratios vs nginx
 * moved between 1.1× and 2.1× for the same code within ten minutes). Each
 * scenario therefore runs in rounds, and each round measures every proxy in
 * turn (nginx, haproxy, novaedge, direct): a fresh proxy process, a 1 s
 * warm-up with the same load, then the measured load. The table reports
 * medians over rounds, and ratios vs nginx are the median of per-round ratios
 * (each against the same round's nginx, measured seconds earlier), with their
 * min–max spread so the noise is visible.
 *
 * Runtime: about rounds × loads × (duration + 1.5 s: warm-up, process start
 * and stop): 17 loads per round (4 scenarios × 3 proxies, 3 direct, 2
 * deno-relay), so the default (--duration 10 --rounds 3) takes ≈ 10 minutes
 * (measured 9m33s) and `--duration 1 --rounds 2` ≈ 1 minute.
 *
 * The markdown (medians, ratios, spread) is built by bench/run_report.ts.
 *
 * Every load is bounded by --duration; everything runs on 127.0.0.1.
 */
import { formatFlags, parseFlags, UsageError } from "../src/cli/flags.ts";
import type { FlagSpec } from "../src/cli/flags.ts";
import {
  agentArgs,
  cpuSeconds,
  ensureFree,
  GHZ,
  ghzArgs,
  h2loadPercentiles,
  toMs,
  waitPort,
} from "./profile/proc.ts";
import { nginxConf } from "./nginx_conf.ts";
import { renderReport } from "./run_report.ts";
import type { LoadResult, ProxyName, Sample } from "./run_report.ts";

const SPECS: FlagSpec[] = [
  { name: "duration", kind: "number", help: "seconds per measured load", default: 10 },
  { name: "rounds", kind: "number", help: "interleaved rounds per scenario", default: 3 },
  { name: "connections", kind: "number", help: "client connections", default: 64 },
  {
    name: "only",
    kind: "string",
    help: "comma-separated subset of nginx,haproxy,novaedge,direct",
  },
  { name: "workers", kind: "number", help: "NovaEdge workers", default: 1 },
];
const usage = `usage: deno task bench [flags]\n${formatFlags(SPECS)}`;

/** Order within a round (also the table's order). */
const ORDER: readonly ProxyName[] = ["nginx", "haproxy", "novaedge", "deno-relay", "direct"];

function parseArgs() {
  try {
    const { flags, help } = parseFlags(Deno.args, SPECS);
    if (help) {
      console.log(usage);
      Deno.exit(0);
    }
    const duration = flags.duration as number;
    const rounds = flags.rounds as number;
    const connections = flags.connections as number;
    const workers = flags.workers as number;
    if (!(duration >= 1) || !Number.isInteger(duration)) {
      throw new UsageError("--duration takes whole seconds ≥ 1");
    }
    if (!(rounds >= 1) || !Number.isInteger(rounds)) throw new UsageError("--rounds takes ≥ 1");
    if (!(connections >= 1)) throw new UsageError("--connections takes ≥ 1");
    const only = typeof flags.only === "string" ? flags.only.split(",").filter(Boolean) : null;
    for (const n of only ?? []) {
      if (!ORDER.includes(n as ProxyName)) {
        throw new UsageError(`--only: unknown proxy "${n}" (${ORDER.join(", ")})`);
      }
    }
    const proxies = ORDER.filter((p) => !only || only.includes(p));
    return { duration, rounds, connections, workers, proxies };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${usage}`);
    Deno.exit(2);
  }
}
const { duration, rounds, connections, workers, proxies } = parseArgs();

const root = new URL("..", import.meta.url).pathname;
const BACKEND = 18080;
const GRPC_BACKEND = 18085;
const PORTS = { nginx: 18081, haproxy: 18082, novaedge: 18083, "deno-relay": 18084 } as const;
// deno-relay speaks HTTP/1.1 only: its "h2" port is its one port (no HTTP/2 scenario runs it).
const H2PORTS = { nginx: 18091, haproxy: 18092, novaedge: 18083, "deno-relay": 18084 } as const;
type Proxy = keyof typeof PORTS;

async function need(bin: string, pkg: string): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", `command -v ${bin}`], stdout: "null" })
    .output();
  if (!r.success) {
    throw new Error(
      `${bin} is not installed: apt-get install ${pkg} (or run scripts/install_deps.sh ${pkg})`,
    );
  }
}

/** A child whose stderr is drained (a full pipe would stall it) keeping the last 4 KiB for errors. */
interface Child {
  readonly proc: Deno.ChildProcess;
  stderrTail(): string;
}

function spawn(cmd: string, args: string[], env?: Record<string, string>): Child {
  const proc = new Deno.Command(cmd, { args, env, stdout: "null", stderr: "piped" }).spawn();
  let tail = "";
  const dec = new TextDecoder();
  (async () => {
    for await (const chunk of proc.stderr) tail = (tail + dec.decode(chunk)).slice(-4096);
  })().catch(() => {});
  return { proc, stderrTail: () => tail.trim() };
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function stop(proc: Deno.ChildProcess): Promise<void> {
  const kill = (sig: Deno.Signal) => {
    try {
      proc.kill(sig);
    } catch { /* already gone */ }
  };
  kill("SIGTERM");
  const t = setTimeout(() => kill("SIGKILL"), 5000);
  await proc.status;
  clearTimeout(t);
}

/** Peak RSS in MiB of a process tree (VmHWM summed). */
async function peakRssMiB(pid: number): Promise<number> {
  let kb = 0;
  const visit = async (p: number) => {
    const st = await Deno.readTextFile(`/proc/${p}/status`).catch(() => "");
    kb += Number(/VmHWM:\s+(\d+)/.exec(st)?.[1] ?? 0);
    const kids = await Deno.readTextFile(`/proc/${p}/task/${p}/children`).catch(() => "");
    for (const k of kids.trim().split(/\s+/).filter(Boolean)) await visit(Number(k));
  };
  await visit(pid);
  return kb / 1024;
}

async function wrk(url: string, secs: number): Promise<LoadResult> {
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${connections}`, `-d${secs}s`, "--latency", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const lat = (pct: string) => {
    const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)\\b`).exec(text);
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

async function h2load(url: string, secs: number): Promise<LoadResult> {
  // Per-request log: h2load's summary has no percentiles.
  const log = await Deno.makeTempFile({ dir: work, prefix: "h2load-" });
  const out = await new Deno.Command("h2load", {
    args: [
      "-D",
      String(secs),
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

async function ghz(target: string, secs: number): Promise<LoadResult> {
  const out = await new Deno.Command(GHZ, {
    args: ghzArgs(target, secs, Math.min(connections, 32), true),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout)) as GhzReport;
  const pct = (p: number) =>
    (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? NaN) / 1e6;
  const statuses = { ...r.statusCodeDistribution };
  const ok = statuses["OK"] ?? 0;
  delete statuses["OK"];
  return {
    rps: r.rps,
    p50ms: pct(50),
    p99ms: pct(99),
    requests: r.count,
    errors: r.count - ok,
    statuses,
  };
}

const work = await Deno.makeTempDir({ prefix: "novaedge-bench-" });

async function writeConfigs(): Promise<void> {
  await Deno.mkdir(`${work}/nginx`);
  await Deno.writeTextFile(
    `${work}/nginx/nginx.conf`,
    nginxConf({
      dir: `${work}/nginx`,
      listens: [`127.0.0.1:${PORTS.nginx}`, `127.0.0.1:${H2PORTS.nginx} http2`],
      backendPort: BACKEND,
      grpcBackendPort: GRPC_BACKEND,
    }),
  );
  await Deno.writeTextFile(
    `${work}/haproxy.cfg`,
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
  await Deno.mkdir(`${work}/novaedge`);
  const tpl = await Deno.readTextFile(`${root}bench/novaedge.yaml`);
  await Deno.writeTextFile(
    `${work}/novaedge/config.yaml`,
    tpl.replaceAll("${PORT}", String(PORTS.novaedge)).replaceAll("${BACKEND}", String(BACKEND))
      .replaceAll("${GRPC_BACKEND}", String(GRPC_BACKEND)),
  );
}

/** Starts a fresh proxy and waits until both its ports accept connections. */
async function startProxy(name: Proxy): Promise<Child> {
  for (const port of new Set([PORTS[name], H2PORTS[name]])) await ensureFree(port);
  const child = name === "nginx"
    ? spawn("nginx", ["-c", `${work}/nginx/nginx.conf`, "-p", `${work}/nginx`])
    : name === "haproxy"
    ? spawn("haproxy", ["-db", "-f", `${work}/haproxy.cfg`])
    : name === "deno-relay"
    ? spawn(Deno.execPath(), [
      "run",
      "--allow-net",
      "--allow-env",
      `${root}bench/profile/bare_relay.ts`,
    ], {
      AB_PORT: String(PORTS["deno-relay"]),
      AB_BACKEND: String(BACKEND),
    })
    : spawn(
      Deno.execPath(),
      agentArgs(`${root}src/main.ts`, `${work}/novaedge`, [], workers),
    );
  try {
    for (const port of new Set([PORTS[name], H2PORTS[name]])) await waitPort(port);
  } catch (err) {
    await stop(child.proc);
    throw new Error(`${name} did not start: ${(err as Error).message}\n${child.stderrTail()}`);
  }
  return child;
}

/** The shared backends; the gRPC one is restarted when it has died (grpc-js under Deno has aborted when a proxy went away). */
class Backends {
  http!: Deno.ChildProcess;
  grpc!: Deno.ChildProcess;
  #grpcAlive = false;

  async start(): Promise<void> {
    await ensureFree(BACKEND);
    await ensureFree(GRPC_BACKEND);
    this.http = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", `${root}bench/backend.ts`, String(BACKEND)],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    await waitPort(BACKEND);
    await this.ensureGrpc();
  }

  async ensureGrpc(): Promise<void> {
    if (this.#grpcAlive) return;
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}bench/grpc_backend.ts`, String(GRPC_BACKEND)],
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    this.grpc = proc;
    this.#grpcAlive = true;
    proc.status.then(() => {
      if (this.grpc === proc) this.#grpcAlive = false;
    });
    await waitPort(GRPC_BACKEND);
  }

  async stop(): Promise<void> {
    await Promise.all([this.http, this.grpc].filter(Boolean).map(stop));
  }
}

interface Scenario {
  readonly name: string;
  readonly grpc: boolean;
  readonly applies: (p: ProxyName) => boolean;
  readonly load: (p: ProxyName, secs: number) => Promise<LoadResult>;
}

const httpPort = (p: ProxyName) => p === "direct" ? BACKEND : PORTS[p];

function scenarios(haveGhz: boolean): Scenario[] {
  const all: Scenario[] = [
    {
      name: "HTTP/1.1 small",
      grpc: false,
      applies: () => true,
      load: (p, s) => wrk(`http://127.0.0.1:${httpPort(p)}/`, s),
    },
    {
      name: "HTTP/1.1 64 KiB",
      grpc: false,
      applies: () => true,
      load: (p, s) => wrk(`http://127.0.0.1:${httpPort(p)}/64k`, s),
    },
    {
      name: "HTTP/2 (h2c) small",
      grpc: false,
      applies: (p) => p !== "direct" && p !== "deno-relay",
      load: (p, s) => h2load(`http://127.0.0.1:${H2PORTS[p as Proxy]}/`, s),
    },
  ];
  if (haveGhz) {
    all.push({
      name: "gRPC unary",
      grpc: true,
      applies: (p) => p !== "deno-relay",
      load: (p, s) => ghz(`127.0.0.1:${p === "direct" ? GRPC_BACKEND : H2PORTS[p]}`, s),
    });
  }
  return all;
}

/** Fresh proxy (direct: the running backend), 1 s warm-up, measured load, stop. */
async function measure(
  sc: Scenario,
  proxy: ProxyName,
  round: number,
  backends: Backends,
): Promise<Sample> {
  if (sc.grpc) await backends.ensureGrpc();
  const child = proxy === "direct" ? null : await startProxy(proxy);
  try {
    const pid = child?.proc.pid ?? (sc.grpc ? backends.grpc.pid : backends.http.pid);
    await sc.load(proxy, 1);
    const [before] = await cpuSeconds(pid);
    const load = await sc.load(proxy, duration);
    const [after] = await cpuSeconds(pid);
    const cpuPer100k = load.requests > 0 ? ((after - before) / load.requests) * 100_000 : NaN;
    return { scenario: sc.name, proxy, round, load, cpuPer100k, rssMiB: await peakRssMiB(pid) };
  } finally {
    if (child) await stop(child.proc);
  }
}

async function version(cmd: string, args: string[], re: RegExp): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    const text = dec.decode(out.stdout) + dec.decode(out.stderr);
    return re.exec(text)?.[1] ?? "unknown";
  } catch {
    return "not installed";
  }
}

async function gitState(): Promise<string> {
  const git = async (...args: string[]) => {
    const out = await new Deno.Command("git", { args: ["-C", root, ...args], stdout: "piped" })
      .output().catch(() => null);
    return out?.success ? new TextDecoder().decode(out.stdout).trim() : null;
  };
  const head = await git("rev-parse", "--short", "HEAD");
  if (head === null) return "unknown";
  const dirty = await git("status", "--porcelain", "--", "src", "bench");
  return dirty ? `${head} + uncommitted changes in src/ or bench/` : head;
}

const loadavg = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");

// ---- run ----

const started = new Date();
const loadStart = await loadavg();
const samples: Sample[] = [];
const failures: string[] = [];
const backends = new Backends();
let scs: Scenario[] = [];
try {
  await need("wrk", "wrk");
  await need("h2load", "nghttp2-client");
  if (proxies.includes("nginx")) await need("nginx", "nginx-light");
  if (proxies.includes("haproxy")) await need("haproxy", "haproxy");
  await writeConfigs();
  await backends.start();
  const haveGhz = await Deno.stat(GHZ).then(() => true, () => false);
  if (!haveGhz) console.error(`no gRPC rows: ${GHZ} is missing (run scripts/install_gotools.sh)`);
  scs = scenarios(haveGhz);
  const loads = scs.reduce((n, sc) => n + proxies.filter(sc.applies).length, 0) * rounds;
  console.error(
    `${loads} loads of ${duration} s (+1 s warm-up each): about ${
      Math.ceil(loads * (duration + 1.5) / 60)
    } min`,
  );
  for (const sc of scs) {
    for (let round = 1; round <= rounds; round++) {
      for (const proxy of proxies.filter(sc.applies)) {
        try {
          const s = await measure(sc, proxy, round, backends);
          samples.push(s);
          console.error(
            `${sc.name.padEnd(20)} round ${round} ${proxy.padEnd(9)} ${
              s.load.rps.toFixed(0).padStart(8)
            } req/s  p99 ${fmt(s.load.p99ms)} ms  cpu/100k ${
              fmt(s.cpuPer100k)
            } s  errors ${s.load.errors}`,
          );
        } catch (err) {
          const msg = `${sc.name}, round ${round}, ${proxy}: ${(err as Error).message}`;
          failures.push(msg);
          console.error(msg);
        }
      }
    }
  }
} finally {
  await backends.stop();
  await Deno.remove(work, { recursive: true });
}
const loadEnd = await loadavg();
const elapsed = Math.round((Date.now() - started.getTime()) / 1000);

// ---- report ----

const [nginxV, haproxyV, wrkV, h2loadV, ghzV, head] = await Promise.all([
  version("nginx", ["-v"], /nginx\/(\S+)/),
  version("haproxy", ["-v"], /version (\S+)/),
  version("wrk", ["-v"], /wrk (\S+)/),
  version("h2load", ["--version"], /nghttp2\/(\S+)/),
  version(GHZ, ["--version"], /^(\S+)/),
  gitState(),
]);

const table = renderReport({
  started,
  duration,
  rounds,
  connections,
  workers,
  args: Deno.args,
  loadStart,
  loadEnd,
  elapsedS: elapsed,
  versions: `deno ${Deno.version.deno}, nginx ${nginxV}, HAProxy ${haproxyV}, wrk ${wrkV}, ` +
    `h2load ${h2loadV}, ghz ${ghzV}`,
  tree: head,
  scenarios: scs.map((sc) => ({ name: sc.name, proxies: proxies.filter(sc.applies) })),
  samples,
  failures,
});
await Deno.mkdir(`${root}bench/results`, { recursive: true });
const file = `${root}bench/results/${started.toISOString().replace(/[:.]/g, "-")}.md`;
await Deno.writeTextFile(file, table);
console.log(table);
console.error(`written to ${file}`);
