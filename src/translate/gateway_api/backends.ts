/**
 * Backend references: resolution with the spec's reasons (InvalidKind,
 * RefNotPermitted, BackendNotFound, UnsupportedProtocol), Service appProtocol
 * (kubernetes.io/h2c, kubernetes.io/ws, ...) and BackendTLSPolicy, and the
 * ProxyBackends generated for one source object (one per Service port used).
 */
import type { KubeObject } from "../../store/types.ts";
import { GATEWAY_GROUP } from "./api_types.ts";
import { policyUsable, tlsPolicyFor } from "./backend_tls.ts";
import { compact, generatedObject, objectNameOf, shortHash } from "./generated.ts";
import { parseNovaEdgeObject } from "../../crds/mod.ts";
import type { NameRegistry, SourceRef } from "./generated.ts";
import { referenceAllowed } from "./world.ts";
import type { World } from "./world.ts";

export type UpstreamProtocol = "HTTP" | "HTTPS" | "H2C" | "GRPC";

/** What kind of route references the backend (decides the upstream protocol). */
export type BackendUse = "http" | "grpc" | "l4";

export interface ServiceBackend {
  readonly kind: "Service";
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
  readonly protocol: UpstreamProtocol;
  readonly tls?: Readonly<Record<string, unknown>>;
  /** Extra annotations for the generated ProxyBackend (fields the CRD lacks). */
  readonly annotations: Readonly<Record<string, string>>;
}

export interface ProxyBackendRef {
  readonly kind: "ProxyBackend";
  readonly namespace: string;
  readonly name: string;
}

export type Resolution =
  | { readonly ok: true; readonly backend: ServiceBackend | ProxyBackendRef }
  | {
    readonly ok: false;
    readonly reason: string;
    readonly message: string;
    /** Not a reference problem of the route (e.g. an invalid BackendTLSPolicy): requests fail, the route's ResolvedRefs stays True. */
    readonly silent?: boolean;
  };

interface BackendRefLike {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}

/** Upstream protocol for a Service port's appProtocol, or undefined when unsupported. */
export function protocolForAppProtocol(
  appProtocol: string | undefined,
  use: BackendUse,
): UpstreamProtocol | undefined {
  if (use === "grpc") {
    return appProtocol === undefined ||
        ["grpc", "kubernetes.io/h2c", "h2c", "http2"].includes(appProtocol)
      ? "GRPC"
      : undefined;
  }
  switch (appProtocol?.toLowerCase()) {
    case undefined:
    case "http":
    case "kubernetes.io/http":
    case "kubernetes.io/ws":
    case "ws":
      return "HTTP";
    case "kubernetes.io/h2c":
    case "h2c":
      return "H2C";
    case "https":
    case "kubernetes.io/https":
    case "kubernetes.io/wss":
    case "wss":
      return "HTTPS";
    case "grpc":
      return "GRPC";
    default:
      return undefined;
  }
}

/** Resolves one backendRef of a route (or mirror filter) in `from.namespace`. */
export function resolveBackendRef(
  ref: BackendRefLike,
  from: { kind: string; namespace: string },
  w: World,
  use: BackendUse,
  /** Collects "<ns>/<svc>" of every Service found (BackendTLSPolicy ancestors). */
  usedServices?: Set<string>,
): Resolution {
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Service";
  const ns = ref.namespace ?? from.namespace;
  if (group === "novaedge.io" && kind === "ProxyBackend") {
    if (
      !referenceAllowed(w, { group: GATEWAY_GROUP, kind: from.kind, namespace: from.namespace }, {
        group,
        kind,
        namespace: ns,
        name: ref.name,
      })
    ) {
      return {
        ok: false,
        reason: "RefNotPermitted",
        message:
          `reference to ProxyBackend ${ns}/${ref.name} is not permitted by any ReferenceGrant`,
      };
    }
    if (!w.byKey.has(`ProxyBackend/${ns}/${ref.name}`)) {
      return {
        ok: false,
        reason: "BackendNotFound",
        message: `ProxyBackend ${ns}/${ref.name} does not exist`,
      };
    }
    return { ok: true, backend: { kind: "ProxyBackend", namespace: ns, name: ref.name } };
  }
  if (group !== "" || kind !== "Service") {
    return {
      ok: false,
      reason: "InvalidKind",
      message: `backend kind ${
        group ? `${group}/` : ""
      }${kind} is not supported (Service and novaedge.io/ProxyBackend are)`,
    };
  }
  if (
    !referenceAllowed(w, { group: GATEWAY_GROUP, kind: from.kind, namespace: from.namespace }, {
      group: "",
      kind: "Service",
      namespace: ns,
      name: ref.name,
    })
  ) {
    return {
      ok: false,
      reason: "RefNotPermitted",
      message: `reference to Service ${ns}/${ref.name} is not permitted by any ReferenceGrant`,
    };
  }
  const svc = w.services.get(`${ns}/${ref.name}`);
  if (svc === undefined) {
    return {
      ok: false,
      reason: "BackendNotFound",
      message: `Service ${ns}/${ref.name} does not exist`,
    };
  }
  usedServices?.add(`${ns}/${ref.name}`);
  if (ref.port === undefined) {
    return {
      ok: false,
      reason: "BackendNotFound",
      message: `backendRef to Service ${ns}/${ref.name} needs a port`,
    };
  }
  const sp = svc.spec.ports.find((p) => p.port === ref.port);
  if (sp === undefined && svc.spec.type !== "ExternalName") {
    return {
      ok: false,
      reason: "BackendNotFound",
      message: `Service ${ns}/${ref.name} has no port ${ref.port}`,
    };
  }
  const annotations: Record<string, string> = {};
  let protocol: UpstreamProtocol = "HTTP";
  if (use !== "l4") {
    const p = protocolForAppProtocol(sp?.appProtocol, use);
    if (p === undefined) {
      return {
        ok: false,
        reason: "UnsupportedProtocol",
        message:
          `Service ${ns}/${ref.name} port ${ref.port} has appProtocol ${sp?.appProtocol}, which NovaEdge does not proxy`,
      };
    }
    protocol = p;
    if (sp?.appProtocol?.toLowerCase().endsWith("ws")) {
      annotations["novaedge.io/app-protocol"] = sp.appProtocol;
    }
  }
  let tls: Record<string, unknown> | undefined;
  if (use !== "l4") {
    const pol = tlsPolicyFor(w.tlsPolicies, ns, ref.name, sp?.name);
    if (pol !== undefined) {
      const pname = `${pol.namespace}/${pol.obj.metadata.name}`;
      if (!policyUsable(pol)) {
        // Never fall back to plaintext: this backend's share of requests fails.
        return {
          ok: false,
          reason: "InvalidBackendTLSPolicy",
          message: `Service ${ns}/${ref.name} port ${ref.port}: BackendTLSPolicy ${pname} ${
            pol.invalid !== undefined
              ? `is invalid (${pol.invalid})`
              : "has no valid CA certificate"
          }`,
          silent: true,
        };
      }
      if (protocol === "HTTP" || protocol === "H2C") protocol = "HTTPS";
      const v = pol.spec.validation;
      // ProxyBackend holds one CA bundle: the first usable reference (Secret or ConfigMap).
      const ca = pol.caRefs.find((r) => r.kind === "Secret" || r.kind === "ConfigMap");
      const sans = (v.subjectAltNames ?? []).map((s) => s.hostname ?? s.uri ?? "").filter(Boolean);
      tls = compact({
        sni: v.hostname,
        caCertificateRef: ca ? { kind: ca.kind, name: ca.name, namespace: ns } : undefined,
        subjectAltNames: sans.length ? sans : undefined,
      });
      annotations["novaedge.io/backend-tls-policy"] = pname;
    }
  }
  return {
    ok: true,
    backend: {
      kind: "Service",
      namespace: ns,
      name: ref.name,
      port: ref.port,
      protocol,
      tls,
      annotations,
    },
  };
}

