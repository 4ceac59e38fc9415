/**
 * Gateway `spec.tls`: frontend client-certificate validation (default and
 * perPort, applied to the HTTPS listeners on a port) and the backend client
 * certificate. Listener reasons follow the spec: InvalidCACertificateRef,
 * InvalidCACertificateKind or RefNotPermitted on ResolvedRefs, and Accepted
 * False / NoValidCACertificate when no CA reference is usable. Gateway
 * conditions: ResolvedRefs for the backend certificate (InvalidClientCertificateRef,
 * RefNotPermitted) and InsecureFrontendValidationMode for AllowInsecureFallback.
 */
import type { Condition } from "../../store/types.ts";
import { GATEWAY_GROUP } from "./api_types.ts";
import type { GatewaySpecIn, ListenerIn } from "./api_types.ts";
import { caProblem } from "./backend_tls.ts";
import { compact, cond } from "./generated.ts";
import { referenceAllowed, tlsSecretProblem } from "./world.ts";
import type { World } from "./world.ts";
import type { ListenerState, Verdict } from "./gateway.ts";

export type FrontendMode = "AllowValidOnly" | "AllowInsecureFallback";

/** The client validation a listener gets: usable CA references and the mode. */
export interface FrontendValidation {
  readonly caRefs: readonly { kind: "ConfigMap" | "Secret"; name: string; namespace?: string }[];
  readonly mode: FrontendMode;
}

/** What a Gateway's `spec.tls` asks for, as analysed. */
export interface GatewayTlsInfo {
  /** The backend client certificate Secret, when usable (namespace explicit when not the Gateway's). */
  readonly backendClientCert?: { name: string; namespace?: string };
  /** Gateway ResolvedRefs (only when spec.tls.backend is set). */
  readonly backendRefs?: Verdict;
  /** Some frontend validation uses AllowInsecureFallback. */
  readonly insecureFallback: boolean;
}

function modeOf(m: string | undefined): FrontendMode {
  return m === "AllowInsecureFallback" ? "AllowInsecureFallback" : "AllowValidOnly";
}

/**
 * Listeners that terminate TLS: HTTPS, and TLS in mode Terminate (TLSRoute).
 * The spec words frontend validation for HTTPS listeners; a TLS listener that
 * terminates on the same port gets it too, or an operator who asked for mTLS
 * on that port would silently get none there. Passthrough never sees a
 * client certificate.
 */
function terminatesTls(l: ListenerIn): boolean {
  return l.protocol === "HTTPS" ||
    (l.protocol === "TLS" && (l.tls?.mode ?? "Terminate") === "Terminate");
}

/**
 * Applies the Gateway's `spec.tls.frontend` to HTTPS listeners (mutating their
 * verdicts and setting `clientValidation`): the Gateway's own and, since a
 * Gateway behaves as the merged list of its listeners, those its ListenerSets
 * add. The CA references are the Gateway's (`namespace` is the Gateway's, and
 * ReferenceGrants must name the Gateway) whichever object declared the listener.
 */
export function applyFrontendValidation(
  spec: GatewaySpecIn,
  listeners: readonly ListenerState[],
  namespace: string,
  w: World,
): void {
  const fe = spec.tls?.frontend;
  for (const l of listeners) {
    if (!terminatesTls(l.spec) || !l.accepted.ok) continue;
    const cfg = fe?.perPort?.find((p) => p.port === l.spec.port)?.tls ?? fe?.default;
    const v = cfg?.validation;
    if (!v) continue;
    const caRefs: FrontendValidation["caRefs"][number][] = [];
    let problem: { reason: string; message: string } | undefined;
    for (const r of v.caCertificateRefs) {
      const group = r.group ?? "";
      const kind = r.kind ?? "ConfigMap";
      const ns = r.namespace ?? namespace;
      const why = !referenceAllowed(w, { group: GATEWAY_GROUP, kind: "Gateway", namespace }, {
          group,
          kind,
          namespace: ns,
          name: r.name,
        })
        ? {
          reason: "RefNotPermitted",
          message:
            `caCertificateRef to ${kind} ${ns}/${r.name} is not permitted by any ReferenceGrant`,
        }
        : caProblem(w, ns, { group, kind, name: r.name });
      if (why) {
        problem ??= {
          reason: why.reason === "InvalidKind" ? "InvalidCACertificateKind" : why.reason,
          message: `tls.frontend validation for port ${l.spec.port}: ${why.message}`,
        };
        continue;
      }
      caRefs.push(
        compact({
          kind: kind as "ConfigMap" | "Secret",
          name: r.name,
          namespace: ns === namespace ? undefined : ns,
        }),
      );
    }
    // A certificate-reference problem already reported keeps its reason.
    if (problem && l.resolvedRefs.ok) l.resolvedRefs = { ok: false, ...problem };
    if (caRefs.length === 0) {
      l.accepted = {
        ok: false,
        reason: "NoValidCACertificate",
        message: problem?.message ??
          `tls.frontend validation for port ${l.spec.port} has no CA certificate reference`,
      };
      continue;
    }
    l.clientValidation = { caRefs, mode: modeOf(v.mode) };
  }
}

