/**
 * GatewayClass and Gateway: which classes are ours, each Gateway's listeners
 * validated (protocol, TLS certificate references, route kinds, conflicts) and
 * the ProxyGateway generated from the listeners that can be programmed.
 * Attached-route counts are filled in later by route attachment, so the
 * Gateway status is rendered last (see `gatewayStatus`).
 */
import type { Condition, Diagnostic, KubeObject, ObjectStatus } from "../../store/types.ts";
import { isIP } from "node:net";
import { parseWith } from "../../crds/schema.ts";
import { GATEWAY_GROUP, gatewayClassSpec, gatewaySpec } from "./api_types.ts";
import type { GatewaySpecIn, LabelSelectorIn, ListenerIn, RouteKind } from "./api_types.ts";
import {
  compact,
  cond,
  GATEWAY_API_OWNER_LABEL,
  generatedObject,
  NameRegistry,
  objectNameOf,
  setListenerReferrers,
  sourceOf,
} from "./generated.ts";
import type { ReferrerSubject } from "./generated.ts";
import { referenceAllowed, tlsSecretProblem } from "./world.ts";
import { analyzeGatewayTls, clientValidationOut, gatewayTlsConditions } from "./frontend_tls.ts";
import type { FrontendValidation, GatewayTlsInfo } from "./frontend_tls.ts";
import type { World } from "./world.ts";

/** The controllerName NovaEdge answers to. */
export const GATEWAY_CONTROLLER_NAME = "novaedge.io/gateway-controller";

/** Gateway API bundle versions this translator implements (major.minor). */
export const SUPPORTED_BUNDLE_VERSIONS = ["v1.5", "v1.6"] as const;

/**
 * Features whose configuration this translator carries through to the
 * generated objects (a feature may be claimed only once the data plane also
 * passes its conformance tests: `supportedFeatures` is the caller's choice).
 */
export const TRANSLATED_FEATURES = [
  "BackendTLSPolicy",
  "BackendTLSPolicySANValidation",
  "Gateway",
  "GatewayAddressEmpty",
  "GatewayBackendClientCertificate",
  "GatewayFrontendClientCertificateValidation",
  "GatewayFrontendClientCertificateValidationInsecureFallback",
  "GatewayHTTPListenerIsolation",
  "GatewayHTTPSListenerDetectMisdirectedRequests",
  "GatewayInfrastructurePropagation",
  "GatewayPort8080",
  "GatewayStaticAddresses",
  "GRPCRoute",
  "GRPCRouteNamedRouteRule",
  "HTTPRoute",
  "HTTPRoute303RedirectStatusCode",
  "HTTPRoute307RedirectStatusCode",
  "HTTPRoute308RedirectStatusCode",
  "HTTPRouteBackendProtocolH2C",
  "HTTPRouteBackendProtocolWebSocket",
  "HTTPRouteBackendRequestHeaderModification",
  "HTTPRouteBackendTimeout",
  "HTTPRouteCORS",
  "HTTPRouteDestinationPortMatching",
  "HTTPRouteHostRewrite",
  "HTTPRouteMethodMatching",
  "HTTPRouteNamedRouteRule",
  "HTTPRouteParentRefPort",
  "HTTPRoutePathRedirect",
  "HTTPRoutePathRewrite",
  "HTTPRoutePortRedirect",
  "HTTPRouteQueryParamMatching",
  "HTTPRouteRequestMirror",
  "HTTPRouteRequestMultipleMirrors",
  "HTTPRouteRequestPercentageMirror",
  "HTTPRouteRequestTimeout",
  "HTTPRouteResponseHeaderModification",
  "HTTPRouteRetry",
  "HTTPRouteRetryBackendTimeout",
  "HTTPRouteRetryConnectionError",
  "HTTPRouteSchemeRedirect",
  "ListenerSet",
  "ReferenceGrant",
  "TCPRoute",
  "TLSRoute",
  "TLSRouteModeMixed",
  "TLSRouteModeTerminate",
  "UDPRoute",
] as const;

/**
 * Translated features whose conformance tests do not all pass yet (v1.6.1), and why.
 * They are left out of CONFORMANT_FEATURES.
 */
export const NOT_YET_CONFORMANT: Readonly<Record<string, string>> = {};