/**
 * The ProxyBackends generated for one source object: one per distinct
 * (Service, port, protocol), named `<base>-<service>-<port>`.
 */
export class BackendSet {
  readonly #byKey = new Map<string, { name: string; obj: KubeObject }>();
  readonly #names = new Set<string>();
  /** Backends that cannot be expressed as a ProxyBackend (reported as ResolvedRefs problems). */
  readonly problems: { reason: string; message: string }[] = [];
  /** Client certificate TLS backends present (the parent Gateway's spec.tls.backend). */
  clientCertificateRef: { name: string; namespace?: string } | undefined;

  constructor(
    private readonly base: string,
    private readonly namespace: string,
    private readonly src: SourceRef,
    private readonly ownerLabel: string,
    private readonly registry: NameRegistry,
  ) {}

  /** The ProxyRoute backendRef fields for a resolved backend. */
  refFor(b: ServiceBackend | ProxyBackendRef): { kind?: string; name: string; namespace?: string } {
    if (b.kind === "ProxyBackend") {
      return compact({
        name: b.name,
        namespace: b.namespace === this.namespace ? undefined : b.namespace,
      });
    }
    const key = JSON.stringify([
      b.namespace,
      b.name,
      b.port,
      b.protocol,
      b.tls ?? null,
      b.annotations,
    ]);
    const have = this.#byKey.get(key);
    if (have) return { name: have.name };
    const parts = b.namespace === this.namespace
      ? [this.base, b.name, b.port]
      : [this.base, b.namespace, b.name, b.port];
    let name = objectNameOf(parts);
    for (let i = 2; this.#names.has(name); i++) name = objectNameOf([...parts, i]);
    this.#names.add(name);
    name = this.registry.claim(
      "ProxyBackend",
      this.namespace,
      name,
      `${this.src.kind}/${this.src.namespace}/${this.src.name}`,
    );
    const spec = compact({
      service: compact({
        name: b.name,
        namespace: b.namespace === this.namespace ? undefined : b.namespace,
        port: b.port,
      }),
      protocol: b.protocol,
      tls: b.tls && this.clientCertificateRef
        ? { ...b.tls, clientCertificateRef: { ...this.clientCertificateRef } }
        : b.tls,
    });
    const obj = generatedObject("ProxyBackend", this.namespace, name, this.src, spec, {
      ownerLabel: this.ownerLabel,
      annotations: b.annotations,
    });
    const check = parseNovaEdgeObject("ProxyBackend", obj);
    if (!check.ok) {
      // Never emit an invalid object: the share of requests fails instead (like a missing backend).
      this.problems.push({
        reason: "BackendNotFound",
        message: `Service ${b.namespace}/${b.name} port ${b.port} cannot be used: ${
          check.errors.map((e) => `${e.field}: ${e.message}`).join("; ")
        }`,
      });
      return { name: objectNameOf([this.base, "invalid", shortHash(key)]) };
    }
    this.#byKey.set(key, { name, obj });
    return { name };
  }

  objects(): KubeObject[] {
    return [...this.#byKey.values()].map((v) => v.obj);
  }
}
