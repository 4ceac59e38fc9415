/**
 * `novaedge ctl gateway-api describe-gateway NAME`: everything an operator
 * asks about one Gateway, from the objects the API server returned — its
 * addresses and conditions, each listener's conditions and attached route
 * count, the routes attached to it with the conditions their parent entry for
 * this Gateway reports, the NovaEdge objects generated from them, and every
 * problem (a condition that is not in its healthy state), newest first.
 * Pure: the caller fetches the objects.
 */
import {
  type ApiObject,
  type Condition,
  conditionsOf,
  GATEWAY_GROUP,
  nameOf,
  namespaceOf,
  parentLabel,
  parentRefsOf,
  parentStatuses,
  sameParent,
} from "./gateway_api.ts";
import { age, renderTable } from "./output.ts";

/** The annotation a generated object names its source with (`Kind/namespace/name`). */
export const SOURCE_ANNOTATION = "novaedge.io/source";

/** Conditions whose healthy state is False (Gateway API "negative polarity"). */
const NEGATIVE = new Set(["Conflicted", "OverlappingTLSConfig", "Detached", "PartiallyInvalid"]);

export interface DescribeInput {
  readonly gateway: ApiObject;
  /** Routes of every kind (HTTPRoute, GRPCRoute, ...) that might attach; filtered here. */
  readonly routes: readonly ApiObject[];
  /** NovaEdge objects carrying the gateway-api-owner label; filtered here by source. */
  readonly generated: readonly ApiObject[];
}

export interface ListenerView {
  readonly name: string;
  readonly protocol: string;
  readonly port: number | string;
  readonly hostname: string;
  readonly attachedRoutes: number;
  readonly conditions: Condition[];
}

export interface RouteView {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly hostnames: string[];
  readonly parents: {
    readonly parent: string;
    readonly controllerName?: string;
    readonly conditions: Condition[];
  }[];
}

export interface Problem {
  readonly object: string;
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime?: string;
}

