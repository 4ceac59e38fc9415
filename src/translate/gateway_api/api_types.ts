/**
 * Typed, leniently parsed views of the Gateway API (v1.6) objects the
 * translator reads. Enum-like fields stay plain strings on purpose: an
 * unsupported value must reach the translator so it can be reported with the
 * spec's reason (UnsupportedValue, InvalidKind, ...) instead of failing the
 * parse. Unknown fields are ignored (the API server already validated them).
 */
import { arr, bool, int, obj, str, stringMap } from "../../crds/schema.ts";
import type { Infer, ObjectOpts } from "../../crds/schema.ts";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

const lenient: ObjectOpts = { strict: false };

const labelSelector = obj({
  matchLabels: stringMap().opt(),
  matchExpressions: arr(
    obj({ key: str(), operator: str(), values: arr(str()).opt() }, lenient),
  ).opt(),
}, lenient);
export type LabelSelectorIn = Infer<typeof labelSelector>;

const secretObjectRef = obj({
  group: str().opt(),
  kind: str().opt(),
  name: str({ minLength: 1 }),
  namespace: str().opt(),
}, lenient);
export type SecretObjectRefIn = Infer<typeof secretObjectRef>;

const routeGroupKind = obj({ group: str().opt(), kind: str({ minLength: 1 }) }, lenient);
export type RouteGroupKindIn = Infer<typeof routeGroupKind>;

const listener = obj({
  name: str({ minLength: 1 }),
  hostname: str().opt(),
  port: int(),
  protocol: str({ minLength: 1 }),
  tls: obj({
    mode: str().opt(),
    certificateRefs: arr(secretObjectRef).opt(),
    options: stringMap().opt(),
  }, lenient).opt(),
  allowedRoutes: obj({
    namespaces: obj({ from: str().opt(), selector: labelSelector.opt() }, lenient).opt(),
    kinds: arr(routeGroupKind).opt(),
  }, lenient).opt(),
}, lenient);
export type ListenerIn = Infer<typeof listener>;

/** Gateway `spec.tls.frontend` default / perPort[].tls: client-certificate validation. */
const frontendTlsConfig = obj({
  validation: obj({
    caCertificateRefs: arr(
      obj({ group: str().opt(), kind: str().opt(), name: str(), namespace: str().opt() }, lenient),
    ).default([]),
    mode: str().opt(),
  }, lenient).opt(),
}, lenient);
export type FrontendTlsConfigIn = Infer<typeof frontendTlsConfig>;

const gatewayTls = obj({
  backend: obj({ clientCertificateRef: secretObjectRef.opt() }, lenient).opt(),
  frontend: obj({
    default: frontendTlsConfig.opt(),
    perPort: arr(obj({ port: int(), tls: frontendTlsConfig }, lenient)).opt(),
  }, lenient).opt(),
}, lenient);
export type GatewayTlsIn = Infer<typeof gatewayTls>;

export const gatewaySpec = obj({
  gatewayClassName: str({ minLength: 1 }),
  listeners: arr(listener).default([]),
  tls: gatewayTls.opt(),
  addresses: arr(obj({ type: str().opt(), value: str().opt() }, lenient)).opt(),
  infrastructure: obj({
    labels: stringMap().opt(),
    annotations: stringMap().opt(),
    parametersRef: obj({ group: str().opt(), kind: str().opt(), name: str() }, lenient).opt(),
  }, lenient).opt(),
  /** Which namespaces' ListenerSets may attach (default: none). */
  allowedListeners: obj({
    namespaces: obj({ from: str().opt(), selector: labelSelector.opt() }, lenient).opt(),
  }, lenient).opt(),
}, lenient);
export type GatewaySpecIn = Infer<typeof gatewaySpec>;

/** ListenerSet (gateway.networking.k8s.io/v1): listeners merged into a parent Gateway. */
export const listenerSetSpec = obj({
  parentRef: obj({
    group: str().opt(),
    kind: str().opt(),
    namespace: str().opt(),
    name: str({ minLength: 1 }),
  }, lenient),
  listeners: arr(listener).default([]),
}, lenient);
export type ListenerSetSpecIn = Infer<typeof listenerSetSpec>;

export const gatewayClassSpec = obj({
  controllerName: str({ minLength: 1 }),
  parametersRef: obj({
    group: str().opt(),
    kind: str().opt(),
    name: str(),
    namespace: str().opt(),
  }, lenient).opt(),
}, lenient);
export type GatewayClassSpecIn = Infer<typeof gatewayClassSpec>;

const parentRef = obj({
  group: str().opt(),
  kind: str().opt(),
  namespace: str().opt(),
  name: str({ minLength: 1 }),
  sectionName: str().opt(),
  port: int().opt(),
}, lenient);
export type ParentRefIn = Infer<typeof parentRef>;

const backendObjectRef = obj({
  group: str().opt(),
  kind: str().opt(),
  name: str({ minLength: 1 }),
  namespace: str().opt(),
  port: int().opt(),
}, lenient);
export type BackendObjectRefIn = Infer<typeof backendObjectRef>;

const headerKv = obj({ name: str({ minLength: 1 }), value: str() }, lenient);
const headerFilter = obj({
  set: arr(headerKv).opt(),
  add: arr(headerKv).opt(),
  remove: arr(str()).opt(),
}, lenient);
export type HeaderFilterIn = Infer<typeof headerFilter>;

const pathModifier = obj({
  type: str({ minLength: 1 }),
  replaceFullPath: str().opt(),
  replacePrefixMatch: str().opt(),
}, lenient);
export type PathModifierIn = Infer<typeof pathModifier>;

