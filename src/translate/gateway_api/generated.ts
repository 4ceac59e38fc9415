/**
 * How generated NovaEdge objects are named, labelled and owned. Shared by the
 * Gateway API and Ingress translators so both produce the same metadata shape:
 * deterministic DNS-1123 names (hash-suffixed when too long), an owner label,
 * an annotation naming the source, and an ownerReference (when the source has
 * a uid) so the cluster's garbage collector removes what a source generated.
 */
import { createHash } from "node:crypto";
import type { Condition, KubeObject, OwnerReference } from "../../store/types.ts";
import { API_VERSION } from "../../crds/common.ts";

/** Label on objects generated from Gateway API objects; value `<kind>.<name>` (lowercase). */
export const GATEWAY_API_OWNER_LABEL = "novaedge.io/gateway-api-owner";
/** Label on objects generated from Ingress objects; value `ingress.<name>`. */
export const INGRESS_OWNER_LABEL = "novaedge.io/ingress-owner";
/** Annotation naming the source object as `<Kind>/<namespace>/<name>`. */
export const SOURCE_ANNOTATION = "novaedge.io/source";
/** Source creationTimestamp, used for Gateway API cross-route precedence. */
export const PRECEDENCE_TIMESTAMP_ANNOTATION = "novaedge.io/precedence-timestamp";
/** Source `<namespace>/<name>`, the precedence tie-breaker after the timestamp. */
export const PRECEDENCE_NAME_ANNOTATION = "novaedge.io/precedence-name";
/** L4 route protocol ("TCP", "TLS", "UDP") on routes generated from TCP/TLS/UDPRoute. */
export const L4_PROTOCOL_ANNOTATION = "novaedge.io/l4-protocol";

/** Short, stable hex hash of a string. */
export function shortHash(s: string, len = 8): string {
  return createHash("sha256").update(s).digest("hex").slice(0, len);
}

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Lowercases and replaces characters that are not allowed in a DNS-1123 label. */
function sanitize(part: string): string {
  return part.toLowerCase().replace(/[^a-z0-9.-]+/g, "-");
}

/**
 * Joins parts into a DNS-1123 subdomain (≤ max chars). Too long or not
 * representable names are truncated and suffixed with a hash of the full input,
 * so distinct inputs keep distinct names.
 */
export function objectNameOf(parts: readonly (string | number)[], max = 253): string {
  const raw = parts.map(String).join("-");
  // Each dot-separated label must start and end with an alphanumeric.
  let name = sanitize(raw).split(".").map((l) => l.replace(/^-+|-+$/g, "")).filter(Boolean)
    .join(".");
  if (name === raw && name.length <= max && DNS1123.test(name)) return name;
  const h = shortHash(raw);
  name = name.slice(0, max - h.length - 1).replace(/[-.]+$/, "");
  const out = name ? `${name}-${h}` : h;
  return DNS1123.test(out) ? out : h;
}

/** A label value (≤ 63 chars, alphanumerics, '-', '_', '.'), hashed when too long. */
export function labelValueOf(s: string): string {
  const clean = s.replace(/[^A-Za-z0-9_.-]+/g, "-");
  if (clean === s && s.length <= 63 && /^[A-Za-z0-9]/.test(s) && /[A-Za-z0-9]$/.test(s)) return s;
  const h = shortHash(s);
  return `${clean.slice(0, 63 - h.length - 1).replace(/[^A-Za-z0-9]+$/, "")}-${h}`.replace(
    /^[^A-Za-z0-9]+/,
    "",
  );
}

/** The object a generated object comes from. */
export interface SourceRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
  readonly creationTimestamp?: string;
}

export function sourceOf(o: KubeObject): SourceRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.metadata.namespace ?? "default",
    name: o.metadata.name,
    uid: o.metadata.uid,
    creationTimestamp: o.metadata.creationTimestamp,
  };
}

export interface GeneratedMetaOptions {
  readonly ownerLabel: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Sorts a record's keys (output determinism). */
export function sortedRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}

