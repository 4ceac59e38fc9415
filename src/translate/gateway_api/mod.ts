/**
 * Gateway API → NovaEdge CRDs, as a pure function.
 *
 * `translateGatewayApi(objects)` reads GatewayClasses, Gateways, routes
 * (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute), ReferenceGrants,
 * BackendTLSPolicies, Services, Secrets and Namespaces, and returns the
 * generated ProxyGateways / ProxyRoutes / ProxyBackends (and each accepted
 * Gateway's Service + EndpointSlice, infrastructure.ts) plus the Gateway API
 * statuses of every object it owns. The builder decides later whether what was
 * generated really got programmed; `finalizeGatewayStatuses` folds that back
 * into the statuses (a second pure step, so the translator never needs the
 * builder).
 */
import type { Condition, Diagnostic, KubeObject, ObjectStatus } from "../../store/types.ts";
import { GATEWAY_GROUP, isRouteKind } from "./api_types.ts";
import {
  allListeners,
  collectGateways,
  DEFAULT_SUPPORTED_FEATURES,
  GATEWAY_CONTROLLER_NAME,
  gatewayStatus,
  proxyGatewayOf,
  translateGatewayClasses,
} from "./gateway.ts";
import type { GatewayState } from "./gateway.ts";
import {
  compareObjects,
  NameRegistry,
  reserveHandWritten,
  SOURCE_ANNOTATION,
} from "./generated.ts";
import { translateRoute } from "./routes.ts";
import { allocateGatewayAddresses } from "./address_pool.ts";
import { collectListenerSets, listenerSetStatus } from "./listener_set.ts";
import { tlsPolicyStatuses } from "./backend_tls.ts";
import { buildWorld, sanitizeObjects } from "./world.ts";
import { infrastructureObjectsOf, reserveCoreNames } from "./infrastructure.ts";
import { parseNovaEdgeObject } from "../../crds/mod.ts";

export {
  CONFORMANT_FEATURES,
  DEFAULT_SUPPORTED_FEATURES,
  GATEWAY_CONTROLLER_NAME,
  SUPPORTED_BUNDLE_VERSIONS,
  TRANSLATED_FEATURES,
} from "./gateway.ts";
export {
  GATEWAY_API_OWNER_LABEL,
  GENERATED_CORE_KINDS,
  INGRESS_OWNER_LABEL,
  isGenerated,
  isGeneratedCoreKind,
  isTranslatedSource,
  L4_PROTOCOL_ANNOTATION,
  PRECEDENCE_NAME_ANNOTATION,
  PRECEDENCE_TIMESTAMP_ANNOTATION,
  precedenceKey,
  referenceGrantSubject,
  SOURCE_ANNOTATION,
} from "./generated.ts";

export interface GatewayApiOptions {
  /** The GatewayClass controllerName to serve (default "novaedge.io/gateway-controller"). */
  readonly controllerName?: string;
  /** GatewayClass `status.supportedFeatures` (default: CONFORMANT_FEATURES). */
  readonly supportedFeatures?: readonly string[];
  /** Bundle version of the installed Gateway API CRDs ("v1.6.1"); unknown = assumed supported. */
  readonly bundleVersion?: string;
  /**
   * Where clients really reach Gateways (IPs or hostnames), by "<namespace>/<name>",
   * or "*" for every Gateway. Used for `status.addresses` when the Gateway has no
   * `spec.addresses`; ProxyVIPs whose gatewayRefs name the Gateway (or its
   * ProxyGateway) are used when neither gives one.
   */
  readonly gatewayAddresses?: Readonly<Record<string, readonly string[]>>;
  /**
   * Bind each Gateway's listeners to its first IP address even when it has no
   * `spec.addresses` (IPs in `spec.addresses` are always bound). Lets Gateways
   * that share a port live on different IPs (e.g. one per Gateway in conformance).
   */
  readonly bindGatewayAddresses?: boolean;
  /**
   * IPs to give Gateways that have no address of their own (no `spec.addresses` IP, no
   * `gatewayAddresses` entry, no ProxyVIP): one each, bound by their listeners, kept
   * stable through the address their status already shows.
   */
  readonly gatewayAddressPool?: readonly string[];
  /**
   * IPs NovaEdge agents can serve besides the pool, `gatewayAddresses` and ProxyVIP
   * addresses. When this or a `gatewayAddressPool` is given, a Gateway asking (in
   * `spec.addresses`) for an IP outside all of them is Accepted but not Programmed
   * (AddressNotUsable); otherwise every address is assumed usable.
   */
  readonly usableGatewayAddresses?: readonly string[];
}

