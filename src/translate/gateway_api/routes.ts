/**
 * Routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) → ProxyRoutes +
 * ProxyBackends, and the route's per-parent status. A route attached to
 * listeners whose effective hostnames differ becomes one ProxyRoute per
 * distinct hostname set, so each ProxyRoute carries exactly the hosts it
 * serves on its listeners.
 */
import type { Condition, Diagnostic, KubeObject, ObjectStatus } from "../../store/types.ts";
import { parseNovaEdgeObject } from "../../crds/mod.ts";
import { parseWith } from "../../crds/schema.ts";
import { grpcRouteSpec, httpRouteSpec, l4RouteSpec } from "./api_types.ts";
import type { ParentRefIn, RouteKind } from "./api_types.ts";
import { attachRoute } from "./attach.ts";
import type { Attachment, ListenerSetParent, ParentResult } from "./attach.ts";
import { BackendSet, resolveBackendRef } from "./backends.ts";
import { routeClientCert } from "./frontend_tls.ts";
import type { GatewayState } from "./gateway.ts";
import {
  compact,
  cond,
  GATEWAY_API_OWNER_LABEL,
  generatedObject,
  L4_PROTOCOL_ANNOTATION,
  NameRegistry,
  objectNameOf,
  PRECEDENCE_NAME_ANNOTATION,
  PRECEDENCE_TIMESTAMP_ANNOTATION,
  sourceOf,
} from "./generated.ts";
import { translateGrpcRule, translateHttpRule } from "./rules.ts";
import type { RuleContext, RuleResult } from "./rules.ts";
import type { World } from "./world.ts";

export interface RouteOutput {
  readonly objects: KubeObject[];
  readonly status?: ObjectStatus;
  /** Services the route uses ("<ns>/<svc>") and the Gateways ("<ns>/<name>") it attached to. */
  readonly uses?: { readonly services: ReadonlySet<string>; readonly gateways: readonly string[] };
}

const L4: Partial<Record<RouteKind, "TCP" | "TLS" | "UDP">> = {
  TCPRoute: "TCP",
  TLSRoute: "TLS",
  UDPRoute: "UDP",
};

interface Parsed {
  readonly parentRefs: readonly ParentRefIn[];
  readonly hostnames?: readonly string[];
  /** Translates rules (called once, after attachment). */
  readonly rules: (ctx: RuleContext) => RuleResult[];
}

function parseRoute(
  kind: RouteKind,
  o: KubeObject,
): { ok: true; value: Parsed } | { ok: false; message: string; field: string } {
  if (kind === "HTTPRoute") {
    const p = parseWith(httpRouteSpec, o.spec);
    if (!p.ok) return { ok: false, message: p.errors[0].message, field: p.errors[0].field };
    const s = p.value;
    return {
      ok: true,
      value: {
        parentRefs: s.parentRefs,
        hostnames: s.hostnames,
        rules: (ctx) =>
          (s.rules.length ? s.rules : [{}]).map((r, i) => translateHttpRule(r, i, ctx)),
      },
    };
  }
  if (kind === "GRPCRoute") {
    const p = parseWith(grpcRouteSpec, o.spec);
    if (!p.ok) return { ok: false, message: p.errors[0].message, field: p.errors[0].field };
    const s = p.value;
    return {
      ok: true,
      value: {
        parentRefs: s.parentRefs,
        hostnames: s.hostnames,
        rules: (ctx) =>
          (s.rules.length ? s.rules : [{}]).map((r, i) => translateGrpcRule(r, i, ctx)),
      },
    };
  }
  const p = parseWith(l4RouteSpec, o.spec);
  if (!p.ok) return { ok: false, message: p.errors[0].message, field: p.errors[0].field };
  const s = p.value;
  return {
    ok: true,
    value: {
      parentRefs: s.parentRefs,
      hostnames: kind === "TLSRoute" ? s.hostnames : undefined,
      rules: (ctx) =>
        s.rules.map((r, i) => {
          const refs: Record<string, unknown>[] = [];
          (r.backendRefs ?? []).forEach((b, j) => {
            const res = resolveBackendRef(
              b,
              { kind, namespace: ctx.routeNs },
              ctx.w,
              "l4",
              ctx.usedServices,
            );
            const weight = b.weight ?? 1;
            if (!res.ok) {
              ctx.refProblems.push({ reason: res.reason, message: res.message });
              refs.push({
                kind: "ProxyBackend",
                name: objectNameOf([ctx.base, "unresolved", i, j]),
                weight,
              });
              return;
            }
            refs.push(
              compact({ kind: "ProxyBackend", ...ctx.backends.refFor(res.backend), weight }),
            );
          });
          return {
            ok: true,
            rule: compact({ name: r.name, backendRefs: refs.length ? refs : undefined }),
          };
        }),
    },
  };
}

