/**
 * Randomized invariants for every policy (fixed seeds, bounded): whatever the
 * sequence of health flips, exclusions and in-flight counts, a pick is always
 * ready, healthy and not excluded, and null exactly when no such endpoint exists.
 */
import assert from "node:assert/strict";
import type { LbPolicy } from "../../../src/snapshot/types.ts";
import { createBalancer, endpointKey } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, ep, rng } from "./helpers.ts";

const POLICIES: LbPolicy[] = [
  "RoundRobin",
  "WeightedRoundRobin",
  "Random",
  "LeastRequest",
  "RingHash",
  "Maglev",
];

for (const policy of POLICIES) {
  for (const affinity of [false, true]) {
    Deno.test(`property(${policy}${affinity ? "+affinity" : ""}): picks respect readiness, health and exclusion`, () => {
      const r = rng(policy.length * 31 + (affinity ? 7 : 0));
      for (let round = 0; round < 15; round++) {
        const n = 1 + Math.floor(r() * 8);
        const endpoints = Array.from(
          { length: n },
          (_, i) =>
            ep(i % 3 === 2 ? `fd00::${i + 1}` : `10.0.0.${i + 1}`, {
              weight: Math.floor(r() * 4),
              ready: r() > 0.15,
            }),
        );
        const keys = endpoints.map(endpointKey);
        const b = createBalancer(
          cluster(policy, endpoints, {
            hashOn: { header: "x-k", cookie: "", sourceIp: true },
            sessionAffinity: affinity ? { cookie: "aff", ttlSeconds: 0 } : undefined,
          }),
          { random: rng(round + 1), maglevTableSize: 251 },
        );
        const healthy = new Set(keys);
        let lastCookie: string | null = null;
        for (let step = 0; step < 300; step++) {
          const action = r();
          if (action < 0.1) {
            const k = keys[Math.floor(r() * n)];
            const h = r() < 0.5;
            b.setHealthy(k, h);
            if (h) healthy.add(k);
            else healthy.delete(k);
            continue;
          }
          const exclude = new Set<string>();
          if (r() < 0.3) { for (const k of keys) if (r() < 0.4) exclude.add(k); }
          const allowed = keys.filter((k, i) =>
            endpoints[i].ready && healthy.has(k) && !exclude.has(k)
          );
          const c = ctx(
            `198.51.100.${Math.floor(r() * 50)}`,
            r() < 0.5 ? { "x-k": `k${step}` } : {},
            lastCookie ? { aff: lastCookie } : {},
          );
          const p = b.pick(c, exclude);
          if (allowed.length === 0) {
            assert.equal(p, null, `step ${step}`);
            continue;
          }
          assert.ok(p !== null, `step ${step}: expected a pick among ${allowed}`);
          assert.ok(allowed.includes(p.key), `step ${step}: picked ${p.key}, allowed ${allowed}`);
          if (p.setCookie) lastCookie = p.setCookie.slice(4, p.setCookie.indexOf(";"));
          if (r() < 0.5) b.onStart(p.key);
          if (r() < 0.4) b.onEnd(p.key);
        }
      }
    });
  }
}
