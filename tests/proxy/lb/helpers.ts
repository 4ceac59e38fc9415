/** Builders for balancer tests. */
import type { Cluster, Endpoint, LbPolicy, LoadBalancing } from "../../../src/snapshot/types.ts";
import type { PickContext } from "../../../src/proxy/lb/types.ts";

export function ep(address: string, opts: Partial<Endpoint> = {}): Endpoint {
  return {
    address,
    port: opts.port ?? 8080,
    weight: opts.weight ?? 1,
    ready: opts.ready ?? true,
    node: "",
    zone: "",
  };
}

/** n endpoints 10.0.0.1..n, port 8080. */
export function eps(n: number, opts: Partial<Endpoint> = {}): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ep(`10.0.${(i + 1) >> 8}.${(i + 1) & 255}`, opts));
}

export function cluster(
  policy: LbPolicy,
  endpoints: Endpoint[],
  lb: Partial<LoadBalancing> = {},
): Cluster {
  return {
    name: "ns/svc",
    protocol: "HTTP",
    lb: { policy, ...lb },
    endpoints,
    connectTimeoutMs: 0,
    requestTimeoutMs: 0,
    idleTimeoutMs: 0,
    hostRewrite: "",
    maxConnectionsPerEndpoint: 0,
  };
}

export function ctx(
  sourceIp = "192.0.2.1",
  headers: Record<string, string> = {},
  cookies: Record<string, string> = {},
): PickContext {
  return {
    sourceIp,
    header: (n) => headers[n] ?? null,
    cookie: (n) => cookies[n] ?? null,
  };
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Counts picks per key over `n` calls of `f`. */
export function tally(n: number, f: (i: number) => string | null): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const k = f(i) ?? "null";
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
