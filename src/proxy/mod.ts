/**
 * The agent's data plane: HTTP listeners (routing, filters, load balancing,
 * upstream pools) and L4 listeners (TCP, TLS by SNI, UDP; l4/), fed by
 * snapshots. See DESIGN.md for the engine choices.
 *
 * ```ts
 * const dp = new DataPlane({ log: logger("dataplane"), workers: 0 }); // 0 = one per core
 * await dp.apply(snapshot);      // throws (old config keeps serving) when it cannot apply
 * await dp.drain(30_000);        // SIGTERM: stop accepting, finish in-flight work
 * await dp.close();
 * ```
 *
 * With more than one worker, each worker thread runs its own LocalDataPlane
 * on the same ports (SO_REUSEPORT, needs --unstable-net) and every snapshot is
 * applied to all of them; metrics are gathered from the workers once a second.
 */
import type { Cluster, Snapshot } from "../snapshot/types.ts";
import { getLogLevel, type Logger, logger } from "../observe/log.ts";
import { setSnapshotVersion, snapshotApplies } from "../observe/metrics.ts";
import type { Balancer } from "./lb/types.ts";
import { type BoundListener, LocalDataPlane } from "./local.ts";
import { WorkerSet } from "./workers.ts";

export type { BoundListener } from "./local.ts";
export type { SocketConfig } from "./core/proxy.ts";

export interface DataPlaneOptions {
  readonly log?: Logger;
  /**
   * Worker threads: 1 (default) serves in this thread; 0 means one per core;
   * N > 1 starts N workers sharing the ports with SO_REUSEPORT (needs
   * --unstable-net; falls back to one thread when unavailable).
   */
  readonly workers?: number;
  /** One access-log line per request (default true). */
  readonly accessLog?: boolean;
  /** Bind listeners with SO_REUSEPORT in single-thread mode too (default false). */
  readonly reusePort?: boolean;
  /** Balancer factory (single-thread mode; tests). */
  readonly balancerFactory?: (c: Cluster) => Balancer;
}

/** True when this runtime lets two sockets share a port (SO_REUSEPORT). */
function reusePortWorks(): boolean {
  try {
    const opts = { hostname: "127.0.0.1", port: 0, reusePort: true } as Deno.TcpListenOptions;
    const a = Deno.listen(opts);
    const port = (a.addr as Deno.NetAddr).port;
    try {
      const b = Deno.listen({ ...opts, port } as Deno.TcpListenOptions);
      b.close();
      return true;
    } finally {
      a.close();
    }
  } catch {
    return false;
  }
}

export class DataPlane {
  private log: Logger;
  private local: LocalDataPlane | null = null;
  private workers: WorkerSet | null = null;
  private version: string | null = null;

  constructor(opts: DataPlaneOptions = {}) {
    this.log = opts.log ?? logger("dataplane");
    let n = opts.workers ?? 1;
    if (n === 0) n = Math.max(1, navigator.hardwareConcurrency || 1);
    if (n > 1 && !reusePortWorks()) {
      this.log.warn("SO_REUSEPORT unavailable (run with --unstable-net): serving from one thread", {
        requestedWorkers: n,
      });
      n = 1;
    }
    if (n > 1 && !WorkerSet.available()) {
      this.log.warn("worker module not found (bundled build?): serving from one thread", {
        requestedWorkers: n,
      });
      n = 1;
    }
    if (n > 1) {
      this.workers = new WorkerSet(n, {
        logLevel: getLogLevel(),
        accessLog: opts.accessLog ?? true,
        log: this.log,
      });
      this.log.info("data plane workers started", { workers: n });
    } else {
      this.local = new LocalDataPlane({
        log: this.log,
        accessLog: opts.accessLog,
        reusePort: opts.reusePort,
        balancerFactory: opts.balancerFactory,
      });
    }
  }

  /** Version of the snapshot in force, or null before the first apply. */
  get activeVersion(): string | null {
    return this.version;
  }

  /** Number of threads serving traffic. */
  get workerCount(): number {
    return this.workers ? this.workers.size : 1;
  }

  /** Listeners currently bound (ports resolved when 0 was asked). */
  listeners(): BoundListener[] {
    return this.local ? this.local.listeners() : this.workers!.listeners;
  }

  /**
   * Builds the snapshot's listeners, routers and pools off to the side, binds
   * new ports, then swaps. Throws with the reason when anything cannot be
   * built or bound; the previous config keeps serving untouched.
   */
  async apply(snapshot: Snapshot): Promise<void> {
    try {
      if (this.local) await this.local.apply(snapshot);
      else await this.workers!.apply(snapshot);
    } catch (e) {
      snapshotApplies.inc({ result: "rejected" });
      throw e;
    }
    this.version = snapshot.version;
    setSnapshotVersion(snapshot.version);
    snapshotApplies.inc({ result: "applied" });
  }

  /** SIGTERM: stop accepting, finish in-flight work up to `deadlineMs`, then close what is left. */
  async drain(deadlineMs: number): Promise<void> {
    if (this.local) await this.local.drain(deadlineMs);
    else await this.workers!.drain(deadlineMs);
  }

  /** Closes every listener, connection and pool (and the workers). */
  async close(): Promise<void> {
    if (this.local) await this.local.close();
    else await this.workers!.close();
  }
}
