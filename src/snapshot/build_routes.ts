/**
 * ProxyRoute → snapshot Routes (one per rule). Attaches to ProxyGateway
 * listeners through parentRefs (sectionName/port, allowedRoutes, protocol,
 * hostname intersection), resolves backendRefs to clusters and reports
 * Gateway API style conditions, per parent and overall.
 */
import type { Typed } from "../crds/mod.ts";
import { durationMs, selectorMatches } from "../crds/common.ts";
import type {
  BackendObjectRefSpec,
  ParentRefSpec,
  RouteFilterSpec,
  RouteRuleSpec,
} from "../crds/proxy_route.ts";
import type { BuildContext } from "./build_context.ts";
import { condition } from "./build_context.ts";
import type { AcceptedListener, GatewayListeners } from "./build_gateways.ts";
import { implicitServiceCluster } from "./build_backends.ts";
import { cors, headerModifier } from "./build_policies.ts";
import type { PolicyTargets } from "./build_policies.ts";
import { effectiveHostnames } from "./hostnames.ts";
import { cmp, orderKey } from "./object_index.ts";
import type { Filter, PathModifier, Route, RouteMatch, WeightedCluster } from "./types.ts";
import { FAIL_CLUSTER_PREFIX } from "./types.ts";
import type { Condition, KubeObject } from "../store/types.ts";

type RouteProtocol = "HTTP" | "TCP" | "TLS" | "UDP";

function listenerAccepts(route: RouteProtocol, l: AcceptedListener): boolean {
  const p = l.spec.protocol;
  switch (route) {
    case "HTTP":
      return p === "HTTP" || p === "HTTPS";
    case "TLS":
      // Passthrough routes by SNI; Terminate (TLSRoute "Terminate" mode) ends
      // TLS with the listener's certificates and forwards plain TCP.
      return p === "TLS";
    case "TCP":
      return p === "TCP" || (p === "TLS" && l.spec.tls?.mode === "Terminate");
    case "UDP":
      return p === "UDP";
  }
}

function namespaceAllowed(ctx: BuildContext, l: AcceptedListener, routeNs: string): boolean {
  const ns = l.spec.allowedRoutes?.namespaces;
  const from = ns?.from ?? "Same";
  if (from === "None") return false;
  if (from === "All") return true;
  if (from === "Same") return routeNs === l.gateway.namespace;
  const nsObj = ctx.index.get("Namespace", routeNs);
  const labels = { "kubernetes.io/metadata.name": routeNs, ...(nsObj?.metadata.labels ?? {}) };
  return selectorMatches(ns!.selector!, labels);
}

interface Attachment {
  readonly listeners: AcceptedListener[];
  /** Effective hostnames per attached listener ([] = any host). */
  readonly hosts: Map<AcceptedListener, Set<string>>;
}

/**
 * Listeners grouped by identical effective hostnames: one snapshot route per
 * group keeps each listener's hostname restriction exact, whatever the data
 * plane does with listeners that share a port.
 */
function hostGroups(att: Attachment): { listeners: string[]; hostnames: string[] }[] {
  const groups = new Map<string, { listeners: string[]; hostnames: string[] }>();
  for (const l of att.listeners) {
    const hostnames = [...(att.hosts.get(l) ?? [])].sort();
    const key = JSON.stringify(hostnames);
    const g = groups.get(key) ?? { listeners: [], hostnames };
    g.listeners.push(l.name);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({ ...g, listeners: g.listeners.sort() }))
    .sort((a, b) => cmp(a.listeners[0], b.listeners[0]));
}

function parentRefStatus(
  ref: ParentRefSpec,
  ns: string,
  conds: Condition[],
): Record<string, unknown> {
  return {
    parentRef: {
      group: ref.group ?? "novaedge.io",
      kind: ref.kind ?? "ProxyGateway",
      namespace: ref.namespace ?? ns,
      name: ref.name,
      ...(ref.sectionName ? { sectionName: ref.sectionName } : {}),
      ...(ref.port ? { port: ref.port } : {}),
    },
    conditions: conds,
  };
}

/** The fail cluster standing for an unresolvable backend reference (see FAIL_CLUSTER_PREFIX). */
function failClusterName(routeNs: string, ref: BackendObjectRefSpec): string {
  const kind = ref.kind ?? "ProxyBackend";
  const port = ref.port ? `:${ref.port}` : "";
  return `${FAIL_CLUSTER_PREFIX}${kind}/${ref.namespace ?? routeNs}/${ref.name}${port}`;
}

