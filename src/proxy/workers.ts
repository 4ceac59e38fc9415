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
import type { WorkerReply, WorkerRequest } from "./worker.ts";

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

  constructor() {
    this.worker = new Worker(WORKER_URL, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const f = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      if (f) f(e.data);
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

  static available(): boolean {
    if (WORKER_URL.protocol !== "file:") return true;
    try {
      Deno.statSync(WORKER_URL);
      return true;
    } catch {
      return false;
    }
  }

  constructor(n: number, opts: { logLevel: LogLevel; accessLog: boolean; log: Logger }) {
    for (let i = 0; i < n; i++) this.threads.push(new Thread());
    this.ready = Promise.all(
      this.threads.map((t, index) =>
        t.call({ type: "init", logLevel: opts.logLevel, accessLog: opts.accessLog, index }).then(
          (r) => {
            if (!r.ok) throw new Error(`worker ${index} failed to start: ${r.error}`);
          },
        )
      ),
    ).then(() => {});
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

  get size(): number {
    return this.threads.length;
  }

  async apply(snap: Snapshot): Promise<void> {
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
    all.forEach((r, i) => {
      if (!r.ok) return;
      const t = this.threads[i];
      for (const m of r.metrics as MetricJson[]) {
        if (m.name === "novaedge_http_requests_total") {
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
  }
}
