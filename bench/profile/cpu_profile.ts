/**
 * CPU profile of the NovaEdge agent under a bounded wrk load: starts the
 * benchmark backend and the agent (1 worker, access log off) with the V8
 * inspector, drives `wrk -t2 -c64 -d<duration>s` (or h2load / ghz with
 * `--load h2c|grpc`) through it while the
 * inspector's Profiler samples, then prints self time by function and writes
 * the .cpuprofile (open it in Chrome DevTools for the call tree).
 *
 *   deno run -A bench/profile/cpu_profile.ts [--duration 5] [--path /] [--out /tmp/novaedge.cpuprofile]
 *
 * Why the inspector: this Deno has no --cpu-prof flag, and the Profiler
 * domain gives per-function self time without any external tooling.
 */
import { parseFlags } from "../../src/cli/flags.ts";
import { agentArgs, GHZ, ghzArgs, waitPort } from "./proc.ts";

const { flags } = parseFlags(Deno.args, [
  { name: "duration", kind: "number", help: "seconds of load", default: 5 },
  { name: "path", kind: "string", help: "request path", default: "/" },
  { name: "out", kind: "string", help: "profile file", default: "/tmp/novaedge.cpuprofile" },
  { name: "top", kind: "number", help: "functions to list", default: 45 },
  { name: "main", kind: "string", help: "entry point to profile", default: "src/main.ts" },
  { name: "heap", kind: "boolean", help: "sample allocations instead of CPU", default: false },
  {
    name: "load",
    kind: "string",
    help: "wrk (HTTP/1.1), h2c (h2load) or grpc (ghz)",
    default: "wrk",
  },
]);
const duration = flags.duration as number;
const root = new URL("../..", import.meta.url).pathname;
const BACKEND = 18380;
const PORT = 18383;
const INSPECT = 19229;
const GRPC_BACKEND = 18385;
const load = flags.load as string;
if (!["wrk", "h2c", "grpc"].includes(load)) throw new Error(`--load ${load}: use wrk, h2c or grpc`);

/** The load command for `secs` seconds (warm-up: fewer connections). */
function loadCommand(url: string, secs: number, warm: boolean): Deno.Command {
  const [cmd, args] = load === "h2c"
    ? ["h2load", ["-D", String(secs), "-c", warm ? "4" : "16", "-m", "10", "-t", "2", url]]
    : load === "grpc"
    ? [GHZ, ghzArgs(`127.0.0.1:${PORT}`, secs, warm ? 4 : 32, false)]
    : ["wrk", ["-t2", `-c${warm ? 8 : 64}`, `-d${secs}s`, "--latency", url]];
  return new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" });
}

/** Requests completed, from the load tool's summary. */
function requestsDone(text: string): number {
  const m = /(\d+) requests in/.exec(text) ??
    /requests: \d+ total, \d+ started, (\d+) done/.exec(text) ??
    /Count:\s+(\d+)/.exec(text);
  return Number(m?.[1] ?? 0);
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Minimal CDP client over the inspector's WebSocket. */
class Cdp {
  private id = 0;
  private waiting = new Map<number, (v: unknown) => void>();
  private constructor(private ws: WebSocket) {
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data as string) as { id?: number; result?: unknown };
      if (m.id !== undefined) {
        this.waiting.get(m.id)?.(m.result);
        this.waiting.delete(m.id);
      }
    };
  }
  static async open(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    await new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = rej;
    });
    return new Cdp(ws);
  }
  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((r) => this.waiting.set(id, r as (v: unknown) => void));
  }
  close(): void {
    this.ws.close();
  }
}