/**
 * Features whose conformance tests all pass (v1.6.1; `deno task conformance
 * --features=translated` shows it): the default GatewayClass `status.supportedFeatures`,
 * which also decides what TLS listeners may do (tlsCapabilities).
 */
export const CONFORMANT_FEATURES: readonly string[] = TRANSLATED_FEATURES.filter((f) =>
  !(f in NOT_YET_CONFORMANT)
);

/** The default `supportedFeatures`: what passes conformance. */
export const DEFAULT_SUPPORTED_FEATURES = CONFORMANT_FEATURES;

export interface GatewayOptions {
  readonly controllerName: string;
  /** Names for GatewayClass `status.supportedFeatures` (sorted, deduplicated on output). */
  readonly supportedFeatures: readonly string[];
  /** Bundle version of the installed Gateway API CRDs (e.g. "v1.6.1"), when known. */
  readonly bundleVersion?: string;
  /** Where clients reach each Gateway, by "<namespace>/<name>", or "*" for every Gateway. */
  readonly gatewayAddresses: Readonly<Record<string, readonly string[]>>;
  /**
   * Bind each Gateway's listeners to its first IP address (from gatewayAddresses
   * or a ProxyVIP) even without `spec.addresses`, so Gateways sharing a port on
   * different IPs stay apart. `spec.addresses` IPs are always bound.
   */
  readonly bindGatewayAddresses?: boolean;
  /** Gateways ("<ns>/<name>") whose address came from the pool: their listeners bind it. */
  readonly pooled?: ReadonlySet<string>;
  /** IPs the agents can serve; a `spec.addresses` IP outside it is AddressNotUsable. */
  readonly usableAddresses?: ReadonlySet<string>;
  /** Gateways the pool had no address left for (AddressNotAssigned). */
  readonly unassigned?: ReadonlySet<string>;
}

export type Verdict = { readonly ok: boolean; readonly reason: string; readonly message: string };

/** One listener as validated. */
export interface ListenerState {
  readonly spec: ListenerIn;
  readonly index: number;
  readonly supportedKinds: readonly RouteKind[];
  accepted: Verdict;
  resolvedRefs: Verdict;
  conflicted?: { reason: "HostnameConflict" | "ProtocolConflict"; message: string };
  /** Certificate references that resolved (namespace explicit when not the Gateway's). */
  readonly certRefs: readonly { name: string; namespace?: string }[];
  /** Generated into the ProxyGateway (accepted, not conflicted, refs usable). */
  programmed: boolean;
  programmedMessage: string;
  attachedRoutes: number;
  /** Client-certificate validation from the Gateway's spec.tls.frontend (HTTPS only). */
  clientValidation?: FrontendValidation;
  /** Its name in the ProxyGateway (a ListenerSet's listeners get unique ones; default spec.name). */
  proxyName?: string;
  /** The namespace allowedRoutes "Same" means (a ListenerSet's; default the Gateway's). */
  sameNamespace?: string;
  /** Programmed condition reason when not programmed (default Invalid). */
  programmedReason?: string;
  /**
   * Who makes its certificate references when not the Gateway: a ListenerSet's
   * listener (the builder checks ReferenceGrants naming the ListenerSet, in its namespace).
   */
  referrer?: { kind: "ListenerSet"; namespace: string };
}

export interface GatewayState {
  readonly obj: KubeObject;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly spec: GatewaySpecIn;
  /** Name of the generated ProxyGateway (same namespace). */
  readonly proxyName: string;
  readonly listeners: ListenerState[];
  readonly addresses: readonly { type: string; value: string }[];
  readonly addressProblem?: Verdict;
  /** Accepted, but cannot be programmed (AddressNotUsable). */
  readonly programmedProblem?: Verdict;
  /** The IP the generated listeners bind (undefined: every address of the node). */
  readonly bindAddress?: string;
  /** spec.tls as analysed (frontend validation is on the listeners). */
  readonly tlsInfo: GatewayTlsInfo;
  /** ListenerSets naming this Gateway (listener_set.ts fills it in), precedence order. */
  listenerSets?: readonly ListenerSetLike[];
}

