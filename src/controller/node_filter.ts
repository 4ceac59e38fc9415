/**
 * Pure: cut the cluster-wide snapshot down to what one node serves, so an
 * agent never receives another node's VIPs or the private keys of gateways it
 * does not serve.
 *
 * A gateway fronted by VIPs is served only on nodes eligible for one of those
 * VIPs; a gateway with no VIP is served on every node (hostNetwork agents bind
 * its ports everywhere). Everything else follows by reference: listeners of
 * kept gateways, routes attached to kept listeners, clusters those routes (or
 * their mirrors) use, secrets kept listeners or clusters name, and policies
 * kept routes reference or that target a kept gateway or route. The version is
 * recomputed from the filtered content, so it stays a pure function of the
 * inputs and every replica computes the same one.
 */
import type { Filter, Snapshot } from "../snapshot/types.ts";
import { snapshotVersion } from "../snapshot/version.ts";

function mirrorClusters(filters: readonly Filter[], out: Set<string>): void {
  for (const f of filters) if (f.requestMirror?.cluster) out.add(f.requestMirror.cluster);
}

/** Object key "<ns>/<name>" of a route rule name "<ns>/<route>/<rule index>". */
export function routeObjectKey(routeName: string): string {
  const parts = routeName.split("/");
  return parts.length >= 2 ? `${parts[0]}/${parts[1]}` : routeName;
}

/** Names of the VIPs `node` may announce: nodes with the same set get the same snapshot. */
export function nodeSignature(s: Snapshot, node: string): string {
  return s.vips.filter((v) => v.nodes.includes(node)).map((v) => v.name).join("\n");
}

export function snapshotForNode(s: Snapshot, node: string): Snapshot {
  const vips = s.vips.filter((v) => v.nodes.includes(node));
  const fronted = new Set(s.vips.flatMap((v) => v.gateways));
  const servedHere = new Set(vips.flatMap((v) => v.gateways));
  const gatewayKept = (g: string) => !fronted.has(g) || servedHere.has(g);

  const listeners = s.listeners.filter((l) => gatewayKept(l.gateway));
  // Nothing to cut (no VIPs, or this node is eligible for all of them): the
  // node serves the cluster snapshot itself, identical to --config-dir's.
  if (vips.length === s.vips.length && listeners.length === s.listeners.length) return s;
  const listenerNames = new Set(listeners.map((l) => l.name));
  const routes = s.routes
    .map((r) => ({ ...r, listeners: r.listeners.filter((l) => listenerNames.has(l)) }))
    .filter((r) => r.listeners.length > 0);
  // Unchanged routes keep their identity (cheap, and equal canonical form).
  const routesOut = routes.map((r, i) => {
    const orig = s.routes.find((x) => x.name === r.name);
    return orig && orig.listeners.length === r.listeners.length ? orig : routes[i];
  });

  const clusterNames = new Set<string>();
  const policyNames = new Set<string>();
  for (const r of routesOut) {
    for (const b of r.backends) {
      clusterNames.add(b.cluster);
      mirrorClusters(b.filters, clusterNames);
    }
    mirrorClusters(r.filters, clusterNames);
    for (const p of r.policies) policyNames.add(p);
    for (const f of r.filters) if (f.extensionRef) policyNames.add(f.extensionRef);
  }
  const keptGateways = new Set(listeners.map((l) => l.gateway));
  const keptRouteObjects = new Set(routesOut.map((r) => routeObjectKey(r.name)));
  const targetKept = (t: string) => {
    // "<Kind>/<ns>/<name>[/<section>]"
    const [, ns, name] = t.split("/");
    const key = `${ns}/${name}`;
    return keptGateways.has(key) || keptRouteObjects.has(key);
  };
  const policies = s.policies.filter((p) => policyNames.has(p.name) || p.targets.some(targetKept));
  const clusters = s.clusters.filter((c) => clusterNames.has(c.name));

  const secretNames = new Set<string>();
  for (const l of listeners) for (const c of l.tls?.certificates ?? []) secretNames.add(c);
  for (const c of clusters) if (c.tls?.clientCert) secretNames.add(c.tls.clientCert);
  const secrets = s.secrets.filter((e) => secretNames.has(e.name));

  const body = { listeners, routes: routesOut, clusters, vips, policies, secrets };
  return { version: snapshotVersion(body), ...body };
}
