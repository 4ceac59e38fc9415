/**
 * Prometheus metrics shared by every role. One registry per process; the admin
 * server renders it. Label sets are kept small (route and code, not path) so
 * cardinality stays bounded by configuration, not by traffic.
 */
import client from "prom-client";

export const registry = new client.Registry();

export const httpRequests = new client.Counter({
  name: "novaedge_http_requests_total",
  help: "HTTP requests served, by route and response status code.",
  labelNames: ["route", "code"] as const,
  registers: [registry],
});

export const upstreamLatency = new client.Histogram({
  name: "novaedge_upstream_request_duration_seconds",
  help: "Time from sending a request upstream to its response head, by cluster.",
  labelNames: ["cluster"] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const activeConnections = new client.Gauge({
  name: "novaedge_active_connections",
  help: "Client connections currently open, by listener.",
  labelNames: ["listener"] as const,
  registers: [registry],
});

export const snapshotInfo = new client.Gauge({
  name: "novaedge_snapshot_info",
  help: "The snapshot version in use (value 1 on the current version's series).",
  labelNames: ["version"] as const,
  registers: [registry],
});

export const snapshotApplies = new client.Counter({
  name: "novaedge_snapshot_applies_total",
  help: "Snapshot apply attempts, by result (applied or rejected).",
  labelNames: ["result"] as const,
  registers: [registry],
});

/** Mark `version` as the one in use, clearing the previous series. */
export function setSnapshotVersion(version: string): void {
  snapshotInfo.reset();
  snapshotInfo.set({ version }, 1);
}

/**
 * Runs `fn` before `metric` is read (every reader — /metrics, the worker
 * gatherer — goes through the registry, which calls the metric's `collect`).
 * Hot paths count in plain numbers and hand them over here.
 */
export function beforeCollect(metric: object, fn: () => void): void {
  const m = metric as { collect?: (this: unknown) => unknown };
  const prev = m.collect;
  m.collect = function (this: unknown): unknown {
    fn();
    return prev ? prev.call(this) : undefined;
  };
}

/** prom-client 15's per-label-set histogram state (what `observe` updates). */
interface HistEntry {
  labels: Record<string, string | number>;
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** Observations of one label value not yet handed to prom-client. */
class PendingSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly value: string, buckets: number) {
    this.counts = new Float64Array(buckets);
  }
}

/**
 * A histogram with one label whose observations are bucketed in plain
 * arrays and merged into prom-client on collect: prom-client's `observe`
 * validates and hashes the labels on every call (≈1 % of the proxy's CPU per
 * request in profiles). Counts and sums stay exact.
 */
export class BatchedHistogram {
  private series = new Map<string, PendingSeries>();
  private dirty: PendingSeries[] = [];
  private readonly bounds: readonly number[];

  constructor(private hist: client.Histogram<string>, private label: string) {
    this.bounds = (hist as unknown as { upperBounds: number[] }).upperBounds;
    beforeCollect(hist, () => this.flush());
  }

  observe(labelValue: string, v: number): void {
    let s = this.series.get(labelValue);
    if (s === undefined) {
      s = new PendingSeries(labelValue, this.bounds.length);
      this.series.set(labelValue, s);
    }
    if (s.count === 0) this.dirty.push(s);
    s.count++;
    s.sum += v;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        s.counts[i]++;
        break;
      }
    }
  }

  /** Moves pending observations into the prom-client histogram. */
  flush(): void {
    for (const s of this.dirty) {
      const entry = this.entry(s.value);
      if (entry === null) this.replay(s);
      else {
        for (let i = 0; i < this.bounds.length; i++) {
          entry.bucketValues[this.bounds[i]] += s.counts[i];
        }
        entry.sum += s.sum;
        entry.count += s.count;
      }
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
    this.dirty.length = 0;
  }

  /** prom-client's state for `value`, created when absent; null if its shape is unknown. */
  private entry(value: string): HistEntry | null {
    const h = this.hist as unknown as {
      hashMap?: Record<string, HistEntry>;
      zero(labels: Record<string, string>): void;
    };
    const find = () => {
      for (const e of Object.values(h.hashMap ?? {})) {
        if (e.labels[this.label] === value) return e;
      }
      return null;
    };
    let e = find();
    if (e === null && h.hashMap !== undefined) {
      h.zero({ [this.label]: value });
      e = find();
    }
    const ok = e !== null && typeof e.sum === "number" && typeof e.count === "number" &&
      typeof e.bucketValues?.[this.bounds[0]] === "number";
    return ok ? e : null;
  }

  /** Fallback through the public API (sum approximated by bucket bounds). */
  private replay(s: PendingSeries): void {
    const labels = { [this.label]: s.value };
    let inBuckets = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      for (let k = 0; k < s.counts[i]; k++) this.hist.observe(labels, this.bounds[i]);
      inBuckets += s.counts[i];
    }
    const over = this.bounds[this.bounds.length - 1] * 2;
    for (let k = inBuckets; k < s.count; k++) this.hist.observe(labels, over);
  }
}

/** Upstream latency by cluster, batched (see BatchedHistogram). */
export const upstreamLatencyBatch = new BatchedHistogram(upstreamLatency, "cluster");