/** What gateway.ts needs of a ListenerSet (listener_set.ts owns the rest). */
export interface ListenerSetLike {
  /** Allowed by the Gateway's allowedListeners: its listeners are merged in. */
  readonly attached: boolean;
  /** Accepted (some listener valid): counted in the Gateway's attachedListenerSets. */
  readonly accepted: boolean;
  readonly listeners: readonly ListenerState[];
}

/** The Gateway's own listeners, then those of its attached ListenerSets (precedence order). */
export function allListeners(g: GatewayState): ListenerState[] {
  return [
    ...g.listeners,
    ...(g.listenerSets ?? []).filter((ls) => ls.attached).flatMap((ls) => ls.listeners),
  ];
}

export interface GatewayClassesResult {
  /** Names of the GatewayClasses we accepted. */
  readonly accepted: ReadonlySet<string>;
  readonly statuses: ObjectStatus[];
}

function gatewayClassRef(o: KubeObject) {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name };
}

/** Validates our GatewayClasses and renders their statuses. */
export function translateGatewayClasses(
  objects: readonly KubeObject[],
  opts: GatewayOptions,
  diags: Diagnostic[],
): GatewayClassesResult {
  const accepted = new Set<string>();
  const statuses: ObjectStatus[] = [];
  const versionOk = opts.bundleVersion === undefined ||
    SUPPORTED_BUNDLE_VERSIONS.some((v) =>
      opts.bundleVersion === v || opts.bundleVersion!.startsWith(`${v}.`) ||
      opts.bundleVersion!.startsWith(`${v}-`)
    );
  for (const o of objects) {
    if (o.kind !== "GatewayClass" || !o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) continue;
    const p = parseWith(gatewayClassSpec, o.spec);
    if (!p.ok) {
      diags.push({
        severity: "error",
        source: `GatewayClass//${o.metadata.name}`,
        field: p.errors[0].field ? `spec.${p.errors[0].field}` : "spec",
        message: p.errors[0].message,
      });
      continue;
    }
    if (p.value.controllerName !== opts.controllerName) continue;
    const gen = o.metadata.generation ?? 0;
    const conditions: Condition[] = [];
    if (!versionOk) {
      conditions.push(
        cond(
          "Accepted",
          false,
          "UnsupportedVersion",
          `Gateway API CRDs ${opts.bundleVersion} are not supported (supported: ${
            SUPPORTED_BUNDLE_VERSIONS.join(", ")
          })`,
          gen,
        ),
      );
      conditions.push(
        cond(
          "SupportedVersion",
          false,
          "UnsupportedVersion",
          `Gateway API CRDs ${opts.bundleVersion} are not supported (supported: ${
            SUPPORTED_BUNDLE_VERSIONS.join(", ")
          })`,
          gen,
        ),
      );
    } else if (p.value.parametersRef !== undefined) {
      const r = p.value.parametersRef;
      conditions.push(
        cond(
          "Accepted",
          false,
          "InvalidParameters",
          `parametersRef ${r.group ?? ""}/${
            r.kind ?? ""
          }/${r.name}: NovaEdge GatewayClasses take no parameters`,
          gen,
        ),
      );
      conditions.push(
        cond("SupportedVersion", true, "SupportedVersion", "Gateway API version is supported", gen),
      );
    } else {
      accepted.add(o.metadata.name);
      conditions.push(
        cond("Accepted", true, "Accepted", "GatewayClass is accepted by NovaEdge", gen),
      );
      conditions.push(
        cond("SupportedVersion", true, "SupportedVersion", "Gateway API version is supported", gen),
      );
    }
    const features = [...new Set(opts.supportedFeatures)].sort().map((name) => ({ name }));
    statuses.push({
      ref: gatewayClassRef(o),
      generation: gen,
      status: { observedGeneration: gen, conditions, supportedFeatures: features },
    });
  }
  return { accepted, statuses };
}

const PROTOCOL_KINDS: Record<string, readonly RouteKind[]> = {
  HTTP: ["HTTPRoute", "GRPCRoute"],
  HTTPS: ["HTTPRoute", "GRPCRoute"],
  TLS: ["TLSRoute"],
  TCP: ["TCPRoute"],
  UDP: ["UDPRoute"],
};

