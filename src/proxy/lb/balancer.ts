/**
 * createBalancer: one Balancer per cluster, built when a snapshot is applied.
 * Composes the endpoint set (health, in-flight counts), the cluster's policy
 * and optional cookie session affinity.
 */
import type { Cluster, CookieAffinity } from "../../snapshot/types.ts";
import type { Balancer, Pick, PickContext } from "./types.ts";
import { EndpointSet, type EndpointState } from "./endpoints.ts";
import type { Picker, RandomSource } from "./picker.ts";
import { RoundRobinPicker } from "./round_robin.ts";
import { WeightedRoundRobinPicker } from "./weighted_round_robin.ts";
import { RandomPicker } from "./random.ts";
import { LeastRequestPicker } from "./least_request.ts";
import { RingHashPicker } from "./ring_hash.ts";
import { MAGLEV_TABLE_SIZE, MaglevPicker } from "./maglev.ts";

/** Optional knobs, mostly for tests. */
export interface BalancerOptions {
  /** Random source in [0, 1) (default Math.random). */
  readonly random?: RandomSource;
  /** Maglev table size; must be prime and larger than the endpoint count (default 65537). */
  readonly maglevTableSize?: number;
  /**
   * Keys that start unhealthy, e.g. carried over from the previous snapshot's
   * balancer so a config change does not resurrect a failed endpoint.
   */
  readonly unhealthy?: Iterable<string>;
}

/** One endpoint as the balancer sees it (admin pages, `novaedge ctl`). */
export interface EndpointStatus {
  readonly key: string;
  readonly ready: boolean;
  readonly healthy: boolean;
  readonly weight: number;
  readonly active: number;
}

/** Set-Cookie header value pinning a client to the endpoint whose cookie value is `value`. */
export function affinityCookie(a: CookieAffinity, value: string): string {
  const ttl = a.ttlSeconds > 0 ? `; Max-Age=${a.ttlSeconds}` : "";
  return `${a.cookie}=${value}; Path=/; HttpOnly${ttl}`;
}

function pickerFor(cluster: Cluster, set: EndpointSet, opts: BalancerOptions): Picker {
  const random = opts.random ?? Math.random;
  const hashOn = cluster.lb.hashOn;
  switch (cluster.lb.policy) {
    case "WeightedRoundRobin":
      return new WeightedRoundRobinPicker(set, random);
    case "Random":
      return new RandomPicker(set, random);
    case "LeastRequest":
      return new LeastRequestPicker(set, random);
    case "RingHash":
      return new RingHashPicker(set, hashOn, random);
    case "Maglev":
      return new MaglevPicker(set, hashOn, random, opts.maglevTableSize ?? MAGLEV_TABLE_SIZE);
    case "RoundRobin":
    default:
      return new RoundRobinPicker(set, random, cluster.name);
  }
}

class ClusterBalancer implements Balancer {
  readonly #set: EndpointSet;
  readonly #picker: Picker;
  readonly #affinity: CookieAffinity | undefined;
  readonly #byCookie: Map<string, EndpointState> | undefined;

  constructor(cluster: Cluster, opts: BalancerOptions) {
    this.#set = new EndpointSet(cluster.endpoints);
    for (const key of opts.unhealthy ?? []) this.#set.setHealthy(key, false);
    this.#picker = pickerFor(cluster, this.#set, opts);
    const a = cluster.lb.sessionAffinity;
    if (a !== undefined && a.cookie !== "") {
      this.#affinity = a;
      this.#byCookie = new Map();
      for (const s of this.#set.all) {
        this.#byCookie.set(s.cookieValue, s);
        s.pickWithCookie = Object.freeze({
          endpoint: s.endpoint,
          key: s.key,
          setCookie: affinityCookie(a, s.cookieValue),
        });
      }
    }
  }

  pick(ctx: PickContext, exclude?: ReadonlySet<string>): Pick | null {
    const a = this.#affinity;
    if (a === undefined) return this.#picker.pick(ctx, exclude)?.pick ?? null;
    const v = ctx.cookie(a.cookie);
    if (v !== null) {
      const s = this.#byCookie!.get(v);
      if (s !== undefined && s.usable && !(exclude !== undefined && exclude.has(s.key))) {
        return s.pick;
      }
    }
    return this.#picker.pick(ctx, exclude)?.pickWithCookie ?? null;
  }

  onStart(key: string): void {
    const s = this.#set.byKey.get(key);
    if (s !== undefined) s.active++;
  }

  onEnd(key: string): void {
    const s = this.#set.byKey.get(key);
    if (s !== undefined && s.active > 0) s.active--;
  }

  setHealthy(key: string, healthy: boolean): void {
    this.#set.setHealthy(key, healthy);
  }

  /** Requests in flight on `key` (diagnostics). */
  active(key: string): number {
    return this.#set.byKey.get(key)?.active ?? 0;
  }

  endpoints(): EndpointStatus[] {
    return this.#set.all.map((s) => ({
      key: s.key,
      ready: s.endpoint.ready,
      healthy: s.healthy,
      weight: s.weight,
      active: s.active,
    }));
  }
}

/** Balancer with diagnostics used by the admin surface and tests. */
export interface ClusterBalancerView extends Balancer {
  /** Requests in flight on `key`. */
  active(key: string): number;
  /** Every endpoint with its state, in cluster order. */
  endpoints(): EndpointStatus[];
}

/**
 * Builds the balancer for `cluster`. Only `ready` endpoints that are healthy
 * (see `setHealthy`; all start healthy) are picked; weights of 0 count as 1;
 * endpoints repeating an address:port are merged. Returns null picks when no
 * endpoint is usable.
 */
export function createBalancer(cluster: Cluster, opts: BalancerOptions = {}): ClusterBalancerView {
  return new ClusterBalancer(cluster, opts);
}