/** Groups attachments (to programmed listeners) by effective hostname set. */
function groupByHostnames(
  atts: readonly Attachment[],
): Map<string, { hostnames?: readonly string[]; atts: Attachment[] }> {
  const groups = new Map<string, { hostnames?: readonly string[]; atts: Attachment[] }>();
  for (const a of atts) {
    if (!a.listener.programmed) continue;
    const key = a.hostnames === undefined ? "*" : a.hostnames.join(",");
    const g = groups.get(key) ?? { hostnames: a.hostnames, atts: [] };
    g.atts.push(a);
    groups.set(key, g);
  }
  return new Map([...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Translates one route object. `gateways` is keyed by "<namespace>/<name>". */
export function translateRoute(
  kind: RouteKind,
  o: KubeObject,
  gateways: ReadonlyMap<string, GatewayState>,
  w: World,
  controllerName: string,
  registry: NameRegistry,
  diags: Diagnostic[],
  listenerSets?: ReadonlyMap<string, ListenerSetParent>,
): RouteOutput {
  const ns = o.metadata.namespace ?? "default";
  const gen = o.metadata.generation ?? 0;
  const source = `${kind}/${ns}/${o.metadata.name}`;
  const parsed = parseRoute(kind, o);
  if (!parsed.ok) {
    diags.push({
      severity: "error",
      source,
      field: `spec.${parsed.field}`,
      message: parsed.message,
    });
    return { objects: [] };
  }
  const route = parsed.value;
  const parents = attachRoute(
    kind,
    ns,
    route.hostnames,
    route.parentRefs,
    gateways,
    w,
    listenerSets,
  );
  if (!parents.length) return { objects: [] }; // not ours
  const base = objectNameOf([kind.toLowerCase(), o.metadata.name]);
  const src = sourceOf(o);
  const backends = new BackendSet(base, ns, src, GATEWAY_API_OWNER_LABEL, registry);
  // TLS backends present the parent Gateway's spec.tls.backend client certificate.
  backends.clientCertificateRef = routeClientCert(
    parents.flatMap((p) => p.attachments.map((a) => a.gateway)),
    ns,
  );
  const ctx: RuleContext = {
    routeKind: kind === "GRPCRoute" ? "GRPCRoute" : "HTTPRoute",
    routeNs: ns,
    base,
    w,
    backends,
    use: kind === "GRPCRoute" ? "grpc" : kind === "HTTPRoute" ? "http" : "l4",
    refProblems: [],
    warnings: [],
    usedServices: new Set(),
  };
  // L4 routes resolve refs as their own kind (ReferenceGrants name the route kind).
  const results = route.rules(ctx);
  ctx.refProblems.push(...backends.problems);
  for (const wmsg of ctx.warnings) diags.push({ severity: "warning", source, message: wmsg });
  const good = results.flatMap((r) => (r.ok ? [r.rule] : []));
  const bad = results.map((r, i) => ({ r, i })).filter((x) => !x.r.ok) as {
    r: Extract<RuleResult, { ok: false }>;
    i: number;
  }[];
  for (const b of bad) {
    diags.push({ severity: "error", source, field: `spec.rules[${b.i}]`, message: b.r.message });
  }

  let routeProblem: { reason: string; message: string } | undefined;
  if (!good.length) {
    routeProblem = bad.length
      ? {
        reason: bad[0].r.reason,
        message: bad.map((b) => `rules[${b.i}]: ${b.r.message}`).join("; "),
      }
      : { reason: "UnsupportedValue", message: "route has no rules" };
  }
  if (kind !== "HTTPRoute" && kind !== "GRPCRoute" && good.length > 1) {
    diags.push({
      severity: "warning",
      source,
      message: `${kind} has ${good.length} rules; all of their backends are served`,
    });
  }

  // Generate one ProxyRoute per distinct effective-hostname set.
  const objects: KubeObject[] = [];
  let generationProblem: string | undefined;
  if (!routeProblem) {
    const all = parents.flatMap((p) => p.attachments);
    const groups = [...groupByHostnames(all).values()];
    groups.forEach((g, gi) => {
      const seen = new Set<string>();
      const parentRefs: Record<string, unknown>[] = [];
      for (const a of g.atts) {
        const section = a.listener.proxyName ?? a.listener.spec.name;
        const key = `${a.gateway.namespace}/${a.gateway.proxyName}/${section}`;
        if (seen.has(key)) continue;
        seen.add(key);
        parentRefs.push(compact({
          namespace: a.gateway.namespace === ns ? undefined : a.gateway.namespace,
          name: a.gateway.proxyName,
          sectionName: section,
        }));
      }
      const l4 = L4[kind];
      const spec = compact({
        protocol: l4,
        parentRefs,
        hostnames: kind === "TCPRoute" || kind === "UDPRoute" ? undefined : g.hostnames,
        rules: good,
      });
      const name = registry.claim(
        "ProxyRoute",
        ns,
        gi === 0 ? base : objectNameOf([base, gi]),
        source,
      );
      // Precedence between routes uses the SOURCE's age and name, not the ProxyRoute's.
      const annotations: Record<string, string> = {
        [PRECEDENCE_NAME_ANNOTATION]: `${ns}/${o.metadata.name}`,
      };
      if (o.metadata.creationTimestamp) {
        annotations[PRECEDENCE_TIMESTAMP_ANNOTATION] = o.metadata.creationTimestamp;
      }
      if (l4) annotations[L4_PROTOCOL_ANNOTATION] = l4;
      const obj = generatedObject("ProxyRoute", ns, name, src, spec, {
        ownerLabel: GATEWAY_API_OWNER_LABEL,
        annotations,
      });
      const check = parseNovaEdgeObject("ProxyRoute", obj);
      if (!check.ok) {
        generationProblem ??= check.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
        return;
      }
      objects.push(obj);
    });
    if (generationProblem) {
      // The data plane could not express this route: reject it as a whole.
      objects.length = 0;
      routeProblem = {
        reason: "UnsupportedValue",
        message: `route cannot be expressed as a ProxyRoute: ${generationProblem}`,
      };
      diags.push({ severity: "error", source, message: routeProblem.message });
    } else if (objects.length) {
      // Only backends the kept rules use (a dropped rule's backends are not generated).
      const used = new Set<string>();
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === "object") {
          const r = v as Record<string, unknown>;
          if (
            r.kind === "ProxyBackend" && typeof r.name === "string" && r.namespace === undefined
          ) used.add(r.name);
          Object.values(r).forEach(walk);
        }
      };
      walk(good);
      objects.push(...backends.objects().filter((b) => used.has(b.metadata.name)));
    }
  }

  const resolved: Condition = ctx.refProblems.length
    ? cond(
      "ResolvedRefs",
      false,
      ctx.refProblems[0].reason,
      ctx.refProblems.map((p) => p.message).join("; "),
      gen,
    )
    : cond("ResolvedRefs", true, "ResolvedRefs", "All references are resolved", gen);
  const statusParents = parents.map((p: ParentResult) => {
    const conditions: Condition[] = [];
    if (!p.accepted.ok) {
      conditions.push(cond("Accepted", false, p.accepted.reason, p.accepted.message, gen));
    } else if (routeProblem) {
      conditions.push(cond("Accepted", false, routeProblem.reason, routeProblem.message, gen));
    } else {
      conditions.push(cond("Accepted", true, "Accepted", p.accepted.message, gen));
    }
    conditions.push(resolved);
    if (p.accepted.ok && !routeProblem && bad.length) {
      conditions.push(
        cond(
          "PartiallyInvalid",
          true,
          "UnsupportedValue",
          `Dropped Rule(s): ${bad.map((b) => `rules[${b.i}]: ${b.r.message}`).join("; ")}`,
          gen,
        ),
      );
    }
    return { parentRef: p.parentRef, controllerName, conditions };
  });
  const attachedGateways = [
    ...new Set(
      parents.flatMap((p) => p.attachments.map((a) => `${a.gateway.namespace}/${a.gateway.name}`)),
    ),
  ];
  return {
    objects,
    uses: { services: ctx.usedServices, gateways: attachedGateways },
    status: {
      ref: { apiVersion: o.apiVersion, kind, namespace: ns, name: o.metadata.name },
      generation: gen,
      status: { observedGeneration: gen, conditions: [], parents: statusParents },
    },
  };
}
