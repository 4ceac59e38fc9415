/**
 * Same-run A/B of NovaEdge builds (and nginx as the yardstick) on a busy
 * shared machine: variants run interleaved, several rounds, each under the
 * same bounded wrk load against one shared backend; prints per-round and
 * median CPU-seconds per 100k requests and p99 per variant.
 *
 *   deno run -A bench/profile/ab.ts --rounds 3 --duration 5 \
 *     --variant base=/tmp/abA/src/main.ts --variant new=src/main.ts [--nginx] [--path /] \
 *     [--port 18380]
 *
 * --port moves the backend (port) and the proxy (port + 3) so two runs on
 * one machine do not measure each other's processes.
 *
 * A variant is a copy of the tree's src/main.ts (copy src/ + deno.json to
 * compare against the code before a change), or bench/profile/bare_relay.ts
 * (the least a Deno relay does) as a second yardstick.
 */
import { agentArgs, cpuSeconds, toMs, waitPort } from "./proc.ts";
import { nginxConf } from "../nginx_conf.ts";

const args = Deno.args;
const variants: [string, string][] = [];
let rounds = 3;
let duration = 5;
let withNginx = false;
let path = "/";
let basePort = 18380;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--variant") {
    const [n, p] = args[++i].split("=");
    variants.push([n, p]);
  } else if (a === "--rounds") rounds = Number(args[++i]);
  else if (a === "--duration") duration = Number(args[++i]);
  else if (a === "--path") path = args[++i];
  else if (a === "--nginx") withNginx = true;
  else if (a === "--port") basePort = Number(args[++i]);
}
const root = new URL("../..", import.meta.url).pathname;
const BACKEND = basePort;
const PORT = basePort + 3;

/** Refuses to start when something already listens on `port` (it would be measured instead). */
async function ensureFree(port: number): Promise<void> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  } catch {
    return;
  }
  throw new Error(`127.0.0.1:${port} is already in use: pass --port to move this run`);
}

async function wrk(url: string, secs: number, conns = 64): Promise<{ n: number; p99: number }> {
  const out = await new Deno.Command("wrk", {
    args: ["-t2", `-c${conns}`, `-d${secs}s`, "--latency", url],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text);
  return {
    n: Number(/(\d+) requests in/.exec(text)?.[1] ?? 0),
    p99: m ? toMs(m[1], m[2]) : NaN,
  };
}

await ensureFree(BACKEND);
await ensureFree(PORT);
const work = await Deno.makeTempDir({ prefix: "novaedge-ab-" });
const tpl = await Deno.readTextFile(`${root}bench/novaedge.yaml`);
await Deno.writeTextFile(
  `${work}/config.yaml`,
  tpl.replaceAll("${PORT}", String(PORT)).replaceAll("${BACKEND}", String(BACKEND)),
);
await Deno.writeTextFile(
  `${work}/nginx.conf`,
  nginxConf({ dir: work, listens: [`127.0.0.1:${PORT}`], backendPort: BACKEND }),
);
const backend = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-net", `${root}bench/backend.ts`, String(BACKEND)],
  stdout: "null",
}).spawn();
const all: [string, string][] = withNginx ? [["nginx", ""], ...variants] : variants;
const results = new Map<string, { cpu: number; user: number; p99: number }[]>();
try {
  await waitPort(BACKEND);
  for (let round = 0; round < rounds; round++) {
    for (const [name, main] of all) {
      await ensureFree(PORT);
      const proc = name === "nginx"
        ? new Deno.Command("nginx", {
          args: ["-c", `${work}/nginx.conf`, "-p", work],
          stdout: "null",
          stderr: "null",
        }).spawn()
        : new Deno.Command(Deno.execPath(), {
          // bare_relay.ts takes its ports from here (agents from the config).
          env: { AB_PORT: String(PORT), AB_BACKEND: String(BACKEND) },
          args: agentArgs(main, work),
          stdout: "null",
          stderr: "null",
        }).spawn();
      try {
        await waitPort(PORT);
        const url = `http://127.0.0.1:${PORT}${path}`;
        await wrk(url, 1, 8);
        const before = await cpuSeconds(proc.pid);
        const r = await wrk(url, duration);
        const after = await cpuSeconds(proc.pid);
        const cpu = (after[0] - before[0]) / r.n * 100_000;
        const user = (after[1] - before[1]) / r.n * 100_000;
        const list = results.get(name) ?? [];
        list.push({ cpu, user, p99: r.p99 });
        results.set(name, list);
        console.log(
          `round ${round + 1} ${name.padEnd(10)} ${(r.n / duration).toFixed(0).padStart(6)} req/s` +
            `  cpu/100k ${cpu.toFixed(2)} s (user ${user.toFixed(2)})  p99 ${r.p99.toFixed(2)} ms`,
        );
      } finally {
        proc.kill("SIGTERM");
        await proc.status;
      }
    }
  }
} finally {
  backend.kill("SIGTERM");
  await backend.status;
  await Deno.remove(work, { recursive: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log("\nmedian over rounds:");
for (const [name, list] of results) {
  console.log(
    `${name.padEnd(10)} cpu/100k ${median(list.map((x) => x.cpu)).toFixed(2)} s  user ${
      median(list.map((x) => x.user)).toFixed(2)
    } s  p99 ${median(list.map((x) => x.p99)).toFixed(2)} ms`,
  );
}
