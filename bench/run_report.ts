/**
 * The markdown report of bench/run.ts, kept pure (samples in, text out) so
 * the statistics — medians over rounds, per-round ratios against the same
 * round's nginx, their spread — are tested on their own
 * (tests/bench/run_report_test.ts).
 */

/**
 * A proxy column of the benchmark; `direct` is the backend without a proxy;
 * `deno-relay` is bench/profile/bare_relay.ts, the least a Deno HTTP/1.1
 * relay does (no parsing beyond framing, no routing or rewriting): the floor
 * NovaEdge's own cost sits on.
 */
export type ProxyName = "nginx" | "haproxy" | "novaedge" | "deno-relay" | "direct";

/** What one bounded load reported. */
export interface LoadResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  requests: number;
  errors: number;
  /** Non-OK gRPC statuses by name (ghz only). */
  statuses?: Record<string, number>;
}

/** One measured load of one proxy in one round. */
export interface Sample {
  scenario: string;
  proxy: ProxyName;
  /** 1-based. */
  round: number;
  load: LoadResult;
  cpuPer100k: number;
  rssMiB: number;
}

/** Everything the report shows besides the samples. */
export interface ReportInput {
  started: Date;
  duration: number;
  rounds: number;
  connections: number;
  workers: number;
  /** The arguments given to bench/run.ts. */
  args: readonly string[];
  /** /proc/loadavg's first three fields at start and end. */
  loadStart: string;
  loadEnd: string;
  elapsedS: number;
  /** e.g. "deno 2.9.6, nginx 1.22.1, …". */
  versions: string;
  /** Commit (and whether the tree was dirty). */
  tree: string;
  /** Scenarios in run order, each with the proxies it measured (in round order). */
  scenarios: readonly { name: string; proxies: readonly ProxyName[] }[];
  samples: readonly Sample[];
  /** One line per failed measurement. */
  failures: readonly string[];
}

/** Median of the finite values (mean of the middle two for an even count); NaN when none. */
export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One table row: a proxy's figures for a scenario over all its rounds. */
export interface Summary {
  scenario: string;
  proxy: ProxyName;
  /** Rounds that produced a sample. */
  rounds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  cpuPer100k: number;
  /** Median of per-round CPU ratios vs the same round's nginx (NaN for direct or without nginx). */
  cpuRatio: number;
  /** Per-round CPU ratios (finite ones), in round order. */
  cpuRatios: number[];
  /** Median of per-round p99 ratios vs the same round's nginx. */
  p99Ratio: number;
  /** Max over rounds. */
  rssMiB: number;
  /** Sum over rounds. */
  errors: number;
}

/** Per-round ratio of `f` against the same scenario and round's nginx sample (NaN without one). */
function roundRatio(all: readonly Sample[], s: Sample, f: (x: Sample) => number): number {
  const ng = all.find((x) =>
    x.scenario === s.scenario && x.proxy === "nginx" && x.round === s.round
  );
  return ng ? f(s) / f(ng) : NaN;
}