/** Builds a generated NovaEdge object owned by `src`. */
export function generatedObject(
  kind: string,
  namespace: string,
  name: string,
  src: SourceRef,
  spec: unknown,
  opts: GeneratedMetaOptions,
): KubeObject {
  const labels = sortedRecord({
    ...(opts.labels ?? {}),
    [opts.ownerLabel]: labelValueOf(`${src.kind.toLowerCase()}.${src.name}`),
  });
  const annotations = sortedRecord({
    ...(opts.annotations ?? {}),
    [SOURCE_ANNOTATION]: `${src.kind}/${src.namespace}/${src.name}`,
  });
  const ownerReferences: OwnerReference[] = src.uid
    ? [{
      apiVersion: src.apiVersion,
      kind: src.kind,
      name: src.name,
      uid: src.uid,
      controller: true,
      blockOwnerDeletion: true,
    }]
    : [];
  return {
    apiVersion: API_VERSION,
    kind,
    metadata: {
      name,
      namespace,
      labels,
      annotations,
      ...(ownerReferences.length ? { ownerReferences } : {}),
    },
    spec,
  };
}

/** A condition with observedGeneration (no timestamp: the status writer stamps it). */
export function cond(
  type: string,
  ok: boolean | "Unknown",
  reason: string,
  message: string,
  generation: number,
): Condition {
  return {
    type,
    status: ok === "Unknown" ? "Unknown" : ok ? "True" : "False",
    reason,
    message,
    observedGeneration: generation,
  };
}

/** Stable ordering for generated objects: kind, namespace, name. */
export function compareObjects(a: KubeObject, b: KubeObject): number {
  const ka = `${a.kind}/${a.metadata.namespace ?? ""}/${a.metadata.name}`;
  const kb = `${b.kind}/${b.metadata.namespace ?? ""}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Removes keys whose value is undefined (so generated YAML has no nulls). */
export function compact<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

/**
 * Hands out generated names per (kind, namespace) so two sources never get the
 * same object: a name already claimed by another source gets a hash of the
 * claiming source appended. Sources are processed in sorted order, so the
 * outcome is deterministic.
 */
export class NameRegistry {
  readonly #owners = new Map<string, string>();

  claim(kind: string, namespace: string, desired: string, owner: string): string {
    let name = desired;
    for (let i = 0;; i++) {
      const key = `${kind}/${namespace}/${name}`;
      const have = this.#owners.get(key);
      if (have === undefined) {
        this.#owners.set(key, owner);
        return name;
      }
      if (have === owner) return name;
      name = objectNameOf([desired, shortHash(`${owner}#${i}`, 6)]);
    }
  }
}

const GATEWAY_API_KINDS = new Set([
  "Gateway",
  "HTTPRoute",
  "GRPCRoute",
  "TLSRoute",
  "TCPRoute",
  "UDPRoute",
]);

/**
 * The (group, kind) a ReferenceGrant must name for a cross-namespace reference
 * made by `o`. An object generated from a Gateway API object acts as its
 * source (the translator already checked the grant with the source's kind);
 * only a source in the object's own namespace counts, so a hand-written
 * object claiming a source gains nothing a user could not get by creating that
 * Gateway API object in the same namespace. Anything else acts as itself.
 */
export function referenceGrantSubject(o: KubeObject): { group: string; kind: string } {
  const src = o.metadata.annotations?.[SOURCE_ANNOTATION];
  if (src !== undefined) {
    const [kind, ns] = src.split("/", 3);
    if (GATEWAY_API_KINDS.has(kind) && ns === (o.metadata.namespace ?? "default")) {
      return { group: "gateway.networking.k8s.io", kind };
    }
  }
  const group = o.apiVersion.includes("/") ? o.apiVersion.slice(0, o.apiVersion.indexOf("/")) : "";
  return { group, kind: o.kind };
}

/** Who makes a reference, for the ReferenceGrant check: (group, kind) in a namespace. */
export interface ReferrerSubject {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
}

