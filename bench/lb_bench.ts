/**
 * Per-request pick cost of each load-balancing policy (16 and 256 endpoints),
 * plus affinity hits. Run: deno bench bench/lb_bench.ts
 */
import type { Cluster, Endpoint, LbPolicy } from "../src/snapshot/types.ts";
import type { PickContext } from "../src/proxy/lb/types.ts";
import { createBalancer } from "../src/proxy/lb/mod.ts";

function endpoints(n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => ({
    address: `10.1.${i >> 8}.${i & 255}`,
    port: 8080,
    weight: 1 + (i % 3),
    ready: true,
    node: "",
    zone: "",
  }));
}

function cluster(policy: LbPolicy, n: number, affinity = false): Cluster {
  return {
    name: "bench",
    protocol: "HTTP",
    lb: {
      policy,
      hashOn: { header: "x-user", cookie: "", sourceIp: true },
      sessionAffinity: affinity ? { cookie: "aff", ttlSeconds: 0 } : undefined,
    },
    endpoints: endpoints(n),
    connectTimeoutMs: 0,
    requestTimeoutMs: 0,
    idleTimeoutMs: 0,
    hostRewrite: "",
    maxConnectionsPerEndpoint: 0,
  };
}

const ctxs: PickContext[] = Array.from({ length: 1024 }, (_, i) => ({
  sourceIp: `198.51.${i >> 8}.${i & 255}`,
  header: (n: string) => (n === "x-user" ? `user-${i}` : null),
  cookie: () => null,
}));

const POLICIES: LbPolicy[] = [
  "RoundRobin",
  "WeightedRoundRobin",
  "Random",
  "LeastRequest",
  "RingHash",
  "Maglev",
];

for (const n of [16, 256]) {
  for (const policy of POLICIES) {
    const b = createBalancer(cluster(policy, n));
    let i = 0;
    Deno.bench({ name: `${policy} ${n} endpoints`, group: `n=${n}` }, () => {
      const p = b.pick(ctxs[i++ & 1023]);
      if (p !== null) {
        b.onStart(p.key);
        b.onEnd(p.key);
      }
    });
  }
}

{
  const b = createBalancer(cluster("RoundRobin", 16, true));
  const set = b.pick(ctxs[0])!.setCookie!;
  const value = set.slice(set.indexOf("=") + 1, set.indexOf(";"));
  const ctx: PickContext = { sourceIp: "", header: () => null, cookie: () => value };
  Deno.bench({ name: "affinity cookie hit", group: "affinity" }, () => {
    b.pick(ctx);
  });
}