/** Transport family of a protocol: listeners of different families cannot share a port. */
export function family(protocol: string): string {
  return protocol === "HTTP"
    ? "http"
    : protocol === "HTTPS" || protocol === "TLS"
    ? "tls"
    : protocol === "UDP"
    ? "udp"
    : "tcp";
}

/**
 * What TLS listeners may do, from the advertised features: TLS termination for
 * TLSRoutes (TLSRouteModeTerminate) and Terminate next to Passthrough on one
 * port (TLSRouteModeMixed). Without them such listeners are refused with the
 * reasons Gateway API prescribes, so the status never promises what the agents
 * were not declared to serve.
 */
export interface TlsCapabilities {
  readonly terminate: boolean;
  readonly mixed: boolean;
}

export function tlsCapabilities(features: readonly string[]): TlsCapabilities {
  return {
    terminate: features.includes("TLSRouteModeTerminate"),
    mixed: features.includes("TLSRouteModeMixed"),
  };
}

/**
 * Validates one listener. `gw` is where it is declared: its namespace (certificate
 * references resolve there) and kind (the ReferenceGrant subject: Gateway or ListenerSet).
 */
export function validateListener(
  l: ListenerIn,
  index: number,
  gw: { namespace: string; kind?: "Gateway" | "ListenerSet" },
  w: World,
  caps: TlsCapabilities,
): ListenerState {
  const allowedKinds = PROTOCOL_KINDS[l.protocol];
  let accepted: Verdict = { ok: true, reason: "Accepted", message: "Listener is accepted" };
  let resolvedRefs: Verdict = {
    ok: true,
    reason: "ResolvedRefs",
    message: "All references are resolved",
  };
  let supportedKinds: RouteKind[] = [];
  const certRefs: { name: string; namespace?: string }[] = [];
  if (allowedKinds === undefined) {
    accepted = {
      ok: false,
      reason: "UnsupportedProtocol",
      message: `protocol ${l.protocol} is not supported (HTTP, HTTPS, TLS, TCP, UDP are)`,
    };
  } else if (l.port < 1 || l.port > 65535) {
    accepted = {
      ok: false,
      reason: "PortUnavailable",
      message: `port ${l.port} is not a valid port`,
    };
  } else {
    // Route kinds: the protocol's kinds, narrowed by allowedRoutes.kinds.
    const requested = l.allowedRoutes?.kinds;
    if (requested === undefined || requested.length === 0) {
      supportedKinds = [...allowedKinds];
    } else {
      const bad: string[] = [];
      for (const k of requested) {
        const group = k.group ?? GATEWAY_GROUP;
        const ok = group === GATEWAY_GROUP && (allowedKinds as readonly string[]).includes(k.kind);
        if (ok) {
          if (!supportedKinds.includes(k.kind as RouteKind)) {
            supportedKinds.push(k.kind as RouteKind);
          }
        } else bad.push(`${group}/${k.kind}`);
      }
      if (bad.length) {
        resolvedRefs = {
          ok: false,
          reason: "InvalidRouteKinds",
          message: `route kinds ${bad.join(", ")} are not supported on a ${l.protocol} listener`,
        };
      }
    }
    // TLS.
    const tlsProto = l.protocol === "HTTPS" || l.protocol === "TLS";
    const mode = l.tls?.mode ?? "Terminate";
    if (tlsProto && l.tls === undefined) {
      accepted = {
        ok: false,
        reason: "UnsupportedValue",
        message: `protocol ${l.protocol} needs tls`,
      };
    } else if (tlsProto && mode !== "Terminate" && mode !== "Passthrough") {
      accepted = {
        ok: false,
        reason: "UnsupportedValue",
        message: `tls.mode ${mode} is not supported`,
      };
    } else if (l.protocol === "TLS" && mode === "Terminate" && !caps.terminate) {
      accepted = {
        ok: false,
        reason: "UnsupportedValue",
        message:
          "protocol TLS with tls.mode Terminate is not supported by this GatewayClass (it does not list TLSRouteModeTerminate); use tls.mode Passthrough or an HTTPS listener",
      };
    } else if (l.protocol === "HTTPS" && mode === "Passthrough") {
      accepted = {
        ok: false,
        reason: "UnsupportedValue",
        message: "protocol HTTPS cannot use tls.mode Passthrough",
      };
    } else if (tlsProto && mode === "Terminate") {
      const problems: string[] = [];
      let refNotPermitted = false;
      for (const ref of l.tls?.certificateRefs ?? []) {
        const group = ref.group ?? "";
        const kind = ref.kind ?? "Secret";
        const ns = ref.namespace ?? gw.namespace;
        if (group !== "" || kind !== "Secret") {
          problems.push(
            `certificateRef ${group}/${kind}/${ref.name}: only core Secrets are supported`,
          );
          continue;
        }
        if (
          !referenceAllowed(w, {
            group: GATEWAY_GROUP,
            kind: gw.kind ?? "Gateway",
            namespace: gw.namespace,
          }, {
            group: "",
            kind: "Secret",
            namespace: ns,
            name: ref.name,
          })
        ) {
          problems.push(
            `certificateRef to Secret ${ns}/${ref.name} is not permitted by any ReferenceGrant`,
          );
          refNotPermitted = true;
          continue;
        }
        const secret = w.secrets.get(`${ns}/${ref.name}`);
        if (secret === undefined) {
          problems.push(`Secret ${ns}/${ref.name} does not exist`);
          continue;
        }
        const why = tlsSecretProblem(secret);
        if (why !== undefined) {
          problems.push(`Secret ${ns}/${ref.name} ${why}`);
          continue;
        }
        certRefs.push(ns === gw.namespace ? { name: ref.name } : { name: ref.name, namespace: ns });
      }
      if (!(l.tls?.certificateRefs?.length)) {
        problems.push("tls.mode Terminate needs at least one certificateRef");
      }
      if (problems.length) {
        // A reference problem outranks a route-kind problem in the reason.
        resolvedRefs = {
          ok: false,
          reason: refNotPermitted && problems.length === 1
            ? "RefNotPermitted"
            : "InvalidCertificateRef",
          message: problems.join("; "),
        };
      }
    }
  }
  if (!accepted.ok) supportedKinds = [];
  return {
    spec: l,
    index,
    supportedKinds,
    accepted,
    resolvedRefs,
    certRefs,
    programmed: false,
    programmedMessage: "",
    attachedRoutes: 0,
  };
}

