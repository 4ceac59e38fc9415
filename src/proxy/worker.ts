/**
 * Entry point of a data-plane worker thread: one LocalDataPlane bound with
 * SO_REUSEPORT, driven by messages from DataPlane (mod.ts) on the main thread.
 * Metrics live in this thread's registry and are sent on request.
 */
/// <reference lib="deno.worker" />
import { LocalDataPlane } from "./local.ts";
import { logger, type LogLevel, setLogLevel } from "../observe/log.ts";
import { registry } from "../observe/metrics.ts";
import type { Snapshot } from "../snapshot/types.ts";
import { useSharedRateLimits } from "./policy/shared_rate_limit.ts";
import { useSharedConcurrency } from "./policy/concurrency.ts";
import { shareRoundRobin } from "./lb/round_robin.ts";
import { useSharedBreakers } from "./core/shared_breaker.ts";

export type WorkerRequest =
  | {
    id: number;
    type: "init";
    logLevel: LogLevel;
    accessLog: boolean;
    index: number;
    /** Rate-limit buckets shared by all workers (SharedBucketTable). */
    rateLimits?: SharedArrayBuffer;
    /** Round-robin counters shared by all workers (lb/round_robin.ts). */
    roundRobin?: SharedArrayBuffer;
    /** Requests in progress per (policy, client) (SharedConcurrencyTable). */
    concurrency?: SharedArrayBuffer;
    /** Circuit-breaker counts per cluster (core/shared_breaker.ts BreakerTable). */
    breakers?: SharedArrayBuffer;
  }
  | { id: number; type: "apply"; snapshot: Snapshot }
  | { id: number; type: "drain"; ms: number }
  | { id: number; type: "close" }
  | { id: number; type: "metrics" }
  /** Diagnostics: throw an uncaught error in this worker (crash-recovery tests). */
  | { id: number; type: "crash" };

export interface WorkerReply {
  id: number;
  ok: boolean;
  error?: string;
  listeners?: unknown;
  metrics?: unknown;
}

let dp: LocalDataPlane | null = null;

self.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  const m = e.data;
  const reply = (r: Omit<WorkerReply, "id">) => self.postMessage({ id: m.id, ...r });
  try {
    switch (m.type) {
      case "init":
        setLogLevel(m.logLevel);
        useSharedRateLimits(m.rateLimits ?? null);
        shareRoundRobin(m.roundRobin ?? null, m.index);
        // Also drops the holds a crashed predecessor with this index left.
        useSharedConcurrency(m.concurrency ?? null, m.index);
        // Same for the circuit-breaker counts (requests, connections) it held.
        useSharedBreakers(m.breakers ?? null, m.index);
        dp = new LocalDataPlane({
          log: logger(`dataplane.w${m.index}`),
          accessLog: m.accessLog,
          reusePort: true,
          // UDP sessions live in one thread: only the first worker binds UDP ports.
          udp: m.index === 0,
        });
        return reply({ ok: true });
      case "apply":
        await dp!.apply(m.snapshot);
        return reply({ ok: true, listeners: dp!.listeners() });
      case "drain":
        await dp!.drain(m.ms);
        return reply({ ok: true });
      case "close":
        await dp!.close();
        return reply({ ok: true });
      case "crash":
        setTimeout(() => {
          throw new Error("crash requested");
        }, 0);
        return reply({ ok: true });
      case "metrics":
        return reply({ ok: true, metrics: await registry.getMetricsAsJSON() });
    }
  } catch (err) {
    reply({ ok: false, error: err instanceof Error ? err.message : String(err) });
  }
};
