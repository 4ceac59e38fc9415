/**
 * Per-balancer endpoint state: stable keys, weights, health, in-flight counts
 * and the pre-built Pick objects returned to callers (so picking allocates
 * nothing). `EndpointSet.available` is the ready-and-healthy subset, rebuilt
 * only when health flips.
 */
import type { Endpoint } from "../../snapshot/types.ts";
import type { Pick } from "./types.ts";
import { hash32 } from "./hash.ts";

/** "address:port", with IPv6 addresses in brackets ("[::1]:8080"). */
export function endpointKey(e: Pick["endpoint"]): string {
  return e.address.includes(":") ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Mutable state of one endpoint inside one balancer. */
export class EndpointState {
  readonly key: string;
  /** Endpoint.weight, with 0 (unset) meaning 1. */
  readonly weight: number;
  healthy = true;
  /** Requests in flight (onStart − onEnd). */
  active = 0;
  /** Smooth weighted round robin running weight. */
  current = 0;
  readonly pick: Pick;
  /** Opaque session-affinity cookie value naming this endpoint. */
  readonly cookieValue: string;
  /** Pick carrying a Set-Cookie, built when affinity is configured. */
  pickWithCookie: Pick;

  constructor(readonly endpoint: Endpoint, readonly index: number) {
    this.key = endpointKey(endpoint);
    this.weight = endpoint.weight > 0 ? endpoint.weight : 1;
    this.pick = Object.freeze({ endpoint, key: this.key });
    this.pickWithCookie = this.pick;
    // Hex of two independent hashes: opaque (does not leak the address) and
    // collision-free in practice for the endpoint counts of one cluster.
    this.cookieValue = hash32(this.key, 0x9e3779b9).toString(16).padStart(8, "0") +
      hash32(this.key, 0x85ebca6b).toString(16).padStart(8, "0");
  }

  /** Whether this endpoint may receive traffic at all. */
  get usable(): boolean {
    return this.endpoint.ready && this.healthy;
  }
}

/** All endpoints of a cluster (deduplicated by key) and the usable subset. */
export class EndpointSet {
  readonly all: readonly EndpointState[];
  readonly byKey: ReadonlyMap<string, EndpointState>;
  available: EndpointState[] = [];
  /** Whether all usable endpoints carry the same weight (enables unweighted fast paths). */
  uniformWeights = true;
  /** Running weight totals of `available` (cumulative[i] = sum of weights 0..i). */
  cumulative: Float64Array = new Float64Array(0);
  /** Bumped whenever `available` changes. */
  generation = 0;

  constructor(endpoints: readonly Endpoint[]) {
    const byKey = new Map<string, EndpointState>();
    const all: EndpointState[] = [];
    for (const e of endpoints) {
      const key = endpointKey(e);
      if (byKey.has(key)) continue;
      const s = new EndpointState(e, all.length);
      byKey.set(key, s);
      all.push(s);
    }
    // Also accept the unbracketed "fd00::1:8080" form for IPv6 endpoints, so
    // callers that build keys as `${address}:${port}` still reach them.
    for (const s of all) {
      const plain = `${s.endpoint.address}:${s.endpoint.port}`;
      if (!byKey.has(plain)) byKey.set(plain, s);
    }
    this.all = all;
    this.byKey = byKey;
    this.refresh();
  }

  /** Flips health; returns true when availability changed. */
  setHealthy(key: string, healthy: boolean): boolean {
    const s = this.byKey.get(key);
    if (s === undefined || s.healthy === healthy) return false;
    s.healthy = healthy;
    this.refresh();
    return true;
  }

  private refresh(): void {
    this.available = this.all.filter((s) => s.usable);
    const w = this.available.length > 0 ? this.available[0].weight : 1;
    this.uniformWeights = this.available.every((s) => s.weight === w);
    this.cumulative = new Float64Array(this.available.length);
    let sum = 0;
    this.available.forEach((s, i) => this.cumulative[i] = sum += s.weight);
    this.generation++;
  }
}

/** Whether `s` is excluded by the retry set. */
export function isExcluded(s: EndpointState, exclude: ReadonlySet<string> | undefined): boolean {
  return exclude !== undefined && exclude.size !== 0 && exclude.has(s.key);
}

/** The usable endpoints minus `exclude` (allocates; only used on retries). */
export function candidates(
  set: EndpointSet,
  exclude: ReadonlySet<string> | undefined,
): readonly EndpointState[] {
  if (exclude === undefined || exclude.size === 0) return set.available;
  return set.available.filter((s) => !exclude.has(s.key));
}