/** What a translator returns: generated objects, statuses of source objects, diagnostics. */
export interface Translation {
  readonly objects: readonly KubeObject[];
  readonly statuses: readonly ObjectStatus[];
  readonly diagnostics: readonly Diagnostic[];
  /**
   * ProxyGateway listeners that come from a ListenerSet, by
   * "<ProxyGateway ns>/<name>/<listener>": whose status shows them, under which name.
   */
  readonly listenerOwners?: ReadonlyMap<string, { readonly status: string; readonly name: string }>;
}

/** Addresses of ProxyVIPs, by the "<namespace>/<name>" of the gateways they front. */
export function vipAddresses(objects: readonly KubeObject[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const o of objects) {
    if (o.kind !== "ProxyVIP") continue;
    const spec = o.spec as { address?: unknown; gatewayRefs?: unknown } | undefined;
    if (typeof spec?.address !== "string" || !Array.isArray(spec.gatewayRefs)) continue;
    const addr = spec.address.replace(/\/(32|128)$/, "");
    for (const r of spec.gatewayRefs as { name?: unknown; namespace?: unknown }[]) {
      if (typeof r?.name !== "string") continue;
      const ns = typeof r.namespace === "string" ? r.namespace : o.metadata.namespace ?? "default";
      const names = r.name.startsWith("gw-") ? [r.name, r.name.slice(3)] : [r.name];
      for (const n of names) {
        const list = out[`${ns}/${n}`] ?? [];
        if (!list.includes(addr)) list.push(addr);
        out[`${ns}/${n}`] = list.sort();
      }
    }
  }
  return out;
}

const byKey = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;

