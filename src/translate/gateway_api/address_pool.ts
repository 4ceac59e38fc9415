/**
 * Address pool: gives each Gateway that has no address of its own (no IP in
 * `spec.addresses`, none from the caller, no ProxyVIP) one IP from a pool, so
 * Gateways sharing a port (the conformance suite puts most of its Gateways on
 * port 80) can live side by side. Stable without memory: a Gateway keeps the
 * pool address its status already shows when it is still free; otherwise a
 * hash of its name picks where probing starts.
 */
import type { Diagnostic, KubeObject } from "../../store/types.ts";
import { GATEWAY_GROUP } from "./api_types.ts";
import { shortHash } from "./generated.ts";

interface GatewayLike {
  readonly key: string;
  readonly spec: { gatewayClassName?: unknown; addresses?: unknown };
  readonly statusIp?: string;
}

function specIps(spec: GatewayLike["spec"]): string[] {
  if (!Array.isArray(spec.addresses)) return [];
  return (spec.addresses as { type?: unknown; value?: unknown }[])
    .filter((a) =>
      (a?.type ?? "IPAddress") === "IPAddress" && typeof a?.value === "string" && a.value !== ""
    )
    .map((a) => a.value as string);
}

/**
 * Allocations "<ns>/<name>" → [ip] for Gateways of `classes` that have no address,
 * and the Gateways left without one (pool exhausted).
 */
export function allocateGatewayAddresses(
  objects: readonly KubeObject[],
  classes: ReadonlySet<string>,
  pool: readonly string[],
  known: Readonly<Record<string, readonly string[]>>,
  diags: Diagnostic[],
): { allocated: Record<string, string[]>; unassigned: string[] } {
  const gateways: GatewayLike[] = [];
  for (const o of objects) {
    if (o.kind !== "Gateway" || !o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) continue;
    const spec = (o.spec ?? {}) as GatewayLike["spec"];
    if (typeof spec.gatewayClassName !== "string" || !classes.has(spec.gatewayClassName)) continue;
    const st = o.status as { addresses?: { value?: unknown }[] } | undefined;
    const statusIp = typeof st?.addresses?.[0]?.value === "string"
      ? st.addresses[0].value
      : undefined;
    gateways.push({
      key: `${o.metadata.namespace ?? "default"}/${o.metadata.name}`,
      spec,
      statusIp,
    });
  }
  gateways.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const used = new Set<string>();
  for (const g of gateways) {
    for (const ip of specIps(g.spec)) used.add(ip);
    for (const ip of known[g.key] ?? []) used.add(ip);
  }
  const wanting = gateways.filter((g) =>
    specIps(g.spec).length === 0 && known[g.key] === undefined
  );
  const out: Record<string, string[]> = {};
  const unassigned: string[] = [];
  const inPool = new Set(pool);
  // Keep what the status already shows, when still free.
  for (const g of wanting) {
    if (g.statusIp !== undefined && inPool.has(g.statusIp) && !used.has(g.statusIp)) {
      used.add(g.statusIp);
      out[g.key] = [g.statusIp];
    }
  }
  for (const g of wanting) {
    if (out[g.key] || pool.length === 0) continue;
    const start = parseInt(shortHash(g.key), 16) % pool.length;
    let ip: string | undefined;
    for (let i = 0; i < pool.length && ip === undefined; i++) {
      const cand = pool[(start + i) % pool.length];
      if (!used.has(cand)) ip = cand;
    }
    if (ip === undefined) {
      diags.push({
        severity: "warning",
        source: `Gateway/${g.key}`,
        message:
          `the gateway address pool (${pool.length} addresses) is exhausted; no address for this Gateway`,
      });
      unassigned.push(g.key);
      continue;
    }
    used.add(ip);
    out[g.key] = [ip];
  }
  return { allocated: out, unassigned };
}
