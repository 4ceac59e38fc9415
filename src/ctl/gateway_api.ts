/**
 * Pure views of Gateway API objects for `novaedge ctl gateway-api`: the
 * `kubectl get`-style tables of GatewayClasses, Gateways and HTTPRoutes. The
 * objects are the API server's JSON; nothing here does I/O.
 */
import { age, type Table } from "./output.ts";

/** The parts of a Kubernetes object these views read (everything optional: it is user data). */
export interface ApiObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly creationTimestamp?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly status?: Readonly<Record<string, unknown>>;
}

export interface Condition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

export interface ParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const nameOf = (o: ApiObject): string => o.metadata?.name ?? "";
export const namespaceOf = (o: ApiObject): string => o.metadata?.namespace ?? "default";

/** Conditions of a status-like record (malformed entries dropped). */
export function conditionsOf(status: unknown): Condition[] {
  const cs = isRecord(status) ? status.conditions : undefined;
  if (!Array.isArray(cs)) return [];
  return cs.filter((c): c is Condition =>
    isRecord(c) && typeof c.type === "string" && typeof c.status === "string"
  );
}

/** "True" / "False" / "Unknown" of one condition type, "Unknown" when absent. */
export function conditionStatus(status: unknown, type: string): string {
  return conditionsOf(status).find((c) => c.type === type)?.status ?? "Unknown";
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export function parentRefsOf(route: ApiObject): ParentRef[] {
  const refs = route.spec?.parentRefs;
  if (!Array.isArray(refs)) return [];
  return refs.filter((r): r is ParentRef => isRecord(r) && typeof r.name === "string");
}

/** Same parent (defaults filled in: group gateway.networking.k8s.io, kind Gateway, the route's namespace). */
export function sameParent(a: ParentRef, b: ParentRef, routeNamespace: string): boolean {
  const norm = (p: ParentRef) =>
    [
      p.group ?? GATEWAY_GROUP,
      p.kind ?? "Gateway",
      p.namespace ?? routeNamespace,
      p.name,
      p.sectionName ?? "",
      p.port ?? "",
    ].join("|");
  return norm(a) === norm(b);
}

/** The parent's entry in a route's status.parents (first one when several controllers answer). */
export interface RouteParentStatus {
  readonly parentRef: ParentRef;
  readonly controllerName?: string;
  readonly conditions: Condition[];
}

export function parentStatuses(route: ApiObject): RouteParentStatus[] {
  const ps = route.status?.parents;
  if (!Array.isArray(ps)) return [];
  return ps.filter((p) => isRecord(p) && isRecord(p.parentRef)).map((p) => {
    const r = p as Record<string, unknown>;
    return {
      parentRef: r.parentRef as ParentRef,
      controllerName: typeof r.controllerName === "string" ? r.controllerName : undefined,
      conditions: conditionsOf(r),
    };
  });
}

/** How a parent is shown: `gw`, `other-ns/gw`, `gw:http` (listener), `gw:8080` (port). */
export function parentLabel(p: ParentRef, routeNamespace: string): string {
  const ns = p.namespace && p.namespace !== routeNamespace ? `${p.namespace}/` : "";
  const kind = (p.kind ?? "Gateway") === "Gateway" ? "" : `${p.kind}/`;
  const section = p.sectionName ? `:${p.sectionName}` : "";
  const port = p.port !== undefined ? `:${p.port}` : "";
  return `${kind}${ns}${p.name}${section}${port}`;
}

const withNamespace = (allNamespaces: boolean, o: ApiObject, cells: string[]): string[] =>
  allNamespaces ? [namespaceOf(o), ...cells] : cells;
const headersFor = (allNamespaces: boolean, hs: string[]): string[] =>
  allNamespaces ? ["NAMESPACE", ...hs] : hs;

const byNamespaceName = (a: ApiObject, b: ApiObject): number => {
  const ka = `${namespaceOf(a)}/${nameOf(a)}`, kb = `${namespaceOf(b)}/${nameOf(b)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

export function gatewayClassTable(items: readonly ApiObject[], now: Date): Table {
  return {
    headers: ["NAME", "CONTROLLER", "ACCEPTED", "SUPPORTED FEATURES", "AGE"],
    rows: [...items].sort(byNamespaceName).map((o) => {
      const features = o.status?.supportedFeatures;
      return [
        nameOf(o),
        typeof o.spec?.controllerName === "string" ? o.spec.controllerName : "<none>",
        conditionStatus(o.status, "Accepted"),
        String(Array.isArray(features) ? features.length : 0),
        age(o.metadata?.creationTimestamp, now),
      ];
    }),
  };
}

/** A Gateway's status addresses ("<none>" placeholder handled by the caller). */
export function gatewayAddresses(o: ApiObject): string[] {
  const as = o.status?.addresses;
  if (!Array.isArray(as)) return [];
  return as.filter((a) => isRecord(a) && typeof a.value === "string").map((a) =>
    (a as { value: string }).value
  );
}

export function gatewayTable(
  items: readonly ApiObject[],
  now: Date,
  allNamespaces: boolean,
): Table {
  return {
    headers: headersFor(allNamespaces, ["NAME", "CLASS", "ADDRESSES", "PROGRAMMED", "AGE"]),
    rows: [...items].sort(byNamespaceName).map((o) =>
      withNamespace(allNamespaces, o, [
        nameOf(o),
        typeof o.spec?.gatewayClassName === "string" ? o.spec.gatewayClassName : "<none>",
        gatewayAddresses(o).join(",") || "<none>",
        conditionStatus(o.status, "Programmed"),
        age(o.metadata?.creationTimestamp, now),
      ])
    ),
  };
}

/**
 * One route's parents with the status its controller reported for each (the
 * spec's parentRefs, in order; a parent nobody answered for shows Unknown).
 */
export function routeParents(
  route: ApiObject,
): { ref: ParentRef; status: RouteParentStatus | undefined }[] {
  const ns = namespaceOf(route);
  const statuses = parentStatuses(route);
  return parentRefsOf(route).map((ref) => ({
    ref,
    status: statuses.find((s) => sameParent(s.parentRef, ref, ns)),
  }));
}

export function httpRouteTable(
  items: readonly ApiObject[],
  now: Date,
  allNamespaces: boolean,
): Table {
  return {
    headers: headersFor(allNamespaces, [
      "NAME",
      "HOSTNAMES",
      "PARENTS",
      "ACCEPTED",
      "RESOLVED",
      "AGE",
    ]),
    rows: [...items].sort(byNamespaceName).map((o) => {
      const parents = routeParents(o);
      const per = (type: string) =>
        parents.map((p) => p.status?.conditions.find((c) => c.type === type)?.status ?? "Unknown")
          .join(",") || "<none>";
      return withNamespace(allNamespaces, o, [
        nameOf(o),
        strings(o.spec?.hostnames).join(",") || "*",
        parents.map((p) => parentLabel(p.ref, namespaceOf(o))).join(",") || "<none>",
        per("Accepted"),
        per("ResolvedRefs"),
        age(o.metadata?.creationTimestamp, now),
      ]);
    }),
  };
}
