/**
 * ProxyVIP → snapshot Vips: which nodes may announce (Node objects matching the
 * selector; the local node stands in when no Node objects exist, as in
 * directory mode) and which gateways the VIP fronts.
 */
import type { Typed } from "../crds/mod.ts";
import { durationMs, selectorMatches } from "../crds/common.ts";
import type { BuildContext } from "./build_context.ts";
import type { Vip } from "./types.ts";
import { cmp } from "./object_index.ts";

export function buildVips(
  ctx: BuildContext,
  vips: readonly Typed<"ProxyVIP">[],
  localNode: string | undefined,
): Vip[] {
  const out: Vip[] = [];
  const nodes = ctx.index.all("Node").map((n) => ({
    name: n.metadata.name,
    labels: n.metadata.labels ?? {},
  }));
  if (localNode && !nodes.some((n) => n.name === localNode)) {
    nodes.push({ name: localNode, labels: { "kubernetes.io/hostname": localNode } });
  }
  nodes.sort((a, b) => cmp(a.name, b.name));
  const addresses = new Map<string, string>();
  for (const v of vips) {
    const st = ctx.status(v.source);
    const s = v.spec;
    const name = `${v.namespace}/${v.name}`;
    const owner = addresses.get(s.address);
    if (owner) {
      const msg = `address ${s.address} is already used by ProxyVIP ${owner}`;
      st.set("Accepted", false, "AddressConflict", `spec.address: ${msg}`);
      ctx.error(v.source, "spec.address", msg);
      continue;
    }
    addresses.set(s.address, name);
    const gateways: string[] = [];
    (s.gatewayRefs ?? []).forEach((g, i) => {
      const key = `${g.namespace ?? v.namespace}/${g.name}`;
      if (!ctx.index.get("ProxyGateway", key)) {
        const msg = `ProxyGateway ${key} not found`;
        st.set("ResolvedRefs", false, "GatewayNotFound", `spec.gatewayRefs[${i}]: ${msg}`);
        ctx.error(v.source, `spec.gatewayRefs[${i}]`, msg);
        return;
      }
      gateways.push(key);
    });
    const eligible = nodes.filter((n) =>
      !s.nodeSelector || selectorMatches(s.nodeSelector, n.labels)
    )
      .map((n) => n.name);
    out.push({
      name,
      address: s.address,
      mode: s.mode,
      nodes: eligible,
      gateways: [...new Set(gateways)].sort(),
      ...(s.bgp
        ? {
          bgp: {
            localAsn: s.bgp.localASN,
            routerId: s.bgp.routerID ?? "",
            peers: s.bgp.peers.map((p) => ({
              address: p.address,
              asn: p.asn,
              port: p.port ?? 179,
              holdTimeSeconds: Math.floor(durationMs(p.holdTime) / 1000),
            })),
            communities: [...(s.bgp.communities ?? [])],
            localPref: s.bgp.localPref ?? 0,
          },
        }
        : {}),
      ...(s.ospf
        ? {
          ospf: { area: s.ospf.area, cost: s.ospf.cost ?? 0, routerId: s.ospf.routerID ?? "" },
        }
        : {}),
      interface: s.interface ?? "",
    });
    st.set("Accepted", true, "Accepted", "VIP accepted");
    if (!st.isFalse("ResolvedRefs")) {
      st.set("ResolvedRefs", true, "ResolvedRefs", "all references resolved");
    }
    if (eligible.length) {
      st.set("Programmed", true, "Programmed", `${eligible.length} eligible node(s)`);
    } else {
      st.set("Programmed", false, "NoEligibleNodes", "spec.nodeSelector: no node matches");
      ctx.warn(v.source, "spec.nodeSelector", "no node matches; the VIP is not announced");
    }
    st.extra.nodes = eligible;
  }
  return out;
}