function compareStatus(a: ObjectStatus, b: ObjectStatus): number {
  const ka = `${a.ref.kind}/${a.ref.namespace ?? ""}/${a.ref.name}`;
  const kb = `${b.ref.kind}/${b.ref.namespace ?? ""}/${b.ref.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * The ProxyGateway of a Gateway, with every listener that fails NovaEdge
 * validation (names, hostnames the CRD refuses, ...) taken out and marked not
 * Accepted (UnsupportedValue) instead of emitting an invalid object.
 */
function validProxyGatewayOf(g: GatewayState, diags: Diagnostic[]): KubeObject | undefined {
  for (let attempt = 0; attempt <= g.listeners.length; attempt++) {
    const pg = proxyGatewayOf(g);
    if (pg === undefined) return undefined;
    const v = parseNovaEdgeObject("ProxyGateway", pg);
    if (v.ok) return pg;
    const programmed = allListeners(g).filter((l) => l.programmed);
    const bad = new Map<number, string[]>();
    let whole = false;
    for (const e of v.errors) {
      const m = /^spec\.listeners\[(\d+)\]/.exec(e.field);
      if (m && programmed[Number(m[1])]) {
        const list = bad.get(Number(m[1])) ?? [];
        list.push(`${e.field.slice(m[0].length).replace(/^\./, "") || "listener"}: ${e.message}`);
        bad.set(Number(m[1]), list);
      } else whole = true;
    }
    const targets = whole || bad.size === 0 ? programmed.map((_, i) => i) : [...bad.keys()];
    for (const i of targets) {
      const l = programmed[i];
      const why = (bad.get(i) ?? v.errors.map((e) => `${e.field}: ${e.message}`)).join("; ");
      l.programmed = false;
      l.accepted = {
        ok: false,
        reason: "UnsupportedValue",
        message: `listener cannot be served: ${why}`,
      };
      l.programmedMessage = `Listener is not accepted: ${why}`;
      diags.push({
        severity: "error",
        source: `Gateway/${g.namespace}/${g.name}`,
        field: `spec.listeners[${l.index}]`,
        message: `cannot be served: ${why}`,
      });
    }
  }
  return undefined;
}

/** Translates Gateway API objects into NovaEdge objects and Gateway API statuses. */
export function translateGatewayApi(
  objects: readonly KubeObject[],
  options: GatewayApiOptions = {},
): Translation {
  const diagnostics: Diagnostic[] = [];
  const clean = sanitizeObjects(objects, diagnostics);
  const sorted = [...clean].sort((
    a,
    b,
  ) => (byKey(a) < byKey(b) ? -1 : byKey(a) > byKey(b) ? 1 : 0));
  const w = buildWorld(sorted);
  const opts = {
    controllerName: options.controllerName ?? GATEWAY_CONTROLLER_NAME,
    supportedFeatures: options.supportedFeatures ?? DEFAULT_SUPPORTED_FEATURES,
    bundleVersion: options.bundleVersion,
    bindGatewayAddresses: options.bindGatewayAddresses,
    gatewayAddresses: { ...vipAddresses(sorted), ...(options.gatewayAddresses ?? {}) } as Record<
      string,
      readonly string[]
    >,
    pooled: new Set<string>(),
    unassigned: new Set<string>(),
    usableAddresses: undefined as Set<string> | undefined,
  };
  if (options.usableGatewayAddresses?.length || options.gatewayAddressPool?.length) {
    opts.usableAddresses = new Set([
      ...(options.usableGatewayAddresses ?? []),
      ...(options.gatewayAddressPool ?? []),
      ...Object.values(opts.gatewayAddresses).flat(),
    ]);
  }
  const registry = new NameRegistry();
  reserveHandWritten(registry, sorted);
  reserveCoreNames(registry, sorted);
  const classes = translateGatewayClasses(sorted, opts, diagnostics);
  if (options.gatewayAddressPool?.length) {
    const explicit = Object.fromEntries(
      Object.entries(opts.gatewayAddresses).filter(([k]) => k !== "*"),
    );
    const alloc = allocateGatewayAddresses(
      sorted,
      classes.accepted,
      options.gatewayAddressPool,
      explicit,
      diagnostics,
    );
    for (const k of alloc.unassigned) opts.unassigned.add(k);
    for (const [k, v] of Object.entries(alloc.allocated)) {
      opts.gatewayAddresses[k] = v;
      opts.pooled.add(k);
    }
  }
  const gateways = collectGateways(sorted, classes.accepted, w, opts, registry, diagnostics);
  const gwMap = new Map<string, GatewayState>(gateways.map((g) => [`${g.namespace}/${g.name}`, g]));
  const listenerSets = collectListenerSets(
    sorted,
    gwMap,
    w,
    opts.supportedFeatures,
    diagnostics,
  );

  const generated: KubeObject[] = [];
  // ProxyGateways first: a listener that cannot be expressed is not programmed,
  // so no route attaches to it in the generated objects.
  for (const g of gateways) {
    const pg = validProxyGatewayOf(g, diagnostics);
    if (pg) generated.push(pg);
  }
  const statuses: ObjectStatus[] = [...classes.statuses];
  const ancestors = new Map<string, Set<string>>(); // Service → Gateways (BackendTLSPolicy)
  for (const o of sorted) {
    if (!isRouteKind(o.kind) || !o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) continue;
    const r = translateRoute(
      o.kind,
      o,
      gwMap,
      w,
      opts.controllerName,
      registry,
      diagnostics,
      listenerSets,
    );
    generated.push(...r.objects);
    if (r.status) statuses.push(r.status);
    for (const svc of r.uses?.services ?? []) {
      const set = ancestors.get(svc) ?? new Set<string>();
      for (const g of r.uses!.gateways) set.add(g);
      ancestors.set(svc, set);
    }
  }
  for (const g of gateways) {
    const st = gatewayStatus(g);
    statuses.push(st);
    // An accepted Gateway gets its Service + EndpointSlice (GatewayInfrastructurePropagation).
    if (st.status.conditions.some((c) => c.type === "Accepted" && c.status === "True")) {
      generated.push(...infrastructureObjectsOf(g, registry));
    }
  }
  for (const ls of listenerSets.values()) statuses.push(listenerSetStatus(ls));
  statuses.push(...tlsPolicyStatuses(w.tlsPolicies, ancestors, opts.controllerName));
  generated.sort(compareObjects);
  statuses.sort(compareStatus);
  const listenerOwners = new Map<string, { status: string; name: string }>();
  for (const ls of listenerSets.values()) {
    for (const l of ls.listeners) {
      listenerOwners.set(`${ls.gateway.namespace}/${ls.gateway.proxyName}/${l.proxyName}`, {
        status: `ListenerSet/${ls.namespace}/${ls.name}`,
        name: l.spec.name,
      });
    }
  }
  return { objects: generated, statuses, diagnostics, listenerOwners };
}

/** What the snapshot builder decided about generated objects. */
export interface BuildFacts {
  /** Generated objects the builder rejected, by "<Kind>/<namespace>/<name>", with the reason. */
  readonly rejected?: ReadonlyMap<string, string>;
  /** Listeners not programmed, by "<namespace>/<ProxyGateway name>/<listener name>", with the reason. */
  readonly unprogrammedListeners?: ReadonlyMap<string, string>;
}

/** Route reasons that are about attachment: the Gateway API route attached anyway. */
const ATTACHMENT_REASONS = new Set([
  "NoMatchingParent",
  "NotAllowedByListeners",
  "NoMatchingListenerHostname",
]);

/**
 * Derives BuildFacts from the snapshot builder's statuses: ProxyGateways or
 * listeners not Programmed, ProxyRoutes not Accepted for a reason other than
 * attachment (a listener the builder did not program already shows on the
 * Gateway; the Gateway API route stays attached to it).
 */
export function buildFactsFromStatuses(statuses: readonly ObjectStatus[]): BuildFacts {
  const rejected = new Map<string, string>();
  const unprogrammedListeners = new Map<string, string>();
  for (const s of statuses) {
    const key = `${s.ref.kind}/${s.ref.namespace ?? ""}/${s.ref.name}`;
    const accepted = s.status.conditions.find((c) => c.type === "Accepted");
    if (s.ref.kind === "ProxyGateway") {
      if (accepted?.status === "False") rejected.set(key, accepted.message);
      for (const l of (s.status.listeners ?? []) as { name: string; conditions: Condition[] }[]) {
        const p = l.conditions.find((c) => c.type === "Programmed");
        if (p !== undefined && p.status !== "True") {
          unprogrammedListeners.set(`${s.ref.namespace ?? ""}/${s.ref.name}/${l.name}`, p.message);
        }
      }
    } else if (s.ref.kind === "ProxyRoute" && accepted?.status === "False") {
      if (!ATTACHMENT_REASONS.has(accepted.reason)) rejected.set(key, accepted.message);
    }
  }
  return { rejected, unprogrammedListeners };
}

type MutableStatus = { -readonly [K in keyof ObjectStatus["status"]]: ObjectStatus["status"][K] };

/**
 * Folds the builder's decisions into the translator's statuses: a listener the
 * builder did not program gets `Programmed: False`, a Gateway with no programmed
 * listener too, and a route whose ProxyRoute was rejected loses `Accepted`.
 * Pure; returns a new Translation.
 */
export function finalizeGatewayStatuses(t: Translation, facts: BuildFacts): Translation {
  const rejected = facts.rejected ?? new Map<string, string>();
  const unprog = facts.unprogrammedListeners ?? new Map<string, string>();
  // Source key → problems with what it generated.
  // "Gateway/ns/name" or "ListenerSet/ns/name" → listener → why
  const listenerProblems = new Map<string, Map<string, string>>();
  const routeProblems = new Map<string, string>(); // "<Kind>/ns/name" → why
  for (const o of t.objects) {
    const src = o.metadata.annotations?.[SOURCE_ANNOTATION];
    if (src === undefined) continue;
    const key = byKey(o);
    const why = rejected.get(key);
    if (o.kind === "ProxyGateway") {
      const listeners = (o.spec as { listeners?: { name: string }[] }).listeners ?? [];
      for (const l of listeners) {
        const lk = `${o.metadata.namespace ?? ""}/${o.metadata.name}/${l.name}`;
        const reason = why ?? unprog.get(lk);
        if (reason === undefined) continue;
        // A ListenerSet's listener shows on the ListenerSet, under its own name.
        const owner = t.listenerOwners?.get(lk);
        const m = listenerProblems.get(owner?.status ?? src) ?? new Map<string, string>();
        m.set(owner?.name ?? l.name, reason);
        listenerProblems.set(owner?.status ?? src, m);
      }
    } else if (why !== undefined && !routeProblems.has(src)) {
      routeProblems.set(src, `${key}: ${why}`);
    }
  }
  const statuses = t.statuses.map((s) => {
    const key = `${s.ref.kind}/${s.ref.namespace ?? ""}/${s.ref.name}`;
    const lp = listenerProblems.get(key);
    if ((s.ref.kind === "Gateway" || s.ref.kind === "ListenerSet") && lp) {
      const st: MutableStatus = { ...s.status };
      const listeners = (st.listeners as { name: string; conditions: Condition[] }[]).map((l) => {
        const why = lp.get(l.name);
        if (why === undefined) return l;
        return {
          ...l,
          conditions: l.conditions.map((c) =>
            c.type === "Programmed"
              ? { ...c, status: "False" as const, reason: "Invalid", message: why }
              : c
          ),
        };
      });
      st.listeners = listeners;
      const anyProgrammed = listeners.some((l) =>
        l.conditions.some((c) => c.type === "Programmed" && c.status === "True")
      );
      if (!anyProgrammed) {
        st.conditions = s.status.conditions.map((c) =>
          c.type === "Programmed"
            ? {
              ...c,
              status: "False" as const,
              reason: "Invalid",
              message: "No listener could be programmed",
            }
            : c
        );
      }
      return { ...s, status: st as ObjectStatus["status"] };
    }
    const rp = routeProblems.get(key);
    if (rp !== undefined && Array.isArray(s.status.parents)) {
      const parents = (s.status.parents as { conditions: Condition[] }[]).map((p) => ({
        ...p,
        conditions: p.conditions.map((c) =>
          c.type === "Accepted" && c.status === "True"
            ? { ...c, status: "False" as const, reason: "UnsupportedValue", message: rp }
            : c
        ),
      }));
      return { ...s, status: { ...s.status, parents } };
    }
    return s;
  });
  return { ...t, statuses };
}