const work = await Deno.makeTempDir({ prefix: "novaedge-prof-" });
const tpl = await Deno.readTextFile(`${root}bench/novaedge.yaml`);
await Deno.writeTextFile(
  `${work}/config.yaml`,
  tpl.replaceAll("${PORT}", String(PORT)).replaceAll("${BACKEND}", String(BACKEND))
    .replaceAll("${GRPC_BACKEND}", String(GRPC_BACKEND)),
);
const grpcBackend = load === "grpc"
  ? new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}bench/grpc_backend.ts`, String(GRPC_BACKEND)],
    stdout: "null",
  }).spawn()
  : null;
const backend = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net", `${root}bench/backend.ts`, String(BACKEND)],
  stdout: "null",
}).spawn();
const agent = new Deno.Command(Deno.execPath(), {
  args: agentArgs(`${root}${flags.main}`, work, [`--inspect=127.0.0.1:${INSPECT}`]),
  stdout: "null",
  stderr: "null",
}).spawn();
try {
  await waitPort(BACKEND);
  if (grpcBackend) await waitPort(GRPC_BACKEND);
  await waitPort(PORT);
  const targets = await (await fetch(`http://127.0.0.1:${INSPECT}/json/list`)).json() as {
    webSocketDebuggerUrl: string;
  }[];
  const cdp = await Cdp.open(targets[0].webSocketDebuggerUrl);
  const url = `http://127.0.0.1:${PORT}${flags.path}`;
  // Warm-up so the JIT and the pool are in steady state.
  await loadCommand(url, 1, true).output();
  if (flags.heap) {
    // Allocation sampling: bytes allocated per function (live or not).
    await cdp.send("HeapProfiler.enable");
    await cdp.send("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    const out = await loadCommand(url, duration, false).output();
    const { profile } = await cdp.send<{ profile: { head: HeapNode } }>(
      "HeapProfiler.stopSampling",
    );
    cdp.close();
    const text = new TextDecoder().decode(out.stdout);
    const requests = requestsDone(text);
    const agg = new Map<string, number>();
    let total = 0;
    const walk = (n: HeapNode) => {
      const own = n.selfSize;
      if (own > 0) {
        const cf = n.callFrame;
        const file = cf.url.replace(/^.*\/(src|ext|node_modules|deno)\//, "$1/");
        const key = `${cf.functionName || "(anonymous)"}  ${file}:${cf.lineNumber + 1}`;
        agg.set(key, (agg.get(key) ?? 0) + own);
        total += own;
      }
      for (const c of n.children) walk(c);
    };
    walk(profile.head);
    console.log(
      `${requests} requests; sampled allocation ${(total / requests).toFixed(0)} B/request`,
    );
    for (const [k, b] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, flags.top as number)) {
      console.log(`${(b / requests).toFixed(0).padStart(7)} B/req  ${k}`);
    }
  } else {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp.send("Profiler.start");
    const out = await loadCommand(url, duration, false).output();
    const { profile } = await cdp.send<{ profile: Profile }>("Profiler.stop");
    cdp.close();
    console.log(new TextDecoder().decode(out.stdout));
    await Deno.writeTextFile(flags.out as string, JSON.stringify(profile));

    // Self time by function (samples × interval).
    const byId = new Map<number, ProfileNode>();
    for (const n of profile.nodes) byId.set(n.id, n);
    const selfUs = new Map<number, number>();
    for (let i = 0; i < profile.samples.length; i++) {
      const id = profile.samples[i];
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
    }
    const agg = new Map<string, number>();
    let total = 0;
    for (const [id, us] of selfUs) {
      const cf = byId.get(id)!.callFrame;
      const file = cf.url.replace(/^.*\/(src|ext|node_modules|deno)\//, "$1/");
      const key = `${cf.functionName || "(anonymous)"}  ${file}:${cf.lineNumber + 1}`;
      agg.set(key, (agg.get(key) ?? 0) + us);
      total += us;
    }
    const rows = [...agg].sort((a, b) => b[1] - a[1]).slice(0, flags.top as number);
    console.log(`self time, ${(total / 1e6).toFixed(2)} s sampled`);
    for (const [k, us] of rows) {
      console.log(`${(100 * us / total).toFixed(1).padStart(5)} %  ${k}`);
    }
    console.error(`profile written to ${flags.out}`);
  }
} finally {
  agent.kill("SIGTERM");
  backend.kill("SIGTERM");
  grpcBackend?.kill("SIGTERM");
  await agent.status;
  await backend.status;
  await grpcBackend?.status;
  await Deno.remove(work, { recursive: true });
}
