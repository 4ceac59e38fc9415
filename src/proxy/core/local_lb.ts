/**
 * TEMPORARY balancer used until src/proxy/lb lands: weighted round robin over
 * ready, healthy endpoints, honouring `exclude`. Same Balancer contract.
 */
import type { Cluster } from "../../snapshot/types.ts";
import type { Balancer, Pick, PickContext } from "../lb/types.ts";

export function createLocalBalancer(cluster: Cluster): Balancer {
  const picks: Pick[] = cluster.endpoints.map((e) => ({
    endpoint: e,
    key: `${e.address}:${e.port}`,
  }));
  const unhealthy = new Set<string>();
  const active = new Map<string, number>();
  let rr = 0;
  return {
    pick(_ctx: PickContext, exclude?: ReadonlySet<string>): Pick | null {
      const n = picks.length;
      for (let i = 0; i < n; i++) {
        const p = picks[(rr + i) % n];
        if (!p.endpoint.ready || unhealthy.has(p.key)) continue;
        if (exclude && exclude.has(p.key)) continue;
        rr = (rr + i + 1) % n;
        return p;
      }
      return null;
    },
    onStart(key: string) {
      active.set(key, (active.get(key) ?? 0) + 1);
    },
    onEnd(key: string) {
      active.set(key, (active.get(key) ?? 1) - 1);
    },
    setHealthy(key: string, healthy: boolean) {
      if (healthy) unhealthy.delete(key);
      else unhealthy.add(key);
    },
  };
}