export interface GatewayDescription {
  readonly name: string;
  readonly namespace: string;
  readonly className: string;
  readonly creationTimestamp?: string;
  readonly addresses: { type: string; value: string }[];
  readonly conditions: Condition[];
  readonly listeners: ListenerView[];
  readonly routes: RouteView[];
  readonly generated: { kind: string; namespace: string; name: string; source: string }[];
  readonly problems: Problem[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function isProblem(c: Condition): boolean {
  return NEGATIVE.has(c.type) ? c.status === "True" : c.status === "False";
}

function problemsOf(object: string, cs: readonly Condition[]): Problem[] {
  return cs.filter(isProblem).map((c) => ({
    object,
    type: c.type,
    status: c.status,
    reason: c.reason ?? "",
    message: c.message ?? "",
    lastTransitionTime: c.lastTransitionTime,
  }));
}

export function describeGateway(input: DescribeInput): GatewayDescription {
  const gw = input.gateway;
  const ns = namespaceOf(gw);
  const name = nameOf(gw);
  const gwRef = { group: GATEWAY_GROUP, kind: "Gateway", namespace: ns, name };
  const problems: Problem[] = problemsOf(`Gateway ${ns}/${name}`, conditionsOf(gw.status));

  const specListeners = Array.isArray(gw.spec?.listeners) ? gw.spec.listeners : [];
  const statusListeners = Array.isArray(gw.status?.listeners) ? gw.status.listeners : [];
  const listeners: ListenerView[] = specListeners.filter(isRecord).map((l) => {
    const lname = typeof l.name === "string" ? l.name : "";
    const st = statusListeners.find((s) => isRecord(s) && s.name === lname) as
      | Record<string, unknown>
      | undefined;
    const conditions = conditionsOf(st);
    problems.push(...problemsOf(`listener ${lname}`, conditions));
    return {
      name: lname,
      protocol: typeof l.protocol === "string" ? l.protocol : "",
      port: typeof l.port === "number" ? l.port : "",
      hostname: typeof l.hostname === "string" ? l.hostname : "*",
      attachedRoutes: typeof st?.attachedRoutes === "number" ? st.attachedRoutes : 0,
      conditions,
    };
  });

  // A route is attached when one of its parentRefs names this Gateway (any listener or port).
  const routes: RouteView[] = [];
  for (const r of input.routes) {
    const rns = namespaceOf(r);
    const refs = parentRefsOf(r).filter((p) =>
      sameParent({ ...p, sectionName: undefined, port: undefined }, gwRef, rns)
    );
    if (refs.length === 0) continue;
    const statuses = parentStatuses(r);
    const kind = r.kind ?? "Route";
    const parents = refs.map((ref) => {
      const st = statuses.find((s) => sameParent(s.parentRef, ref, rns));
      const parent = parentLabel(ref, rns);
      const conditions = st?.conditions ?? [];
      problems.push(...problemsOf(`${kind} ${rns}/${nameOf(r)} (parent ${parent})`, conditions));
      return {
        parent,
        ...(st?.controllerName ? { controllerName: st.controllerName } : {}),
        conditions,
      };
    });
    routes.push({
      kind,
      namespace: rns,
      name: nameOf(r),
      hostnames: Array.isArray(r.spec?.hostnames)
        ? r.spec.hostnames.filter((h): h is string => typeof h === "string")
        : [],
      parents,
    });
  }
  routes.sort((a, b) =>
    `${a.kind}/${a.namespace}/${a.name}` < `${b.kind}/${b.namespace}/${b.name}` ? -1 : 1
  );

  const sources = new Set([
    `Gateway/${ns}/${name}`,
    ...routes.map((r) => `${r.kind}/${r.namespace}/${r.name}`),
  ]);
  const generated = input.generated.filter((o) =>
    sources.has(o.metadata?.annotations?.[SOURCE_ANNOTATION] ?? "")
  ).map((o) => {
    const kind = o.kind ?? "";
    problems.push(...problemsOf(`${kind} ${namespaceOf(o)}/${nameOf(o)}`, conditionsOf(o.status)));
    return {
      kind,
      namespace: namespaceOf(o),
      name: nameOf(o),
      source: o.metadata?.annotations?.[SOURCE_ANNOTATION] ?? "",
    };
  }).sort((a, b) =>
    `${a.kind}/${a.namespace}/${a.name}` < `${b.kind}/${b.namespace}/${b.name}` ? -1 : 1
  );

  const addresses = (Array.isArray(gw.status?.addresses) ? gw.status.addresses : [])
    .filter((a): a is { type?: string; value: string } =>
      isRecord(a) && typeof a.value === "string"
    )
    .map((a) => ({ type: a.type ?? "IPAddress", value: a.value }));

  // Newest first: what just broke is what the operator is looking for.
  problems.sort((a, b) => (b.lastTransitionTime ?? "").localeCompare(a.lastTransitionTime ?? ""));
  return {
    name,
    namespace: ns,
    className: typeof gw.spec?.gatewayClassName === "string" ? gw.spec.gatewayClassName : "",
    creationTimestamp: gw.metadata?.creationTimestamp,
    addresses,
    conditions: conditionsOf(gw.status),
    listeners,
    routes,
    generated,
    problems,
  };
}

function indent(text: string, by: string): string {
  return text.split("\n").map((l) => (l ? by + l : l)).join("\n");
}

function conditionTable(cs: readonly Condition[], now: Date): string {
  if (cs.length === 0) return "<none>";
  return renderTable({
    headers: ["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"],
    rows: cs.map((c) => [
      c.type,
      c.status,
      c.reason ?? "",
      c.lastTransitionTime ? age(c.lastTransitionTime, now) : "",
      c.message ?? "",
    ]),
  });
}

/** The description as text, in `kubectl describe`'s shape. */
export function renderGatewayDescription(d: GatewayDescription, now: Date): string {
  const out: string[] = [
    `Name:         ${d.name}`,
    `Namespace:    ${d.namespace}`,
    `Class:        ${d.className || "<none>"}`,
    `Age:          ${age(d.creationTimestamp, now)}`,
    `Addresses:    ${d.addresses.map((a) => `${a.value} (${a.type})`).join(", ") || "<none>"}`,
    "Conditions:",
    indent(conditionTable(d.conditions, now), "  "),
    "Listeners:",
  ];
  if (d.listeners.length === 0) out.push("  <none>");
  for (const l of d.listeners) {
    out.push(
      `  ${l.name}: ${l.protocol} port ${l.port}, hostname ${l.hostname}, attached routes ${l.attachedRoutes}`,
    );
    out.push(indent(conditionTable(l.conditions, now), "    "));
  }
  out.push("Attached routes:");
  if (d.routes.length === 0) out.push("  <none>");
  for (const r of d.routes) {
    out.push(
      `  ${r.kind} ${r.namespace}/${r.name} (hostnames: ${r.hostnames.join(", ") || "*"})`,
    );
    for (const p of r.parents) {
      out.push(
        `    parent ${p.parent}${p.controllerName ? ` (controller ${p.controllerName})` : ""}:`,
      );
      out.push(
        indent(
          p.conditions.length ? conditionTable(p.conditions, now) : "<no status from a controller>",
          "      ",
        ),
      );
    }
  }
  out.push("Generated objects (label novaedge.io/gateway-api-owner):");
  if (d.generated.length === 0) out.push("  <none>");
  else {
    out.push(indent(
      renderTable({
        headers: ["KIND", "NAMESPACE", "NAME", "FROM"],
        rows: d.generated.map((g) => [g.kind, g.namespace, g.name, g.source]),
      }),
      "  ",
    ));
  }
  out.push("Problems:");
  if (d.problems.length === 0) out.push("  <none>");
  for (const p of d.problems) {
    const when = p.lastTransitionTime ? ` (${age(p.lastTransitionTime, now)} ago)` : "";
    out.push(`  ${p.object}: ${p.type}=${p.status} ${p.reason}${when}: ${p.message}`);
  }
  return out.join("\n");
}