const localObjectRef = obj({ group: str(), kind: str(), name: str() }, lenient);

const httpFilter = obj({
  type: str({ minLength: 1 }),
  requestHeaderModifier: headerFilter.opt(),
  responseHeaderModifier: headerFilter.opt(),
  requestMirror: obj({
    backendRef: backendObjectRef,
    percent: int().opt(),
    fraction: obj({ numerator: int(), denominator: int().opt() }, lenient).opt(),
  }, lenient).opt(),
  requestRedirect: obj({
    scheme: str().opt(),
    hostname: str().opt(),
    path: pathModifier.opt(),
    port: int().opt(),
    statusCode: int().opt(),
  }, lenient).opt(),
  urlRewrite: obj({ hostname: str().opt(), path: pathModifier.opt() }, lenient).opt(),
  cors: obj({
    allowOrigins: arr(str()).opt(),
    allowCredentials: bool().opt(),
    allowMethods: arr(str()).opt(),
    allowHeaders: arr(str()).opt(),
    exposeHeaders: arr(str()).opt(),
    maxAge: int().opt(),
  }, lenient).opt(),
  extensionRef: localObjectRef.opt(),
}, lenient);
export type HttpFilterIn = Infer<typeof httpFilter>;

const keyMatch = obj({ type: str().opt(), name: str({ minLength: 1 }), value: str() }, lenient);
export type KeyMatchIn = Infer<typeof keyMatch>;

const httpMatch = obj({
  path: obj({ type: str().opt(), value: str().opt() }, lenient).opt(),
  headers: arr(keyMatch).opt(),
  queryParams: arr(keyMatch).opt(),
  method: str().opt(),
}, lenient);
export type HttpMatchIn = Infer<typeof httpMatch>;

const httpBackendRef = obj({
  group: str().opt(),
  kind: str().opt(),
  name: str({ minLength: 1 }),
  namespace: str().opt(),
  port: int().opt(),
  weight: int().opt(),
  filters: arr(httpFilter).opt(),
}, lenient);
export type HttpBackendRefIn = Infer<typeof httpBackendRef>;

const httpRule = obj({
  name: str().opt(),
  matches: arr(httpMatch).opt(),
  filters: arr(httpFilter).opt(),
  backendRefs: arr(httpBackendRef).opt(),
  timeouts: obj({ request: str().opt(), backendRequest: str().opt() }, lenient).opt(),
  retry: obj({
    codes: arr(int()).opt(),
    attempts: int().opt(),
    backoff: str().opt(),
  }, lenient).opt(),
  sessionPersistence: obj({ sessionName: str().opt(), type: str().opt() }, lenient).opt(),
}, lenient);
export type HttpRuleIn = Infer<typeof httpRule>;

export const httpRouteSpec = obj({
  parentRefs: arr(parentRef).default([]),
  hostnames: arr(str()).opt(),
  rules: arr(httpRule).default([]),
}, lenient);
export type HttpRouteSpecIn = Infer<typeof httpRouteSpec>;

const grpcMatch = obj({
  method: obj({
    type: str().opt(),
    service: str().opt(),
    method: str().opt(),
  }, lenient).opt(),
  headers: arr(keyMatch).opt(),
}, lenient);
export type GrpcMatchIn = Infer<typeof grpcMatch>;

const grpcRule = obj({
  name: str().opt(),
  matches: arr(grpcMatch).opt(),
  filters: arr(httpFilter).opt(),
  backendRefs: arr(httpBackendRef).opt(),
  sessionPersistence: obj({ sessionName: str().opt(), type: str().opt() }, lenient).opt(),
}, lenient);
export type GrpcRuleIn = Infer<typeof grpcRule>;

export const grpcRouteSpec = obj({
  parentRefs: arr(parentRef).default([]),
  hostnames: arr(str()).opt(),
  rules: arr(grpcRule).default([]),
}, lenient);
export type GrpcRouteSpecIn = Infer<typeof grpcRouteSpec>;

const l4BackendRef = obj({
  group: str().opt(),
  kind: str().opt(),
  name: str({ minLength: 1 }),
  namespace: str().opt(),
  port: int().opt(),
  weight: int().opt(),
}, lenient);
export type L4BackendRefIn = Infer<typeof l4BackendRef>;

/** TCPRoute, TLSRoute and UDPRoute share this shape (TLSRoute adds hostnames). */
export const l4RouteSpec = obj({
  parentRefs: arr(parentRef).default([]),
  hostnames: arr(str()).opt(),
  rules: arr(obj({ name: str().opt(), backendRefs: arr(l4BackendRef).opt() }, lenient))
    .default([]),
}, lenient);
export type L4RouteSpecIn = Infer<typeof l4RouteSpec>;

export const backendTlsPolicySpec = obj({
  targetRefs: arr(
    obj({ group: str(), kind: str(), name: str(), sectionName: str().opt() }, lenient),
  ).default([]),
  validation: obj({
    caCertificateRefs: arr(localObjectRef).opt(),
    wellKnownCACertificates: str().opt(),
    hostname: str(),
    subjectAltNames: arr(
      obj({ type: str(), hostname: str().opt(), uri: str().opt() }, lenient),
    ).opt(),
  }, lenient),
}, lenient);
export type BackendTlsPolicySpecIn = Infer<typeof backendTlsPolicySpec>;

/** Route kinds this translator understands, by kind. */
export const ROUTE_KINDS = ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];

export function isRouteKind(k: string): k is RouteKind {
  return (ROUTE_KINDS as readonly string[]).includes(k);
}