/** Marks listeners that conflict on a port (protocol family, TLS mode or hostname). */
export function detectConflicts(listeners: ListenerState[], caps: TlsCapabilities): void {
  const byPort = new Map<string, ListenerState[]>();
  for (const l of listeners) {
    if (!l.accepted.ok) continue;
    // UDP has its own port space.
    const key = `${l.spec.protocol === "UDP" ? "udp" : "tcp"}/${l.spec.port}`;
    const list = byPort.get(key) ?? [];
    list.push(l);
    byPort.set(key, list);
  }
  for (const list of byPort.values()) {
    const families = new Set(list.map((l) => family(l.spec.protocol)));
    if (families.size > 1) {
      // The first family on the port (in listener order) keeps it.
      const keep = family(list[0].spec.protocol);
      for (const l of list) {
        if (family(l.spec.protocol) !== keep) {
          l.conflicted = {
            reason: "ProtocolConflict",
            message:
              `port ${l.spec.port} is already used by a listener with an incompatible protocol`,
          };
        }
      }
    }
    // TLS listeners terminating and passing through on one port (TLSRouteModeMixed).
    const tlsModes = new Set(
      list.filter((l) => l.spec.protocol === "TLS" && !l.conflicted).map((l) =>
        l.spec.tls?.mode ?? "Terminate"
      ),
    );
    if (tlsModes.size > 1 && !caps.mixed) {
      for (const l of list) {
        if (l.spec.protocol !== "TLS" || l.conflicted) continue;
        const message =
          `port ${l.spec.port} has TLS listeners with both tls.mode Terminate and Passthrough; this GatewayClass does not support mixing them (TLSRouteModeMixed): use separate ports`;
        l.conflicted = { reason: "ProtocolConflict", message };
        l.accepted = { ok: false, reason: "ProtocolConflict", message };
      }
    }
    const seen = new Map<string, ListenerState[]>();
    for (const l of list) {
      if (l.conflicted) continue;
      const hostKey = (l.spec.protocol === "TCP" || l.spec.protocol === "UDP")
        ? ""
        : (l.spec.hostname ?? "");
      const k = `${family(l.spec.protocol)}/${hostKey}`;
      const same = seen.get(k) ?? [];
      same.push(l);
      seen.set(k, same);
    }
    for (const same of seen.values()) {
      if (same.length < 2) continue;
      for (const l of same) {
        l.conflicted = {
          reason: "HostnameConflict",
          message: `another listener on port ${l.spec.port} uses the same hostname ${
            JSON.stringify(l.spec.hostname ?? "")
          }`,
        };
      }
    }
  }
}

