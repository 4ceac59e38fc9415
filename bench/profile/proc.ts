/** Helpers shared by the profiling scripts: port waits, process-tree CPU time, latency units. */

/** Resolves once 127.0.0.1:`port` accepts connections (throws after ~20 s). */
export async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`127.0.0.1:${port} did not open`);
}

/** Throws when something already listens on 127.0.0.1:`port` (it would be measured instead). */
export async function ensureFree(port: number): Promise<void> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
  } catch {
    return;
  }
  throw new Error(`127.0.0.1:${port} is already in use (another benchmark or proxy is running)`);
}

/** [user+sys, user] CPU seconds of a process tree. */
export async function cpuSeconds(pid: number): Promise<[number, number]> {
  let total = 0;
  let user = 0;
  const visit = async (p: number) => {
    try {
      const stat = await Deno.readTextFile(`/proc/${p}/stat`);
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / 100;
      user += Number(f[11]) / 100;
      const kids = await Deno.readTextFile(`/proc/${p}/task/${p}/children`).catch(() => "");
      for (const k of kids.trim().split(/\s+/).filter(Boolean)) await visit(Number(k));
    } catch { /* exited */ }
  };
  await visit(pid);
  return [total, user];
}

/** A latency figure in milliseconds from wrk / h2load text ("us", "ms", "s"). */
export function toMs(v: string, unit: string): number {
  const n = Number(v);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : n;
}

/** Where scripts/install_gotools.sh puts ghz. */
export const GHZ = `${Deno.env.get("HOME")}/.cache/novaedge/gotools/bin/ghz`;

/** ghz arguments for bench.Echo/Say (bench/echo.proto) against `target` (host:port). */
export function ghzArgs(target: string, secs: number, conc: number, json: boolean): string[] {
  const bench = new URL("..", import.meta.url).pathname;
  return [
    "--insecure",
    "--import-paths",
    bench,
    "--proto",
    "echo.proto",
    "--call",
    "bench.Echo.Say",
    "-d",
    '{"msg":"hello"}',
    "-z",
    `${secs}s`,
    "-c",
    String(conc),
    "--connections",
    "4",
    ...(json ? ["-O", "json"] : []),
    target,
  ];
}

/** `deno run` arguments for an agent on `configDir` (access log off, `workers` data-plane threads, default 1); `denoFlags` go before the entry point. */
export function agentArgs(
  main: string,
  configDir: string,
  denoFlags: string[] = [],
  workers = 1,
): string[] {
  return [
    "run",
    "-A",
    "--unstable-net",
    ...denoFlags,
    main,
    "agent",
    "--config-dir",
    configDir,
    "--admin-address",
    "127.0.0.1:0",
    "--log-level",
    "warn",
    "--workers",
    String(workers),
  ];
}

/**
 * Latency percentiles (ms) from an h2load --log-file (tab-separated: start µs,
 * status, µs to the end of the response); failed streams (status -1) skipped.
 */
export async function h2loadPercentiles(
  logFile: string,
  pcts: number[],
): Promise<number[]> {
  const text = await Deno.readTextFile(logFile).catch(() => "");
  const us: number[] = [];
  for (const line of text.split("\n")) {
    const f = line.split("\t");
    if (f.length >= 3 && f[1] !== "-1") us.push(Number(f[2]));
  }
  us.sort((a, b) => a - b);
  return pcts.map((p) =>
    us.length ? us[Math.min(us.length - 1, Math.floor(us.length * p / 100))] / 1000 : NaN
  );
}
