/**
 * The pure snapshot builder: Kubernetes objects in, `{snapshot, statuses,
 * diagnostics}` out. No Kubernetes client, no clock, no I/O; every output list
 * is sorted so the same inputs always give the same snapshot and version.
 */
import type { Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";
import { isNovaEdgeKind, NOVAEDGE_KINDS, parseNovaEdgeObject } from "../crds/mod.ts";
import type { NovaEdgeKind, Typed } from "../crds/mod.ts";
import { BuildContext } from "./build_context.ts";
import { buildGateways } from "./build_gateways.ts";
import { buildBackends } from "./build_backends.ts";
import { buildPolicies } from "./build_policies.ts";
import { buildRoutes } from "./build_routes.ts";
import { buildVips } from "./build_vips.ts";
import { cmp, orderKey } from "./object_index.ts";
import type { Snapshot } from "./types.ts";
import { snapshotVersion } from "./version.ts";

export interface BuildOptions {
  /** This node's name: stands in for Node objects when there are none (directory mode). */
  readonly node?: string;
}

export interface BuildResult {
  readonly snapshot: Snapshot;
  readonly statuses: ObjectStatus[];
  readonly diagnostics: Diagnostic[];
}

/** Kinds the builder reads besides its own CRDs. */
const INPUT_KINDS = new Set([
  "Service",
  "EndpointSlice",
  "Secret",
  "ConfigMap",
  "Node",
  "Namespace",
  "ReferenceGrant",
]);

function byName<T extends { name: string }>(a: T, b: T): number {
  return cmp(a.name, b.name);
}

/** Builds the snapshot, per-object statuses and diagnostics from `objects`. */
export function buildSnapshot(
  objects: readonly KubeObject[],
  opts: BuildOptions = {},
): BuildResult {
  const ctx = new BuildContext(objects);
  // Unknown kinds: an unknown NovaEdge kind is an error (probably a typo); others are ignored.
  for (const kind of ctx.index.kinds()) {
    if (isNovaEdgeKind(kind) || INPUT_KINDS.has(kind)) continue;
    for (const o of ctx.index.all(kind)) {
      if (o.apiVersion?.startsWith("novaedge.io/")) {
        ctx.error(
          o,
          "kind",
          `unknown NovaEdge kind ${JSON.stringify(kind)} (known: ${NOVAEDGE_KINDS.join(", ")})`,
        );
      }
    }
  }
  // Validate every NovaEdge object; invalid ones get Accepted=False and are left out.
  const valid = <K extends NovaEdgeKind>(kind: K): Typed<K>[] => {
    const out: Typed<K>[] = [];
    for (const o of ctx.index.all(kind)) {
      const r = parseNovaEdgeObject(kind, o);
      if (r.ok) {
        out.push(r.value);
        continue;
      }
      const st = ctx.status(o);
      st.set(
        "Accepted",
        false,
        "Invalid",
        r.errors.map((e) => `${e.field}: ${e.message}`).join("; "),
      );
      for (const e of r.errors) ctx.error(o, e.field, e.message);
    }
    return out.sort((a, b) => cmp(orderKey(a.source), orderKey(b.source)));
  };
  const gateways = valid("ProxyGateway");
  const backends = valid("ProxyBackend");
  const policiesIn = valid("ProxyPolicy");
  const routesIn = valid("ProxyRoute");
  const vipsIn = valid("ProxyVIP");

  const gw = buildGateways(ctx, gateways);
  buildBackends(ctx, backends);
  const pol = buildPolicies(ctx, policiesIn);
  const routes = buildRoutes(
    ctx,
    routesIn,
    gw.byGateway,
    pol.byTarget,
    new Set(pol.policies.map((p) => p.name)),
  );
  gw.finish();
  const vips = buildVips(ctx, vipsIn, opts.node);
  // Gateway API style status.addresses: the VIPs that front each gateway.
  const addresses = new Map<string, string[]>();
  for (const v of vips) {
    for (const g of v.gateways) {
      addresses.set(g, [...(addresses.get(g) ?? []), v.address.slice(0, v.address.indexOf("/"))]);
    }
  }
  for (const g of gateways) {
    const list = addresses.get(`${g.namespace}/${g.name}`);
    if (list) {
      ctx.status(g.source).extra.addresses = [...new Set(list)].sort().map((value) => ({
        type: "IPAddress",
        value,
      }));
    }
  }

  const content = {
    listeners: gw.listeners.sort(byName),
    routes: routes.sort(byName),
    clusters: [...ctx.clusters.values()].sort(byName),
    vips: vips.sort(byName),
    policies: pol.policies.sort(byName),
    secrets: [...ctx.secrets.values()].sort(byName),
  };
  const snapshot: Snapshot = { version: snapshotVersion(content), ...content };
  const statuses = [...ctx.statuses.values()].map((s) => s.toStatus()).sort((a, b) =>
    cmp(a.ref.kind, b.ref.kind) || cmp(a.ref.namespace ?? "", b.ref.namespace ?? "") ||
    cmp(a.ref.name, b.ref.name)
  );
  const sevOrder = (s: string) => (s === "error" ? 0 : 1);
  const diagnostics = ctx.diags.sort((a, b) =>
    sevOrder(a.severity) - sevOrder(b.severity) || cmp(a.source, b.source) ||
    cmp(a.field ?? "", b.field ?? "") || cmp(a.message, b.message)
  );
  return { snapshot, statuses, diagnostics };
}