/** Decides whether a validated listener is generated into the ProxyGateway, and why not. */
export function settleListener(l: ListenerState): void {
  const usable = l.accepted.ok && !l.conflicted &&
    (l.resolvedRefs.ok || l.resolvedRefs.reason === "InvalidRouteKinds" ||
      l.certRefs.length > 0) &&
    l.supportedKinds.length > 0;
  l.programmed = usable;
  l.programmedMessage = usable
    ? "Listener is programmed"
    : !l.accepted.ok
    ? `Listener is not accepted: ${l.accepted.message}`
    : l.conflicted
    ? `Listener is conflicted: ${l.conflicted.message}`
    : l.supportedKinds.length === 0
    ? "Listener supports no route kinds"
    : `Listener has invalid references: ${l.resolvedRefs.message}`;
}

/** Validates one of our Gateways. */
export function analyzeGateway(
  o: KubeObject,
  spec: GatewaySpecIn,
  w: World,
  opts: GatewayOptions,
  registry: NameRegistry,
): GatewayState {
  const namespace = o.metadata.namespace ?? "default";
  const caps = tlsCapabilities(opts.supportedFeatures);
  const listeners = spec.listeners.map((l, i) => validateListener(l, i, { namespace }, w, caps));
  detectConflicts(listeners, caps);
  const tlsInfo = analyzeGatewayTls(spec, listeners, namespace, w);
  for (const l of listeners) settleListener(l);
  // Addresses: IP addresses in spec.addresses are served as given; where
  // clients reach the Gateway otherwise comes from the caller.
  let addressProblem: Verdict | undefined;
  const addresses: { type: string; value: string }[] = [];
  for (const a of spec.addresses ?? []) {
    const type = a.type ?? "IPAddress";
    if (type !== "IPAddress") {
      addressProblem = {
        ok: false,
        reason: "UnsupportedAddress",
        message: `address type ${type} is not supported (only IPAddress is)`,
      };
      continue;
    }
    if (a.value === undefined || a.value === "") continue; // an empty value asks for any address
    if (isIP(a.value) === 0) {
      addressProblem = {
        ok: false,
        reason: "UnsupportedAddress",
        message: `${JSON.stringify(a.value)} is not an IP address`,
      };
      continue;
    }
    addresses.push({ type, value: a.value });
  }
  // NovaEdge Gateways take no infrastructure parameters (no parameters kind exists).
  const pref = spec.infrastructure?.parametersRef;
  if (pref !== undefined && addressProblem === undefined) {
    addressProblem = {
      ok: false,
      reason: "InvalidParameters",
      message: `infrastructure.parametersRef ${pref.group ?? ""}/${
        pref.kind ?? ""
      }/${pref.name}: NovaEdge Gateways take no parameters`,
    };
  }
  let programmedProblem: Verdict | undefined;
  const unusable = addresses.filter((a) =>
    opts.usableAddresses && !opts.usableAddresses.has(a.value)
  );
  const gwKey = `${namespace}/${o.metadata.name}`;
  if (!addressProblem && (unusable.length || opts.unassigned?.has(gwKey))) {
    programmedProblem = unusable.length
      ? {
        ok: false,
        reason: "AddressNotUsable",
        message: `address(es) ${
          unusable.map((a) => a.value).join(", ")
        } cannot be served by NovaEdge agents`,
      }
      : {
        ok: false,
        reason: "AddressNotAssigned",
        message: "the gateway address pool is exhausted",
      };
    for (const l of listeners) {
      l.programmed = false;
      l.programmedMessage = `Gateway is not programmed: ${programmedProblem.message}`;
    }
  }
  if (addressProblem) {
    for (const l of listeners) {
      l.programmed = false;
      l.programmedMessage = `Gateway is not accepted: ${addressProblem.message}`;
    }
  }
  const key = `${namespace}/${o.metadata.name}`;
  const given = opts.gatewayAddresses[key] ?? opts.gatewayAddresses["*"] ?? [];
  const requested = addresses.length > 0;
  if (addresses.length === 0) {
    for (const v of given) addresses.push({ type: isIP(v) ? "IPAddress" : "Hostname", value: v });
  }
  const bindAddress = requested || opts.bindGatewayAddresses || opts.pooled?.has(key)
    ? addresses.find((a) => a.type === "IPAddress")?.value
    : undefined;
  return {
    obj: o,
    namespace,
    name: o.metadata.name,
    generation: o.metadata.generation ?? 0,
    spec,
    proxyName: registry.claim(
      "ProxyGateway",
      namespace,
      objectNameOf(["gw", o.metadata.name]),
      `Gateway/${namespace}/${o.metadata.name}`,
    ),
    listeners,
    addresses,
    addressProblem,
    programmedProblem,
    bindAddress,
    tlsInfo,
  };
}