/** Resolves a backend object reference to a cluster name, or explains why not. */
function resolveBackend(
  ctx: BuildContext,
  route: { readonly namespace: string; readonly source: KubeObject },
  ref: BackendObjectRefSpec,
): { cluster: string } | { reason: string; message: string } {
  const routeNs = route.namespace;
  const kind = ref.kind ?? "ProxyBackend";
  const ns = ref.namespace ?? routeNs;
  const group = kind === "Service" ? "" : "novaedge.io";
  if (!ctx.refPermittedFrom(route.source, group, kind, ns, ref.name)) {
    return {
      reason: "RefNotPermitted",
      message: `${kind} ${ns}/${ref.name} is in another namespace and no ReferenceGrant allows it`,
    };
  }
  if (kind === "Service") return implicitServiceCluster(ctx, ns, ref.name, ref.port!);
  const cname = `${ns}/${ref.name}`;
  if (ctx.clusters.has(cname)) return { cluster: cname };
  return ctx.index.get("ProxyBackend", cname)
    ? { reason: "BackendNotFound", message: `ProxyBackend ${cname} is not valid` }
    : { reason: "BackendNotFound", message: `ProxyBackend ${cname} not found` };
}

function pathModifier(
  p: {
    type: "ReplaceFullPath" | "ReplacePrefixMatch";
    replaceFullPath?: string;
    replacePrefixMatch?: string;
  },
): PathModifier {
  return {
    type: p.type,
    value: (p.type === "ReplaceFullPath" ? p.replaceFullPath : p.replacePrefixMatch) ?? "/",
  };
}

