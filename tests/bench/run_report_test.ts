import assert from "node:assert/strict";
import { median, renderReport, summarize } from "../../bench/run_report.ts";
import type { ProxyName, ReportInput, Sample } from "../../bench/run_report.ts";

function sample(
  proxy: ProxyName,
  round: number,
  cpu: number,
  p99: number,
  extra: Partial<Sample["load"]> & { rss?: number; scenario?: string } = {},
): Sample {
  return {
    scenario: extra.scenario ?? "HTTP/1.1 small",
    proxy,
    round,
    load: {
      rps: extra.rps ?? 1000 * round,
      p50ms: extra.p50ms ?? round,
      p99ms: p99,
      requests: 100_000,
      errors: extra.errors ?? 0,
      statuses: extra.statuses,
    },
    cpuPer100k: cpu,
    rssMiB: extra.rss ?? 10,
  };
}

function input(samples: Sample[], over: Partial<ReportInput> = {}): ReportInput {
  return {
    started: new Date("2026-11-24T01:00:00Z"),
    duration: 1,
    rounds: 3,
    connections: 64,
    workers: 1,
    args: ["--duration", "1", "--only", "nginx,novaedge"],
    loadStart: "0.50 0.40 0.30",
    loadEnd: "1.50 1.40 1.30",
    elapsedS: 75,
    versions: "deno 2.9.6, nginx 1.22.1",
    tree: "abc1234",
    scenarios: [{ name: "HTTP/1.1 small", proxies: ["nginx", "novaedge", "direct"] }],
    samples,
    failures: [],
    ...over,
  };
}

/** The summary-table row of `proxy` (cells without the leading/trailing pipe). */
function row(md: string, proxy: string): string[] {
  const line = md.split("\n").find((l) => l.startsWith(`| HTTP/1.1 small | ${proxy}`));
  assert.ok(line, `no row for ${proxy} in:\n${md}`);
  return line.split("|").slice(1, -1).map((c) => c.trim());
}

Deno.test("median: odd, even, and non-finite values skipped", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([NaN, 5, Infinity, 1]), 3);
  assert.ok(Number.isNaN(median([])));
  assert.ok(Number.isNaN(median([NaN])));
});

Deno.test("summarize: ratios are per round against the same round's nginx, then the median", () => {
  // nginx swings with the box's load; the per-round ratios are 2.0, 1.25, 1.5.
  const samples = [
    sample("nginx", 1, 2, 10),
    sample("novaedge", 1, 4, 20), // 2.0x
    sample("nginx", 2, 4, 10),
    sample("novaedge", 2, 5, 30), // 1.25x
    sample("nginx", 3, 10, 10),
    sample("novaedge", 3, 15, 10), // 1.5x
  ];
  const s = summarize(samples, "HTTP/1.1 small", "novaedge");
  assert.ok(s);
  assert.deepEqual(s.cpuRatios, [2, 1.25, 1.5]);
  assert.equal(s.cpuRatio, 1.5);
  // Ratio of medians would be 5 / 4 = 1.25: not what is reported.
  assert.equal(s.cpuPer100k, 5);
  assert.equal(s.p99Ratio, 2);
  assert.equal(s.p99ms, 20);
  assert.equal(s.rounds, 3);
});

Deno.test("summarize: missing nginx round leaves that round out of the ratio; RSS max, errors sum", () => {
  const samples = [
    sample("nginx", 1, 2, 10),
    sample("novaedge", 1, 3, 10, { rss: 100, errors: 2 }),
    sample("novaedge", 2, 8, 10, { rss: 180, errors: 5 }),
  ];
  const s = summarize(samples, "HTTP/1.1 small", "novaedge");
  assert.ok(s);
  assert.deepEqual(s.cpuRatios, [1.5]);
  assert.equal(s.cpuRatio, 1.5);
  assert.equal(s.rssMiB, 180);
  assert.equal(s.errors, 7);
  assert.equal(s.cpuPer100k, 5.5);
  assert.equal(summarize(samples, "HTTP/1.1 small", "haproxy"), null);
});

Deno.test("summarize: direct gets no CPU ratio (its CPU is the backend's) but a p99 ratio", () => {
  const samples = [sample("nginx", 1, 2, 10), sample("direct", 1, 1, 5)];
  const s = summarize(samples, "HTTP/1.1 small", "direct");
  assert.ok(s);
  assert.ok(Number.isNaN(s.cpuRatio));
  assert.deepEqual(s.cpuRatios, []);
  assert.equal(s.p99Ratio, 0.5);
});