/** Summary of `proxy` in `scenario`, or null when it has no sample. */
export function summarize(
  samples: readonly Sample[],
  scenario: string,
  proxy: ProxyName,
): Summary | null {
  const xs = samples.filter((s) => s.scenario === scenario && s.proxy === proxy)
    .sort((a, b) => a.round - b.round);
  if (!xs.length) return null;
  const m = (f: (x: Sample) => number) => median(xs.map(f));
  // The backend's CPU (direct) is not a proxy's: no CPU ratio for it.
  const cpuRatios = proxy === "direct"
    ? []
    : xs.map((x) => roundRatio(samples, x, (y) => y.cpuPer100k)).filter(Number.isFinite);
  return {
    scenario,
    proxy,
    rounds: xs.length,
    rps: m((x) => x.load.rps),
    p50ms: m((x) => x.load.p50ms),
    p99ms: m((x) => x.load.p99ms),
    cpuPer100k: m((x) => x.cpuPer100k),
    cpuRatio: median(cpuRatios),
    cpuRatios,
    p99Ratio: median(xs.map((x) => roundRatio(samples, x, (y) => y.load.p99ms))),
    rssMiB: Math.max(...xs.map((x) => x.rssMiB)),
    errors: xs.reduce((n, x) => n + x.load.errors, 0),
  };
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const quote = (a: string) => /^[\w./,=:@-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`;

/** The whole markdown report: header, summary table, notes, per-round CPU table, failures. */
export function renderReport(r: ReportInput): string {
  const h2c = Math.min(r.connections, 16);
  const grpcC = Math.min(r.connections, 32);
  const lines = [
    `# NovaEdge benchmark (${r.started.toISOString()})`,
    "",
    `wrk -t2 -c${r.connections} -d${r.duration}s (HTTP/1.1 keep-alive); h2load -c${h2c} -m10 ` +
    `(h2c); ghz -c${grpcC} over 4 connections (gRPC unary, h2c). ` +
    "Same backend, same run, 127.0.0.1, 2 cores. CPU-s/100k counts only the proxy's processes.",
    "",
    `**${r.rounds} interleaved round${r.rounds === 1 ? "" : "s"} per scenario**: each round ` +
    "measures nginx, haproxy, novaedge, deno-relay (HTTP/1.1 only), direct in turn (fresh proxy process, 1 s warm-up, then " +
    "the load). req/s, p50, p99 and CPU-s/100k are medians over rounds; **vs nginx** is the " +
    "median of per-round ratios, each against the same round's nginx; **CPU ratio min–max** is " +
    "their spread across rounds; peak RSS is the max over rounds; errors are summed over rounds.",
    "",
    `- command: \`${["deno run -A --unstable-net bench/run.ts", ...r.args.map(quote)].join(" ")}\``,
    `- load average (1/5/15 min): ${r.loadStart} at start, ${r.loadEnd} at end; run took ${
      Math.floor(r.elapsedS / 60)
    }m${String(r.elapsedS % 60).padStart(2, "0")}s`,
    `- versions: ${r.versions}; NovaEdge --workers ${r.workers}, tree ${r.tree}`,
    "",
    "| scenario | proxy | req/s | p50 ms | p99 ms | CPU-s / 100k req | CPU vs nginx | CPU ratio min–max | p99 vs nginx | peak RSS MiB | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const perRound = [
    `| scenario | proxy | ${
      Array.from({ length: r.rounds }, (_, i) => `round ${i + 1}`).join(" | ")
    } |`,
    `|---|---|${"---|".repeat(r.rounds)}`,
  ];
  const statusNotes: string[] = [];
  for (const sc of r.scenarios) {
    for (const proxy of sc.proxies) {
      const s = summarize(r.samples, sc.name, proxy);
      if (!s) continue;
      const spread = proxy === "nginx"
        ? "reference"
        : s.cpuRatios.length
        ? `${fmt(Math.min(...s.cpuRatios))}–${fmt(Math.max(...s.cpuRatios))}`
        : "n/a";
      const partial = s.rounds < r.rounds ? ` (${s.rounds}/${r.rounds} rounds)` : "";
      lines.push(
        `| ${sc.name} | ${proxy}${partial} | ${s.rps.toFixed(0)} | ${fmt(s.p50ms)} | ${
          fmt(s.p99ms)
        } | ${fmt(s.cpuPer100k)} | ${fmt(s.cpuRatio)} | ${spread} | ${fmt(s.p99Ratio)} | ${
          fmt(s.rssMiB, 1)
        } | ${s.errors} |`,
      );
      const mine = r.samples.filter((x) => x.scenario === sc.name && x.proxy === proxy);
      const cells = Array.from({ length: r.rounds }, (_, i) => {
        const x = mine.find((y) => y.round === i + 1);
        if (!x) return "failed";
        const ratio = proxy === "direct" ? NaN : roundRatio(r.samples, x, (y) => y.cpuPer100k);
        return `${fmt(x.cpuPer100k)}${Number.isFinite(ratio) ? ` (${fmt(ratio)}×)` : ""}`;
      });
      perRound.push(`| ${sc.name} | ${proxy} | ${cells.join(" | ")} |`);
      const statuses: Record<string, number> = {};
      for (const x of mine) {
        for (const [k, v] of Object.entries(x.load.statuses ?? {})) {
          statuses[k] = (statuses[k] ?? 0) + v;
        }
      }
      if (Object.keys(statuses).length) {
        statusNotes.push(
          `${proxy} ${Object.entries(statuses).map(([k, v]) => `${k} ${v}`).join(", ")}`,
        );
      }
    }
  }
  lines.push(
    "",
    "HTTP/2 percentiles come from h2load's per-request log (--log-file).",
    "For `direct`, CPU and RSS are the backend's own (a long-lived process: its peak RSS covers " +
      "the whole run).",
  );
  if (statusNotes.length) {
    lines.push(
      "gRPC non-OK statuses over all rounds (ghz ends a -z load by closing its connections, so " +
        `up to ${grpcC} calls in flight per load end Unavailable, direct included): ${
          statusNotes.join("; ")
        }.`,
    );
  }
  lines.push("", "CPU-s / 100k req per round (× = ratio to that round's nginx):", "", ...perRound);
  if (r.failures.length) {
    lines.push("", "Failed measurements (left out of the medians):", "");
    for (const f of r.failures) lines.push(`- ${f.split("\n")[0]}`);
  }
  return lines.join("\n") + "\n";
}