export function buildRoutes(
  ctx: BuildContext,
  routes: readonly Typed<"ProxyRoute">[],
  byGateway: GatewayListeners,
  policyTargets: PolicyTargets,
  builtPolicies: ReadonlySet<string>,
): Route[] {
  const out: Route[] = [];
  // Shadowed-match detection: "<listener>|<host>|<match>" → first route rule.
  const seenMatch = new Map<string, string>();
  const sorted = [...routes].sort((a, b) => cmp(orderKey(a.source), orderKey(b.source)));
  for (const r of sorted) {
    const st = ctx.status(r.source);
    const s = r.spec;
    const rkey = `${r.namespace}/${r.name}`;
    const att: Attachment = { listeners: [], hosts: new Map() };
    const parents: Record<string, unknown>[] = [];
    let firstFail: [string, string] | undefined;
    s.parentRefs.forEach((ref, i) => {
      const field = `spec.parentRefs[${i}]`;
      const gwKey = `${ref.namespace ?? r.namespace}/${ref.name}`;
      const g = r.generation;
      const fail = (reason: string, msg: string) => {
        firstFail ??= [reason, `${field}: ${msg}`];
        ctx.error(r.source, field, msg);
        parents.push(
          parentRefStatus(ref, r.namespace, [
            condition("Accepted", false, reason, `${field}: ${msg}`, g),
          ]),
        );
      };
      const accepted = byGateway.get(gwKey);
      if (!accepted) {
        fail(
          "NoMatchingParent",
          ctx.index.get("ProxyGateway", gwKey)
            ? `ProxyGateway ${gwKey} is not accepted`
            : `ProxyGateway ${gwKey} not found`,
        );
        return;
      }
      let candidates = [...accepted.values()];
      if (ref.sectionName) candidates = candidates.filter((l) => l.spec.name === ref.sectionName);
      if (ref.port) candidates = candidates.filter((l) => l.spec.port === ref.port);
      if (!candidates.length) {
        const what = [
          ref.sectionName && `named ${ref.sectionName}`,
          ref.port && `on port ${ref.port}`,
        ]
          .filter(Boolean).join(" ");
        fail("NoMatchingParent", `ProxyGateway ${gwKey} has no accepted listener ${what}`.trim());
        return;
      }
      const byProto = candidates.filter((l) => listenerAccepts(s.protocol, l));
      if (!byProto.length) {
        fail(
          "NotAllowedByListeners",
          `no listener of ProxyGateway ${gwKey} accepts ${s.protocol} routes (listeners: ${
            candidates.map((l) => `${l.spec.name}/${l.spec.protocol}`).join(", ")
          })`,
        );
        return;
      }
      const byNs = byProto.filter((l) => namespaceAllowed(ctx, l, r.namespace));
      if (!byNs.length) {
        fail(
          "NotAllowedByListeners",
          `listeners of ProxyGateway ${gwKey} do not allow routes from namespace ${r.namespace}`,
        );
        return;
      }
      let matched = 0;
      for (const l of byNs) {
        const hosts = s.protocol === "TCP" || s.protocol === "UDP"
          ? []
          : effectiveHostnames(l.spec.hostname, s.hostnames ?? []);
        if (hosts === undefined) continue;
        matched++;
        if (!att.listeners.includes(l)) {
          att.listeners.push(l);
          l.attachedRoutes++;
        }
        // Two parentRefs reaching one listener: any-host wins, else the union.
        const prev = att.hosts.get(l);
        if (prev === undefined) att.hosts.set(l, new Set(hosts));
        else if (prev.size > 0 && hosts.length > 0) { for (const h of hosts) prev.add(h); }
        else prev.clear();
      }
      if (!matched) {
        fail(
          "NoMatchingListenerHostname",
          `route hostnames ${
            JSON.stringify(s.hostnames ?? [])
          } do not intersect any listener hostname of ProxyGateway ${gwKey}`,
        );
        return;
      }
      parents.push(
        parentRefStatus(ref, r.namespace, [condition("Accepted", true, "Accepted", "accepted", g)]),
      );
    });
    st.extra.parents = parents;
    if (!att.listeners.length) {
      st.set("Accepted", false, firstFail![0], firstFail![1]);
      continue;
    }
    // Rules.
    let refFail = false;
    const refError = (field: string, reason: string, message: string) => {
      refFail = true;
      st.set("ResolvedRefs", false, reason, `${field}: ${message}`);
      ctx.error(r.source, field, message);
    };
    const convertFilters = (
      filters: readonly RouteFilterSpec[] | undefined,
      base: string,
    ): Filter[] => {
      const outF: Filter[] = [];
      (filters ?? []).forEach((f, i) => {
        const field = `${base}.filters[${i}]`;
        switch (f.type) {
          case "RequestHeaderModifier":
            outF.push({
              type: f.type,
              requestHeaderModifier: headerModifier(f.requestHeaderModifier!),
            });
            break;
          case "ResponseHeaderModifier":
            outF.push({
              type: f.type,
              responseHeaderModifier: headerModifier(f.responseHeaderModifier!),
            });
            break;
          case "RequestRedirect": {
            const rd = f.requestRedirect!;
            outF.push({
              type: f.type,
              requestRedirect: {
                scheme: rd.scheme ?? "",
                hostname: rd.hostname ?? "",
                port: rd.port ?? 0,
                ...(rd.path ? { path: pathModifier(rd.path) } : {}),
                statusCode: rd.statusCode,
              },
            });
            break;
          }
          case "URLRewrite": {
            const rw = f.urlRewrite!;
            outF.push({
              type: f.type,
              urlRewrite: {
                hostname: rw.hostname ?? "",
                ...(rw.path ? { path: pathModifier(rw.path) } : {}),
              },
            });
            break;
          }
          case "RequestMirror": {
            const m = f.requestMirror!;
            const res = resolveBackend(ctx, r, m.backendRef);
            if ("reason" in res) {
              refError(`${field}.requestMirror.backendRef`, res.reason, res.message);
            } else {outF.push({
                type: f.type,
                requestMirror: { cluster: res.cluster, percent: m.percent },
              });}
            break;
          }
          case "CORS":
            outF.push({ type: f.type, cors: cors(f.cors!) });
            break;
          case "ExtensionRef": {
            const pk = `${r.namespace}/${f.extensionRef!.name}`;
            if (!builtPolicies.has(pk)) {
              refError(
                `${field}.extensionRef`,
                "InvalidKind",
                ctx.index.get("ProxyPolicy", pk)
                  ? `ProxyPolicy ${pk} is not accepted`
                  : `ProxyPolicy ${pk} not found`,
              );
            } else outF.push({ type: f.type, extensionRef: pk });
            break;
          }
        }
      });
      return outF;
    };
    // Rule-level semantic checks Gateway API makes (UnsupportedValue).
    const invalid: string[] = [];
    s.rules.forEach((rule: RouteRuleSpec, j) => {
      const types = (rule.filters ?? []).map((f) => f.type);
      if (types.includes("RequestRedirect") && types.includes("URLRewrite")) {
        invalid.push(`spec.rules[${j}].filters: RequestRedirect and URLRewrite cannot be combined`);
      }
      const usesPrefix = (rule.filters ?? []).some((f) =>
        (f.urlRewrite?.path ?? f.requestRedirect?.path)?.type === "ReplacePrefixMatch"
      );
      if (
        usesPrefix &&
        (rule.matches ?? []).some((m) => (m.path?.type ?? "PathPrefix") !== "PathPrefix")
      ) {
        invalid.push(
          `spec.rules[${j}].filters: ReplacePrefixMatch needs every match to be a PathPrefix match`,
        );
      }
    });
    if (invalid.length) {
      for (const m of invalid) {
        const idx = m.indexOf(": ");
        ctx.error(r.source, m.slice(0, idx), m.slice(idx + 2));
      }
      st.set("Accepted", false, "UnsupportedValue", invalid.join("; "));
      for (const l of att.listeners) l.attachedRoutes--;
      continue;
    }
    const groups = hostGroups(att);
    // Policies: gateway-level, listener-level, then route-level (most specific last).
    const pol = new Set<string>();
    for (const l of att.listeners) {
      const gk = `ProxyGateway/${l.gateway.namespace}/${l.gateway.name}`;
      for (const p of policyTargets.get(gk) ?? []) pol.add(p);
      for (const p of policyTargets.get(`${gk}/${l.spec.name}`) ?? []) pol.add(p);
    }
    for (const p of policyTargets.get(`ProxyRoute/${rkey}`) ?? []) pol.add(p);
    s.rules.forEach((rule, j) => {
      const base = `spec.rules[${j}]`;
      const matches: RouteMatch[] = (rule.matches ?? []).map((m) => ({
        ...(m.path ? { path: { type: m.path.type, value: m.path.value } } : {}),
        headers: (m.headers ?? []).map((h) => ({
          type: h.type,
          name: h.name.toLowerCase(),
          value: h.value,
        })),
        queryParams: (m.queryParams ?? []).map((q) => ({
          type: q.type,
          name: q.name,
          value: q.value,
        })),
        method: m.method ?? "",
      }));
      const backends: WeightedCluster[] = [];
      (rule.backendRefs ?? []).forEach((b, k) => {
        const res = resolveBackend(ctx, r, b);
        if ("reason" in res) {
          refError(`${base}.backendRefs[${k}]`, res.reason, res.message);
          // Its share of requests must fail (Gateway API: 500), never go to
          // the other backends: keep the weight on a cluster that never exists.
          if (b.weight > 0) {
            backends.push({
              cluster: failClusterName(r.namespace, b),
              weight: b.weight,
              filters: [],
            });
          }
          return;
        }
        backends.push({
          cluster: res.cluster,
          weight: b.weight,
          filters: convertFilters(b.filters, `${base}.backendRefs[${k}]`),
        });
      });
      const filters = convertFilters(rule.filters, base);
      const rt = rule.timeouts;
      const rr = rule.retry;
      // "<ns>/<route>/<rule>"; further hostname groups get "~<n>" appended.
      groups.forEach(({ listeners, hostnames }, gi) => {
        const name = gi === 0 ? `${rkey}/${j}` : `${rkey}/${j}~${gi}`;
        out.push({
          name,
          listeners,
          hostnames,
          matches,
          filters,
          backends,
          ...(rt
            ? {
              timeouts: {
                requestMs: durationMs(rt.request),
                backendRequestMs: durationMs(rt.backendRequest),
              },
            }
            : {}),
          ...(rr
            ? {
              retry: {
                attempts: rr.attempts,
                codes: [...(rr.codes ?? [])],
                perTryTimeoutMs: durationMs(rr.perTryTimeout),
                backoffMs: durationMs(rr.backoff),
                retryNonIdempotent: rr.retryNonIdempotent,
                on: [
                  ...(rr.retryOn ??
                    (rr.codes?.length ? ["connect-failure", "5xx"] : ["connect-failure"])),
                ],
              },
            }
            : {}),
          l4Protocol: s.protocol === "HTTP" ? "" : s.protocol,
          maxBodyBytes: rule.maxBodyBytes ?? 0,
          // A policy may target one rule by its name (targetRef sectionName).
          policies: [
            ...new Set([
              ...pol,
              ...(rule.name ? policyTargets.get(`ProxyRoute/${rkey}/${rule.name}`) ?? [] : []),
            ]),
          ],
          orderKey: orderKey(r.source),
        });
        // Conflicts: an identical match on the same listener and host as an older rule.
        const hostKeys = hostnames.length ? hostnames : ["*"];
        const matchKeys = matches.length ? matches.map((m) => JSON.stringify(m)) : ["<all>"];
        for (const l of listeners) {
          for (const h of hostKeys) {
            matchKeys.forEach((mk, mi) => {
              const key = `${l}|${h}|${mk}`;
              const prev = seenMatch.get(key);
              if (prev === undefined) seenMatch.set(key, `${name}`);
              else if (!prev.startsWith(`${rkey}/`)) {
                ctx.warn(
                  r.source,
                  matches.length ? `${base}.matches[${mi}]` : `${base}`,
                  `identical match on listener ${l} host ${h} is already served by older route ${prev}; this one never matches there`,
                );
              }
            });
          }
        }
      });
    });
    st.set("Accepted", true, "Accepted", `attached to ${att.listeners.length} listener(s)`);
    if (!refFail) st.set("ResolvedRefs", true, "ResolvedRefs", "all references resolved");
    // Gateway API reports ResolvedRefs per accepted parent too.
    const resolved = st.conditions.get("ResolvedRefs")!;
    for (const p of parents) {
      const conds = p.conditions as Condition[];
      if (conds[0]?.status === "True") conds.push(resolved);
    }
  }
  return out;
}