Deno.test("summarize: another scenario's nginx is never used", () => {
  const samples = [
    sample("nginx", 1, 2, 10, { scenario: "gRPC unary" }),
    sample("novaedge", 1, 4, 10),
  ];
  const s = summarize(samples, "HTTP/1.1 small", "novaedge");
  assert.ok(s);
  assert.ok(Number.isNaN(s.cpuRatio));
});

Deno.test("renderReport: table cells, spread, partial rounds, per-round table, header facts", () => {
  const samples = [
    sample("nginx", 1, 2, 10),
    sample("novaedge", 1, 4, 20, { rss: 120 }),
    sample("direct", 1, 1, 5),
    sample("nginx", 2, 4, 10),
    sample("novaedge", 2, 5, 30, { rss: 130 }),
    sample("direct", 2, 1, 5),
    sample("nginx", 3, 10, 10),
    sample("direct", 3, 1, 5),
  ];
  const md = renderReport(input(samples, {
    failures: ["HTTP/1.1 small, round 3, novaedge: did not start\nstderr detail"],
  }));
  const ng = row(md, "nginx");
  assert.deepEqual(ng.slice(5, 9), ["4.00", "1.00", "reference", "1.00"]);
  const ne = row(md, "novaedge (2/3 rounds)");
  // req/s median of 1000, 2000; p50 median of 1, 2; p99 median of 20, 30.
  assert.deepEqual(ne.slice(2, 5), ["1500", "1.50", "25.00"]);
  assert.deepEqual(ne.slice(5, 11), ["4.50", "1.63", "1.25–2.00", "2.50", "130.0", "0"]);
  const di = row(md, "direct");
  assert.equal(di[6], "n/a");
  assert.equal(di[7], "n/a");
  assert.match(
    md,
    /\| HTTP\/1\.1 small \| novaedge \| 4\.00 \(2\.00×\) \| 5\.00 \(1\.25×\) \| failed \|/,
  );
  assert.match(md, /\| HTTP\/1\.1 small \| direct \| 1\.00 \| 1\.00 \| 1\.00 \|/);
  assert.match(md, /\| scenario \| proxy \| round 1 \| round 2 \| round 3 \|/);
  assert.match(
    md,
    /command: `deno run -A --unstable-net bench\/run\.ts --duration 1 --only nginx,novaedge`/,
  );
  assert.match(
    md,
    /load average \(1\/5\/15 min\): 0\.50 0\.40 0\.30 at start, 1\.50 1\.40 1\.30 at end; run took 1m15s/,
  );
  assert.match(md, /versions: deno 2\.9\.6, nginx 1\.22\.1; NovaEdge --workers 1, tree abc1234/);
  assert.match(md, /\*\*3 interleaved rounds per scenario\*\*/);
  assert.match(md, /median of per-round ratios/);
  // Only a failure's first line goes into the report.
  assert.match(md, /- HTTP\/1\.1 small, round 3, novaedge: did not start\n/);
  assert.doesNotMatch(md, /stderr detail/);
});

Deno.test("renderReport: gRPC statuses summed per proxy; no failures section when none failed", () => {
  const sc = "gRPC unary";
  const samples = [
    sample("nginx", 1, 6, 20, { scenario: sc, errors: 30, statuses: { Unavailable: 30 } }),
    sample("nginx", 2, 6, 20, { scenario: sc, errors: 32, statuses: { Unavailable: 32 } }),
  ];
  const md = renderReport(
    input(samples, { rounds: 2, scenarios: [{ name: sc, proxies: ["nginx"] }], args: [] }),
  );
  assert.match(md, /nginx Unavailable 62\./);
  assert.match(md, /\| gRPC unary \| nginx \| 1500 \| .* \| 62 \|/);
  assert.doesNotMatch(md, /Failed measurements/);
  assert.match(md, /command: `deno run -A --unstable-net bench\/run\.ts`/);
});

Deno.test("renderReport: arguments with spaces or quotes are shell-quoted", () => {
  const md = renderReport(input([sample("nginx", 1, 2, 10)], { args: ["--only", "a b", "it's"] }));
  assert.match(md, /bench\/run\.ts --only 'a b' 'it'\\''s'`/);
});