// Keyed by the generated object itself (never by name or by anything written
// into it): only an object this process's translator generated carries an
// entry, so a hand-written ProxyGateway cannot claim to act for a ListenerSet
// of another namespace. An object that lost its identity (copied) falls back to
// `referenceGrantSubject`, which is stricter, never looser.
const listenerReferrers = new WeakMap<KubeObject, ReadonlyMap<string, ReferrerSubject>>();

/**
 * Records, for a generated ProxyGateway, the listeners whose certificate
 * references were made by another object than its source: a ListenerSet's
 * listeners merged into its parent Gateway's ProxyGateway are checked as the
 * ListenerSet in its own namespace (Gateway API: a ListenerSet's Secrets need
 * grants naming the ListenerSet; the Gateway's grants are not inherited).
 */
export function setListenerReferrers(
  o: KubeObject,
  byListener: ReadonlyMap<string, ReferrerSubject>,
): void {
  if (byListener.size) listenerReferrers.set(o, byListener);
}

/** The referrer recorded for listener `listener` of generated object `o`, if any. */
export function listenerReferrer(o: KubeObject, listener: string): ReferrerSubject | undefined {
  return listenerReferrers.get(o)?.get(listener);
}

/**
 * Route precedence key ("<creationTimestamp>/<namespace>/<name>") of a route
 * object: for a generated ProxyRoute, its source's age and name (the generated
 * object is younger than its source and named differently), else its own.
 */
export function precedenceKey(o: KubeObject): string {
  const a = o.metadata.annotations ?? {};
  const name = a[PRECEDENCE_NAME_ANNOTATION];
  if (name !== undefined) return `${a[PRECEDENCE_TIMESTAMP_ANNOTATION] ?? ""}/${name}`;
  return `${o.metadata.creationTimestamp ?? ""}/${
    o.metadata.namespace ?? "default"
  }/${o.metadata.name}`;
}

/**
 * Was `o` generated by a translator (a NovaEdge object, or a Gateway's Service /
 * EndpointSlice, with an owner label)? In cluster mode the store also holds the
 * objects the controller wrote earlier; they are regenerated from their
 * sources on every run, so the pipeline must drop them from its input.
 */
export function isGenerated(o: KubeObject): boolean {
  const l = o.metadata.labels ?? {};
  if (isGeneratedCoreKind(o)) return Object.hasOwn(l, GATEWAY_API_OWNER_LABEL);
  return o.apiVersion.startsWith("novaedge.io/") &&
    (Object.hasOwn(l, GATEWAY_API_OWNER_LABEL) || Object.hasOwn(l, INGRESS_OWNER_LABEL));
}

/** Kubernetes kinds the translators generate besides NovaEdge ones (a Gateway's Service). */
export const GENERATED_CORE_KINDS: Readonly<Record<string, string>> = {
  Service: "v1",
  EndpointSlice: "discovery.k8s.io/v1",
};

/** Is `o` of a core kind a translator may generate (Service v1, EndpointSlice discovery/v1)? */
export function isGeneratedCoreKind(o: { apiVersion: string; kind: string }): boolean {
  return Object.hasOwn(GENERATED_CORE_KINDS, o.kind) &&
    GENERATED_CORE_KINDS[o.kind] === o.apiVersion;
}

/**
 * Is `o` an object the translators consume (and the builder does not read)?
 * Gateway API objects except ReferenceGrant (the builder checks grants too),
 * and Ingress / IngressClass.
 */
export function isTranslatedSource(o: KubeObject): boolean {
  if (o.apiVersion.startsWith("gateway.networking.k8s.io/")) return o.kind !== "ReferenceGrant";
  return o.apiVersion.startsWith("networking.k8s.io/") &&
    (o.kind === "Ingress" || o.kind === "IngressClass");
}

/** Claims the names of hand-written NovaEdge objects so generated ones never take them. */
export function reserveHandWritten(registry: NameRegistry, objects: readonly KubeObject[]): void {
  for (const o of objects) {
    if (!o.apiVersion.startsWith("novaedge.io/") || isGenerated(o)) continue;
    const ns = o.metadata.namespace ?? "default";
    registry.claim(o.kind, ns, o.metadata.name, `hand-written:${o.kind}/${ns}/${o.metadata.name}`);
  }
}
