/**
 * The NovaEdge CRDs (group novaedge.io, version v1alpha1): one registry of
 * kinds, and `parseNovaEdgeObject` which validates an object's spec.
 */
import type { KubeObject } from "../store/types.ts";
import type { CrdDef } from "./crd_def.ts";
import { API_VERSION, GROUP, objectName, sectionName, VERSION } from "./common.ts";
import { proxyGatewayCrd } from "./proxy_gateway.ts";
import { proxyRouteCrd } from "./proxy_route.ts";
import { proxyBackendCrd } from "./proxy_backend.ts";
import { proxyPolicyCrd } from "./proxy_policy.ts";
import { proxyVipCrd } from "./proxy_vip.ts";
import type { FieldError } from "./schema.ts";
import type { ProxyGatewaySpec } from "./proxy_gateway.ts";
import type { ProxyRouteSpec } from "./proxy_route.ts";
import type { ProxyBackendSpec } from "./proxy_backend.ts";
import type { ProxyPolicySpec } from "./proxy_policy.ts";
import type { ProxyVipSpec } from "./proxy_vip.ts";

export { API_VERSION, GROUP, VERSION };
export type { FieldError };
export type { ProxyBackendSpec, ProxyGatewaySpec, ProxyPolicySpec, ProxyRouteSpec, ProxyVipSpec };
export { proxyBackendCrd, proxyGatewayCrd, proxyPolicyCrd, proxyRouteCrd, proxyVipCrd };

/** Spec type by kind. */
export interface SpecByKind {
  ProxyGateway: ProxyGatewaySpec;
  ProxyRoute: ProxyRouteSpec;
  ProxyBackend: ProxyBackendSpec;
  ProxyPolicy: ProxyPolicySpec;
  ProxyVIP: ProxyVipSpec;
}
export type NovaEdgeKind = keyof SpecByKind;

/** Every NovaEdge CRD, in a fixed order (manifests are generated from this). */
export const CRDS: { readonly [K in NovaEdgeKind]: CrdDef<SpecByKind[K]> } = {
  ProxyGateway: proxyGatewayCrd,
  ProxyRoute: proxyRouteCrd,
  ProxyBackend: proxyBackendCrd,
  ProxyPolicy: proxyPolicyCrd,
  ProxyVIP: proxyVipCrd,
};

export const NOVAEDGE_KINDS = Object.keys(CRDS) as NovaEdgeKind[];

export function isNovaEdgeKind(kind: string): kind is NovaEdgeKind {
  return Object.hasOwn(CRDS, kind);
}

/** A validated NovaEdge object: metadata plus its typed spec. */
export interface Typed<K extends NovaEdgeKind> {
  readonly kind: K;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly creationTimestamp: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: SpecByKind[K];
  readonly source: KubeObject;
}

/**
 * Validates a NovaEdge object (apiVersion, metadata names, spec). Errors carry
 * fields relative to the object ("spec.listeners[0].port").
 */
export function parseNovaEdgeObject<K extends NovaEdgeKind>(
  kind: K,
  o: KubeObject,
): { ok: true; value: Typed<K> } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (o.apiVersion !== API_VERSION) {
    errors.push({
      field: "apiVersion",
      message: `must be ${API_VERSION}, got ${JSON.stringify(o.apiVersion)}`,
    });
  }
  objectName().parse(o.metadata?.name, "metadata.name", errors);
  if (o.metadata?.namespace !== undefined) {
    sectionName().parse(o.metadata.namespace, "metadata.namespace", errors);
  }
  const def = CRDS[kind] as CrdDef<SpecByKind[K]>;
  const spec = o.spec === undefined
    ? (errors.push({ field: "spec", message: "is required" }), undefined)
    : def.spec.parse(o.spec, "spec", errors);
  if (errors.length || spec === undefined) {
    return { ok: false, errors: errors.length ? errors : [{ field: "spec", message: "invalid" }] };
  }
  return {
    ok: true,
    value: {
      kind,
      namespace: o.metadata.namespace ?? "default",
      name: o.metadata.name,
      generation: o.metadata.generation ?? 0,
      creationTimestamp: o.metadata.creationTimestamp ?? "",
      labels: o.metadata.labels ?? {},
      spec,
      source: o,
    },
  };
}