/**
 * Applies `spec.tls.frontend` to the Gateway's HTTPS listeners
 * (`applyFrontendValidation`), checks `spec.tls.backend`.
 */
export function analyzeGatewayTls(
  spec: GatewaySpecIn,
  listeners: ListenerState[],
  namespace: string,
  w: World,
): GatewayTlsInfo {
  const fe = spec.tls?.frontend;
  let insecureFallback = false;
  for (const c of [fe?.default, ...(fe?.perPort ?? []).map((p) => p.tls)]) {
    if (c?.validation && modeOf(c.validation.mode) === "AllowInsecureFallback") {
      insecureFallback = true;
    }
  }
  applyFrontendValidation(spec, listeners, namespace, w);
  const ref = spec.tls?.backend?.clientCertificateRef;
  if (!ref) return { insecureFallback };
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Secret";
  const ns = ref.namespace ?? namespace;
  const bad = (reason: string, message: string): GatewayTlsInfo => ({
    insecureFallback,
    backendRefs: { ok: false, reason, message: `tls.backend.clientCertificateRef: ${message}` },
  });
  if (group !== "" || kind !== "Secret") {
    return bad(
      "InvalidClientCertificateRef",
      `kind ${group ? `${group}/` : ""}${kind} is not supported (core Secret is)`,
    );
  }
  if (
    !referenceAllowed(w, { group: GATEWAY_GROUP, kind: "Gateway", namespace }, {
      group: "",
      kind: "Secret",
      namespace: ns,
      name: ref.name,
    })
  ) {
    return bad(
      "RefNotPermitted",
      `Secret ${ns}/${ref.name} is not permitted by any ReferenceGrant`,
    );
  }
  const secret = w.secrets.get(`${ns}/${ref.name}`);
  if (secret === undefined) {
    return bad("InvalidClientCertificateRef", `Secret ${ns}/${ref.name} does not exist`);
  }
  const why = tlsSecretProblem(secret);
  if (why !== undefined) {
    return bad("InvalidClientCertificateRef", `Secret ${ns}/${ref.name} ${why}`);
  }
  // The Gateway condition also sums up the listeners' ResolvedRefs.
  const unresolved = listeners.find((l) => !l.resolvedRefs.ok);
  return {
    insecureFallback,
    backendClientCert: ns === namespace ? { name: ref.name } : { name: ref.name, namespace: ns },
    backendRefs: unresolved
      ? {
        ok: false,
        reason: "ListenersNotResolved",
        message: `listener ${unresolved.spec.name}: ${unresolved.resolvedRefs.message}`,
      }
      : { ok: true, reason: "ResolvedRefs", message: "All references are resolved" },
  };
}

/** The ProxyGateway listener `tls.clientValidation` for a validated listener. */
export function clientValidationOut(
  v: FrontendValidation | undefined,
): { caCertificateRefs: Record<string, unknown>[]; mode: FrontendMode } | undefined {
  return v === undefined ? undefined : {
    caCertificateRefs: v.caRefs.map((r) => compact({ ...r })),
    mode: v.mode,
  };
}

/** Gateway-level conditions from `spec.tls`. */
export function gatewayTlsConditions(t: GatewayTlsInfo, gen: number): Condition[] {
  const out: Condition[] = [];
  if (t.backendRefs) {
    out.push(
      cond("ResolvedRefs", t.backendRefs.ok, t.backendRefs.reason, t.backendRefs.message, gen),
    );
  }
  if (t.insecureFallback) {
    out.push(
      cond(
        "InsecureFrontendValidationMode",
        true,
        "ConfigurationChanged",
        "tls.frontend uses AllowInsecureFallback: clients without a valid certificate are let in",
        gen,
      ),
    );
  }
  return out;
}

/**
 * The client certificate for the backends of a route: the first parent
 * Gateway's usable `spec.tls.backend.clientCertificateRef`, with the
 * namespace spelled out when it is not the route's.
 */
export function routeClientCert(
  gateways: readonly { namespace: string; tlsInfo: GatewayTlsInfo }[],
  routeNs: string,
): { name: string; namespace?: string } | undefined {
  for (const g of gateways) {
    const c = g.tlsInfo.backendClientCert;
    if (!c) continue;
    const ns = c.namespace ?? g.namespace;
    return ns === routeNs ? { name: c.name } : { name: c.name, namespace: ns };
  }
  return undefined;
}
