/**
 * ProxyRoute: how requests reach backends. Deliberately the shape of Gateway
 * API's HTTPRoute (parentRefs, hostnames, rules of matches / filters /
 * backendRefs with weights) so users' knowledge carries over and the Gateway
 * API translation is nearly the identity. `protocol` selects an L4 route
 * (TCP / TLS passthrough / UDP), which takes no matches or filters.
 */
import { arr, bool, enumOf, int, obj, str } from "./schema.ts";
import type { Infer } from "./schema.ts";
import {
  conditionSchema,
  corsSpec,
  duration,
  headerModifier,
  headerName,
  hostname,
  objectName,
  port,
  regex,
  sectionName,
} from "./common.ts";
import type { CrdDef } from "./crd_def.ts";

const parentRefSchema = obj({
  group: enumOf(["novaedge.io"]).opt(),
  kind: enumOf(["ProxyGateway"]).opt(),
  namespace: sectionName().opt(),
  name: objectName(),
  sectionName: sectionName().opt(),
  port: port().opt(),
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const parentRef = (): typeof parentRefSchema => parentRefSchema;
export type ParentRefSpec = Infer<ReturnType<typeof parentRef>>;

/** Reference to a ProxyBackend (default) or directly to a Service + port. */
const backendObjectRefSchema = obj({
  group: enumOf(["novaedge.io", ""]).opt(),
  kind: enumOf(["ProxyBackend", "Service"]).opt(),
  name: objectName(),
  namespace: sectionName().opt(),
  port: port().opt(),
}).check((r) =>
  (r.kind === "Service") && r.port === undefined
    ? "port is required when kind is Service"
    : (r.kind ?? "ProxyBackend") === "ProxyBackend" && r.port !== undefined
    ? "port is not allowed for kind ProxyBackend (the backend defines it)"
    : undefined
)
  .cel(
    "has(self.kind) && self.kind == 'Service' ? has(self.port) : !has(self.port)",
    "port is required for kind Service and not allowed for kind ProxyBackend",
  );
/** Schema factory (nodes are immutable, so one instance is shared). */
export const backendObjectRef = (): typeof backendObjectRefSchema => backendObjectRefSchema;
export type BackendObjectRefSpec = Infer<ReturnType<typeof backendObjectRef>>;

const pathModifier = obj({
  type: enumOf(["ReplaceFullPath", "ReplacePrefixMatch"]),
  replaceFullPath: str({ maxLength: 1024, pattern: "^/", patternName: "path" }).opt(),
  replacePrefixMatch: str({ maxLength: 1024, pattern: "^/", patternName: "path" }).opt(),
}).check((p) =>
  p.type === "ReplaceFullPath" && p.replaceFullPath === undefined
    ? "type ReplaceFullPath needs replaceFullPath"
    : p.type === "ReplacePrefixMatch" && p.replacePrefixMatch === undefined
    ? "type ReplacePrefixMatch needs replacePrefixMatch"
    : undefined
);
export type PathModifierSpec = Infer<typeof pathModifier>;

const FILTER_TYPES = [
  "RequestHeaderModifier",
  "ResponseHeaderModifier",
  "RequestRedirect",
  "URLRewrite",
  "RequestMirror",
  "CORS",
  "ExtensionRef",
] as const;

/** Which member each filter type needs. */
const FILTER_MEMBER: Record<(typeof FILTER_TYPES)[number], string> = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  RequestMirror: "requestMirror",
  CORS: "cors",
  ExtensionRef: "extensionRef",
};

const routeFilterSchema = obj({
  type: enumOf(FILTER_TYPES),
  requestHeaderModifier: headerModifier().opt(),
  responseHeaderModifier: headerModifier().opt(),
  requestRedirect: obj({
    scheme: enumOf(["http", "https"]).opt(),
    hostname: hostname().opt(),
    port: port().opt(),
    path: pathModifier.opt(),
    statusCode: int({ min: 301, max: 308 }).check((c) =>
      [301, 302, 303, 307, 308].includes(c) ? undefined : "must be 301, 302, 303, 307 or 308"
    ).default(302),
  }).opt(),
  urlRewrite: obj({ hostname: hostname().opt(), path: pathModifier.opt() }).opt(),
  requestMirror: obj({
    backendRef: backendObjectRef(),
    percent: int({ min: 0, max: 100 }).default(100),
  }).opt(),
  cors: corsSpec().opt(),
  extensionRef: obj({
    group: enumOf(["novaedge.io"]).opt(),
    kind: enumOf(["ProxyPolicy"]),
    name: objectName(),
  }).opt(),
}).check((f) => {
  const need = FILTER_MEMBER[f.type];
  const rec = f as Record<string, unknown>;
  if (rec[need] === undefined) return `type ${f.type} needs ${need}`;
  for (const m of Object.values(FILTER_MEMBER)) {
    if (m !== need && rec[m] !== undefined) return `type ${f.type} does not take ${m}`;
  }
  return undefined;
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const routeFilter = (): typeof routeFilterSchema => routeFilterSchema;
export type RouteFilterSpec = Infer<ReturnType<typeof routeFilter>>;

const keyMatch = () =>
  obj({
    type: enumOf(["Exact", "RegularExpression"]).default("Exact"),
    name: headerName(),
    value: str({ maxLength: 4096 }),
  }).check((m) => {
    if (m.type !== "RegularExpression") return undefined;
    try {
      new RegExp(m.value);
      return undefined;
    } catch (e) {
      return `value: regular expression ${JSON.stringify(m.value)} does not compile: ${
        (e as Error).message
      }`;
    }
  });

const routeMatch = obj({
  path: obj({
    type: enumOf(["Exact", "PathPrefix", "RegularExpression"]).default("PathPrefix"),
    value: str({ minLength: 1, maxLength: 1024 }).default("/"),
  }).check((p) => {
    if (p.type === "RegularExpression") {
      const errs: { field: string; message: string }[] = [];
      regex().parse(p.value, "value", errs);
      return errs.length ? `value: ${errs[0].message}` : undefined;
    }
    return p.value.startsWith("/") ? undefined : `value: path must start with "/"`;
  }).opt(),
  headers: arr(keyMatch(), { maxItems: 16 }).opt(),
  queryParams: arr(keyMatch(), { maxItems: 16 }).opt(),
  method: enumOf(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])
    .opt(),
});
export type RouteMatchSpec = Infer<typeof routeMatch>;

const routeBackendRef = obj({
  group: enumOf(["novaedge.io", ""]).opt(),
  kind: enumOf(["ProxyBackend", "Service"]).opt(),
  name: objectName(),
  namespace: sectionName().opt(),
  port: port().opt(),
  weight: int({ min: 0, max: 1000000 }).default(1),
  filters: arr(routeFilter(), { maxItems: 16 }).opt(),
}).check((r) =>
  r.kind === "Service" && r.port === undefined
    ? "port is required when kind is Service"
    : (r.kind ?? "ProxyBackend") === "ProxyBackend" && r.port !== undefined
    ? "port is not allowed for kind ProxyBackend (the backend defines it)"
    : undefined
)
  .cel(
    "has(self.kind) && self.kind == 'Service' ? has(self.port) : !has(self.port)",
    "port is required for kind Service and not allowed for kind ProxyBackend",
  );
export type RouteBackendRefSpec = Infer<typeof routeBackendRef>;

const routeRule = obj({
  name: sectionName().opt(),
  matches: arr(routeMatch, { maxItems: 64 }).opt(),
  filters: arr(routeFilter(), { maxItems: 16 }).opt(),
  backendRefs: arr(routeBackendRef, { maxItems: 16 }).opt(),
  timeouts: obj({ request: duration().opt(), backendRequest: duration().opt() }).opt(),
  retry: obj({
    attempts: int({ min: 0, max: 10 }).default(1),
    codes: arr(int({ min: 400, max: 599 }), { maxItems: 32 }).opt(),
    perTryTimeout: duration().opt(),
    backoff: duration().opt(),
    retryNonIdempotent: bool().default(false),
    retryOn: arr(enumOf(["connect-failure", "reset", "5xx", "timeout"]), { maxItems: 4 }).opt(),
  }).opt(),
  maxBodyBytes: int({ min: 0, max: Number.MAX_SAFE_INTEGER, format: "int64" }).opt(),
});
export type RouteRuleSpec = Infer<typeof routeRule>;

export const proxyRouteSpec = obj({
  protocol: enumOf(["HTTP", "TCP", "TLS", "UDP"]).default("HTTP"),
  parentRefs: arr(parentRef(), { minItems: 1, maxItems: 32 }),
  hostnames: arr(hostname(), { maxItems: 16 }).opt(),
  rules: arr(routeRule, { minItems: 1, maxItems: 64 }),
}).check((r) => {
  if (r.protocol === "HTTP") return undefined;
  for (let i = 0; i < r.rules.length; i++) {
    const rule = r.rules[i];
    if (rule.matches?.length) return `rules[${i}].matches: not allowed for protocol ${r.protocol}`;
    if (rule.filters?.length) return `rules[${i}].filters: not allowed for protocol ${r.protocol}`;
  }
  if (r.protocol !== "TLS" && r.hostnames?.length) {
    return `hostnames: not allowed for protocol ${r.protocol}`;
  }
  return undefined;
});

export type ProxyRouteSpec = Infer<typeof proxyRouteSpec>;

export const proxyRouteCrd: CrdDef<ProxyRouteSpec> = {
  kind: "ProxyRoute",
  plural: "proxyroutes",
  singular: "proxyroute",
  shortNames: ["prt"],
  categories: ["novaedge"],
  scope: "Namespaced",
  description: "Routing rules (HTTPRoute-shaped) from ProxyGateway listeners to backends.",
  spec: proxyRouteSpec,
  statusExtra: {
    parents: {
      type: "array",
      items: {
        type: "object",
        properties: {
          parentRef: {
            type: "object",
            properties: {
              group: { type: "string" },
              kind: { type: "string" },
              namespace: { type: "string" },
              name: { type: "string" },
              sectionName: { type: "string" },
              port: { type: "integer", format: "int32" },
            },
          },
          conditions: {
            type: "array",
            items: conditionSchema().openapi(),
          },
        },
      },
    },
  },
  printerColumns: [
    { name: "Hostnames", type: "string", jsonPath: ".spec.hostnames" },
    {
      name: "Accepted",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
    },
    {
      name: "ResolvedRefs",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="ResolvedRefs")].status',
    },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
