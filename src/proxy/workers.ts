/**
 * The main-thread side of multi-worker mode: starts the worker threads,
 * applies each snapshot to all of them (rolling back the ones that took it
 * when another refuses), and folds their metrics into this thread's
 * registry once a second so the admin server keeps reporting.
 */
import type { Logger, LogLevel } from "../observe/log.ts";
import { activeConnections, httpRequests, registry, upstreamLatency } from "../observe/metrics.ts";
import type { Snapshot } from "../snapshot/types.ts";
import type { BoundListener } from "./local.ts";
import { l4Active, l4Bytes, l4Connections, l4Refused } from "./l4/observe.ts";

/** L4 counters folded from workers by delta (their label sets pass through unchanged). */
const L4_COUNTERS = new Map<string, { inc(labels: Record<string, string>, v: number): void }>([
  ["novaedge_l4_connections_total", l4Connections],
  ["novaedge_l4_bytes_total", l4Bytes],
  ["novaedge_l4_refused_total", l4Refused],
]);
import type { WorkerReply, WorkerRequest } from "./worker.ts";
import { sharedRateLimitBytes } from "./policy/shared_rate_limit.ts";
import { SharedConcurrencyTable } from "./policy/concurrency.ts";
import { RR_SHARED_BYTES } from "./lb/round_robin.ts";
import { BreakerTable } from "./core/shared_breaker.ts";

type Req = WorkerRequest extends infer R ? R extends { id: number } ? Omit<R, "id"> : never : never;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}
interface MetricJson {
  name: string;
  type: string;
  values: MetricValue[];
}

const WORKER_URL = new URL("./worker.ts", import.meta.url);

class Thread {
  private next = 1;
  private pending = new Map<number, (r: WorkerReply) => void>();
  readonly worker: Worker;
  /** Last cumulative values seen, for deltas. */
  last = new Map<string, number>();

  constructor(onCrash: (e: ErrorEvent) => void) {
    this.worker = new Worker(WORKER_URL, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const f = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      if (f) f(e.data);
    };
    this.worker.onerror = (e: ErrorEvent) => {
      // Keep a worker's uncaught error from taking the main thread down.
      e.preventDefault();
      for (const f of this.pending.values()) {
        f({ id: 0, ok: false, error: `worker crashed: ${e.message}` });
      }
      this.pending.clear();
      onCrash(e);
    };
  }

  call(req: Req): Promise<WorkerReply> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.worker.postMessage({ id, ...req });
    });
  }
}

export class WorkerSet {
  private threads: Thread[] = [];
  private ready: Promise<void>;
  private previous: Snapshot | null = null;
  private timer: ReturnType<typeof setInterval>;
  private restoreRegistry: () => void;
  listeners: BoundListener[] = [];
  /**
   * State every worker shares (made once, kept across worker restarts): rate-limit
   * buckets, so a limit is per agent rather than per thread, round-robin counters,
   * connection-limit counts and clusters' circuit-breaker counts.
   */
  private readonly shared: {
    rateLimits: SharedArrayBuffer;
    roundRobin: SharedArrayBuffer;
    concurrency: SharedArrayBuffer;
    breakers: SharedArrayBuffer;
  };

  static available(): boolean {
    if (WORKER_URL.protocol !== "file:") return true;
    try {
      Deno.statSync(WORKER_URL);
      return true;
    } catch {
      return false;
    }
  }

  private closed = false;

  constructor(n: number, private opts: { logLevel: LogLevel; accessLog: boolean; log: Logger }) {
    this.shared = {
      rateLimits: new SharedArrayBuffer(sharedRateLimitBytes()),
      roundRobin: new SharedArrayBuffer(RR_SHARED_BYTES),
      // Requests in progress per (policy, client), one count column per worker.
      concurrency: SharedConcurrencyTable.create(n).buffer,
      // Requests, pending requests and connections per cluster, one column per worker.
      breakers: BreakerTable.create(n).buffer,
    };
    for (let i = 0; i < n; i++) this.threads.push(this.spawn(i));
    this.ready = Promise.all(this.threads.map((t, index) => this.init(t, index))).then(() => {});
    this.timer = setInterval(() => {
      this.collect().catch((e) => opts.log.debug("worker metrics", { error: String(e) }));
    }, 1000);
    Deno.unrefTimer(this.timer as unknown as number);
    // A scrape folds the workers' latest figures in first, so /metrics is
    // current rather than up to a second behind.
    const orig = registry.metrics;
    registry.metrics = async () => {
      await this.collect().catch(() => {});
      return await orig.call(registry);
    };
    this.restoreRegistry = () => {
      registry.metrics = orig;
    };
  }

  private spawn(index: number): Thread {
    return new Thread((e) => {
      this.opts.log.error("data-plane worker crashed; restarting it", {
        worker: index,
        error: e.message,
      });
      if (!this.closed) void this.restart(index);
    });
  }

  private async init(t: Thread, index: number): Promise<void> {
    const r = await t.call({
      type: "init",
      logLevel: this.opts.logLevel,
      accessLog: this.opts.accessLog,
      index,
      rateLimits: this.shared.rateLimits,
      roundRobin: this.shared.roundRobin,
      concurrency: this.shared.concurrency,
      breakers: this.shared.breakers,
    });
    if (!r.ok) throw new Error(`worker ${index} failed to start: ${r.error}`);
  }