/** Parses Gateways of accepted classes. */
export function collectGateways(
  objects: readonly KubeObject[],
  classes: ReadonlySet<string>,
  w: World,
  opts: GatewayOptions,
  registry: NameRegistry,
  diags: Diagnostic[],
): GatewayState[] {
  const out: GatewayState[] = [];
  for (const o of objects) {
    if (o.kind !== "Gateway" || !o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) continue;
    const p = parseWith(gatewaySpec, o.spec);
    if (!p.ok) {
      diags.push({
        severity: "error",
        source: `Gateway/${o.metadata.namespace ?? "default"}/${o.metadata.name}`,
        field: `spec.${p.errors[0].field}`,
        message: p.errors[0].message,
      });
      continue;
    }
    if (!classes.has(p.value.gatewayClassName)) continue;
    out.push(analyzeGateway(o, p.value, w, opts, registry));
  }
  return out;
}

function selectorOut(sel: LabelSelectorIn | undefined) {
  if (sel === undefined) return undefined;
  return compact({
    matchLabels: sel.matchLabels,
    matchExpressions: sel.matchExpressions?.map((e) =>
      compact({ key: e.key, operator: e.operator, values: e.values })
    ),
  });
}

/** The ProxyGateway generated from a Gateway (undefined when no listener can be programmed). */
export function proxyGatewayOf(g: GatewayState): KubeObject | undefined {
  // A Gateway that is not accepted, or whose address cannot be served, is not programmed.
  if (g.addressProblem || g.programmedProblem) return undefined;
  const listeners = allListeners(g).filter((l) => l.programmed).map((l) => {
    const s = l.spec;
    const l4 = s.protocol === "TCP" || s.protocol === "UDP";
    let from = s.allowedRoutes?.namespaces?.from ?? "Same";
    // "Same" of a ListenerSet in another namespace means that namespace.
    const sameElsewhere = from === "Same" && l.sameNamespace !== undefined &&
      l.sameNamespace !== g.namespace;
    if (sameElsewhere) from = "Selector";
    const tls = s.protocol === "HTTPS" || s.protocol === "TLS"
      ? compact({
        mode: s.tls?.mode ?? "Terminate",
        certificateRefs: (s.tls?.mode ?? "Terminate") === "Terminate"
          ? l.certRefs.map((r) => {
            const ns = r.namespace ?? l.sameNamespace;
            return compact({
              kind: "Secret",
              name: r.name,
              namespace: ns === g.namespace ? undefined : ns,
            });
          })
          : undefined,
        clientValidation: clientValidationOut(l.clientValidation),
      })
      : undefined;
    return compact({
      name: l.proxyName ?? s.name,
      port: s.port,
      protocol: s.protocol,
      address: g.bindAddress,
      hostname: l4 ? undefined : s.hostname,
      tls,
      allowedRoutes: {
        namespaces: compact({
          from,
          selector: sameElsewhere
            ? { matchLabels: { "kubernetes.io/metadata.name": l.sameNamespace! } }
            : from === "Selector"
            ? selectorOut(s.allowedRoutes?.namespaces?.selector)
            : undefined,
        }),
      },
    });
  });
  if (!listeners.length) return undefined;
  const infra = g.spec.infrastructure;
  const pg = generatedObject(
    "ProxyGateway",
    g.namespace,
    g.proxyName,
    sourceOf(g.obj),
    { listeners },
    {
      ownerLabel: GATEWAY_API_OWNER_LABEL,
      labels: infra?.labels,
      annotations: infra?.annotations,
    },
  );
  const referrers = new Map<string, ReferrerSubject>();
  for (const l of allListeners(g)) {
    if (!l.programmed || l.referrer === undefined) continue;
    referrers.set(l.proxyName ?? l.spec.name, {
      group: GATEWAY_GROUP,
      kind: l.referrer.kind,
      namespace: l.referrer.namespace,
    });
  }
  setListenerReferrers(pg, referrers);
  return pg;
}

