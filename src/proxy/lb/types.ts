/**
 * The load-balancer contract: one Balancer per cluster, built at snapshot
 * apply time; `pick` runs per request and must be cheap.
 */
import type { Cluster, Endpoint } from "../../snapshot/types.ts";

export interface PickContext {
  readonly sourceIp: string;
  header(name: string): string | null;
  cookie(name: string): string | null;
}

export interface Pick {
  readonly endpoint: Endpoint;
  /** "address:port", stable across snapshots while the endpoint exists. */
  readonly key: string;
  /** A Set-Cookie value to add to the response (session affinity), if any. */
  readonly setCookie?: string;
}

export interface Balancer {
  /** Choose an endpoint; `exclude` holds keys already tried by this request (retries). */
  pick(ctx: PickContext, exclude?: ReadonlySet<string>): Pick | null;
  /** Request lifecycle hooks for least-request accounting. */
  onStart(key: string): void;
  onEnd(key: string): void;
  /** Health and outlier detection flip endpoints in and out without a new snapshot. */
  setHealthy(key: string, healthy: boolean): void;
}

export type BalancerFactory = (cluster: Cluster) => Balancer;