  /** Replaces a crashed worker and puts it on the current snapshot. */
  private async restart(index: number): Promise<void> {
    try {
      this.threads[index].worker.terminate();
    } catch {
      // already gone
    }
    const t = this.spawn(index);
    this.threads[index] = t;
    try {
      await this.init(t, index);
      if (this.previous) {
        const r = await t.call({ type: "apply", snapshot: this.previous });
        if (!r.ok) throw new Error(r.error);
      }
      this.opts.log.info("data-plane worker restarted", { worker: index });
    } catch (e) {
      this.opts.log.error("data-plane worker restart failed", { worker: index, error: String(e) });
    }
  }

  get size(): number {
    return this.threads.length;
  }

  private chain: Promise<unknown> = Promise.resolve();

  /** Applies to every worker; concurrent calls run one after the other. */
  apply(snap: Snapshot): Promise<void> {
    const run = this.chain.then(() => this.applyNow(snap));
    this.chain = run.catch(() => {});
    return run;
  }

  private async applyNow(snap: Snapshot): Promise<void> {
    await this.ready;
    const replies = await Promise.all(
      this.threads.map((t) => t.call({ type: "apply", snapshot: snap })),
    );
    const failed = replies.find((r) => !r.ok);
    if (failed) {
      // Put the workers that took it back on the previous snapshot.
      if (this.previous) {
        await Promise.all(
          this.threads.map((t, i) =>
            replies[i].ok ? t.call({ type: "apply", snapshot: this.previous! }) : null
          ),
        );
      }
      throw new Error(failed.error ?? "a worker refused the snapshot");
    }
    this.previous = snap;
    this.listeners = (replies[0].listeners as BoundListener[]) ?? [];
  }

  async drain(ms: number): Promise<void> {
    await this.ready;
    await Promise.all(this.threads.map((t) => t.call({ type: "drain", ms })));
    await this.collect().catch(() => {});
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.restoreRegistry();
    await this.ready.catch(() => {});
    await Promise.all(this.threads.map((t) => t.call({ type: "close" })));
    for (const t of this.threads) t.worker.terminate();
  }

  private collecting: Promise<void> | null = null;

  /** Folds worker metrics into this thread's registry (counters by delta, gauges by sum). */
  collect(): Promise<void> {
    // One collection at a time: deltas are computed against the last one.
    if (!this.collecting) {
      this.collecting = this.collectNow().finally(() => {
        this.collecting = null;
      });
    }
    return this.collecting;
  }

  private async collectNow(): Promise<void> {
    const all = await Promise.all(this.threads.map((t) => t.call({ type: "metrics" })));
    const gaugeSums = new Map<string, number>();
    const l4Sums = new Map<string, number>();
    all.forEach((r, i) => {
      if (!r.ok) return;
      const t = this.threads[i];
      for (const m of r.metrics as MetricJson[]) {
        const l4Counter = L4_COUNTERS.get(m.name);
        if (l4Counter) {
          for (const v of m.values) {
            const labels: Record<string, string> = {};
            for (const [k, x] of Object.entries(v.labels)) labels[k] = String(x);
            const key = `${m.name}|${JSON.stringify(labels)}`;
            const d = v.value - (t.last.get(key) ?? 0);
            t.last.set(key, v.value);
            if (d > 0) l4Counter.inc(labels, d);
          }
        } else if (m.name === "novaedge_l4_active_connections") {
          for (const v of m.values) {
            const l = String(v.labels.listener);
            l4Sums.set(l, (l4Sums.get(l) ?? 0) + v.value);
          }
        } else if (m.name === "novaedge_http_requests_total") {
          for (const v of m.values) {
            const key = `req|${v.labels.route}|${v.labels.code}`;
            const d = v.value - (t.last.get(key) ?? 0);
            t.last.set(key, v.value);
            if (d > 0) {
              httpRequests.inc({ route: String(v.labels.route), code: String(v.labels.code) }, d);
            }
          }
        } else if (m.name === "novaedge_active_connections") {
          for (const v of m.values) {
            const l = String(v.labels.listener);
            gaugeSums.set(l, (gaugeSums.get(l) ?? 0) + v.value);
          }
        } else if (m.name === "novaedge_upstream_request_duration_seconds") {
          // Bucket deltas replayed at each bucket's upper bound: counts are
          // exact, the sum is approximate.
          const byCluster = new Map<string, { le: number; v: number }[]>();
          for (const v of m.values) {
            if (v.metricName !== "novaedge_upstream_request_duration_seconds_bucket") continue;
            const c = String(v.labels.cluster);
            const le = v.labels.le === "+Inf" ? Infinity : Number(v.labels.le);
            (byCluster.get(c) ?? byCluster.set(c, []).get(c)!).push({ le, v: v.value });
          }
          for (const [c, buckets] of byCluster) {
            buckets.sort((a, b) => a.le - b.le);
            let prevCum = 0;
            let prevLe = 0;
            for (const b of buckets) {
              const inBucket = b.v - prevCum;
              prevCum = b.v;
              const key = `lat|${c}|${b.le}`;
              const d = inBucket - (t.last.get(key) ?? 0);
              t.last.set(key, inBucket);
              const at = Number.isFinite(b.le) ? b.le : prevLe * 2;
              for (let k = 0; k < d; k++) upstreamLatency.observe({ cluster: c }, at);
              if (Number.isFinite(b.le)) prevLe = b.le;
            }
          }
        }
      }
    });
    for (const [l, v] of gaugeSums) activeConnections.set({ listener: l }, v);
    for (const [l, v] of l4Sums) l4Active.set({ listener: l }, v);
  }
}