/** A listener's status entry (Gateway status.listeners, ListenerSet status.listeners). */
export function listenerStatus(l: ListenerState, gen: number): Record<string, unknown> {
  const conditions: Condition[] = [
    cond("Accepted", l.accepted.ok, l.accepted.reason, l.accepted.message, gen),
    cond(
      "Programmed",
      l.programmed,
      l.programmed ? "Programmed" : l.programmedReason ?? "Invalid",
      l.programmedMessage,
      gen,
    ),
    cond("ResolvedRefs", l.resolvedRefs.ok, l.resolvedRefs.reason, l.resolvedRefs.message, gen),
    l.conflicted
      ? cond("Conflicted", true, l.conflicted.reason, l.conflicted.message, gen)
      : cond("Conflicted", false, "NoConflicts", "No conflicts", gen),
  ];
  return {
    name: l.spec.name,
    supportedKinds: l.supportedKinds.map((kind) => ({ group: GATEWAY_GROUP, kind })),
    attachedRoutes: l.attachedRoutes,
    conditions,
  };
}

/** Renders a Gateway's status (after routes have been attached). */
export function gatewayStatus(g: GatewayState): ObjectStatus {
  const gen = g.generation;
  const listeners = g.listeners.map((l) => listenerStatus(l, gen));
  const total = g.listeners.length;
  const acceptedCount = g.listeners.filter((l) => l.accepted.ok).length;
  const allValid = g.listeners.every((l) => l.accepted.ok && !l.conflicted && l.resolvedRefs.ok);
  let accepted: Condition;
  if (g.addressProblem) {
    accepted = cond("Accepted", false, g.addressProblem.reason, g.addressProblem.message, gen);
  } else if (total > 0 && acceptedCount === 0) {
    accepted = cond("Accepted", false, "ListenersNotValid", "No listener is valid", gen);
  } else if (!allValid) {
    accepted = cond(
      "Accepted",
      true,
      "ListenersNotValid",
      "Some listeners are not valid; see status.listeners",
      gen,
    );
  } else {
    accepted = cond("Accepted", true, "Accepted", "Gateway is accepted", gen);
  }
  const anyProgrammed = allListeners(g).some((l) => l.programmed);
  const programmed = g.addressProblem
    ? cond("Programmed", false, "Invalid", g.addressProblem.message, gen)
    : g.programmedProblem
    ? cond("Programmed", false, g.programmedProblem.reason, g.programmedProblem.message, gen)
    : anyProgrammed || total === 0
    ? cond("Programmed", true, "Programmed", "Gateway is programmed", gen)
    : cond("Programmed", false, "Invalid", "No listener could be programmed", gen);
  return {
    ref: { apiVersion: g.obj.apiVersion, kind: "Gateway", namespace: g.namespace, name: g.name },
    generation: gen,
    status: {
      observedGeneration: gen,
      conditions: [accepted, programmed, ...gatewayTlsConditions(g.tlsInfo, gen)],
      ...(g.addresses.length ? { addresses: g.addresses } : {}),
      listeners,
      ...(g.listenerSets?.length
        ? { attachedListenerSets: g.listenerSets.filter((ls) => ls.accepted).length }
        : {}),
    },
  };
}
