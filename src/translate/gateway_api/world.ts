/**
 * An index over the input objects the translators look things up in
 * (Services, Secrets, Namespaces, ReferenceGrants, ProxyPolicies, ProxyVIPs),
 * plus the ReferenceGrant check and the TLS Secret check. Pure: built once per
 * translation from the objects handed in.
 */
import type { Diagnostic, KubeObject } from "../../store/types.ts";
import { referenceGrantSpec, serviceSpec } from "../../crds/core.ts";
import type { ReferenceGrantSpec, ServiceSpec } from "../../crds/core.ts";
import { parseWith } from "../../crds/schema.ts";
import { GATEWAY_GROUP } from "./api_types.ts";
import { analyzeTlsPolicies } from "./backend_tls.ts";
import type { TlsPolicies } from "./backend_tls.ts";
import { tlsSecretEntry } from "../../snapshot/tls_secrets.ts";

export interface ServiceView {
  readonly namespace: string;
  readonly name: string;
  readonly spec: ServiceSpec;
}

export interface World {
  readonly services: ReadonlyMap<string, ServiceView>;
  readonly secrets: ReadonlyMap<string, KubeObject>;
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly grants: readonly { namespace: string; spec: ReferenceGrantSpec }[];
  /** Any object by `<Kind>/<namespace>/<name>` (for ExtensionRefs, VIPs, ...). */
  readonly byKey: ReadonlyMap<string, KubeObject>;
  readonly all: readonly KubeObject[];
  /** BackendTLSPolicies, analysed once. */
  readonly tlsPolicies: TlsPolicies;
}

const nsOf = (o: KubeObject) => o.metadata.namespace ?? "default";

/** Indexes the input objects. */
export function buildWorld(objects: readonly KubeObject[]): World {
  const services = new Map<string, ServiceView>();
  const secrets = new Map<string, KubeObject>();
  const namespaceLabels = new Map<string, Readonly<Record<string, string>>>();
  const grants: { namespace: string; spec: ReferenceGrantSpec }[] = [];
  const byKey = new Map<string, KubeObject>();
  for (const o of objects) {
    const ns = nsOf(o);
    byKey.set(`${o.kind}/${o.kind === "Namespace" ? "" : ns}/${o.metadata.name}`, o);
    switch (o.kind) {
      case "Service": {
        const p = parseWith(serviceSpec, o.spec ?? {});
        if (p.ok) {
          services.set(`${ns}/${o.metadata.name}`, {
            namespace: ns,
            name: o.metadata.name,
            spec: p.value,
          });
        }
        break;
      }
      case "Secret":
        secrets.set(`${ns}/${o.metadata.name}`, o);
        break;
      case "Namespace":
        namespaceLabels.set(o.metadata.name, {
          "kubernetes.io/metadata.name": o.metadata.name,
          ...(o.metadata.labels ?? {}),
        });
        break;
      case "ReferenceGrant": {
        if (!o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) break;
        const p = parseWith(referenceGrantSpec, o.spec);
        if (p.ok) grants.push({ namespace: ns, spec: p.value });
        break;
      }
    }
  }
  const partial = { services, secrets, namespaceLabels, grants, byKey, all: objects };
  return { ...partial, tlsPolicies: analyzeTlsPolicies(partial) };
}

/** Labels of a namespace; a namespace without an object still has its name label. */
export function labelsOfNamespace(w: World, ns: string): Readonly<Record<string, string>> {
  return w.namespaceLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns };
}

/**
 * Is a reference from (fromGroup, fromKind) in `fromNs` to (toGroup, toKind,
 * toName) in `toNs` allowed? Same-namespace references always are; others
 * need a ReferenceGrant in the target namespace.
 */
export function referenceAllowed(
  w: World,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  for (const g of w.grants) {
    if (g.namespace !== to.namespace) continue;
    const fromOk = g.spec.from.some((f) =>
      f.group === from.group && f.kind === from.kind && f.namespace === from.namespace
    );
    if (!fromOk) continue;
    const toOk = g.spec.to.some((t) =>
      t.group === to.group && t.kind === to.kind &&
      (t.name === undefined || t.name === "" || t.name === to.name)
    );
    if (toOk) return true;
  }
  return false;
}

/**
 * Why a Secret cannot serve as a TLS certificate, or undefined when it can.
 * Uses the snapshot builder's own parser so the Gateway status and what the
 * builder programs never disagree.
 */
export function tlsSecretProblem(secret: KubeObject): string | undefined {
  const key = `${secret.metadata.namespace ?? "default"}/${secret.metadata.name}`;
  const r = tlsSecretEntry(key, secret);
  return typeof r === "string" ? r : undefined;
}

/** Label-selector evaluation over plain strings (operators In, NotIn, Exists, DoesNotExist). */
export function matchesSelector(
  sel: {
    matchLabels?: Readonly<Record<string, string>>;
    matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
  },
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !vals.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        if (has && vals.includes(labels[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function stringMapOf(v: unknown): Record<string, string> | undefined {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    // YAML turns `limit-rps: 10` into a number: keep scalars as their text.
    if (typeof x === "string") out[k] = x;
    else if (typeof x === "number" || typeof x === "boolean") out[k] = String(x);
  }
  return out;
}

/**
 * Keeps objects whose envelope the translators can rely on (string kind,
 * apiVersion, name, namespace), normalising metadata fields of the wrong type
 * (scalar annotation values become strings, others are dropped). Objects that
 * cannot be used are reported, never thrown on.
 */
export function sanitizeObjects(objects: readonly KubeObject[], diags: Diagnostic[]): KubeObject[] {
  const out: KubeObject[] = [];
  objects.forEach((o, i) => {
    const md = (o as { metadata?: unknown })?.metadata as Record<string, unknown> | undefined;
    const bad = typeof o !== "object" || o === null || typeof o.kind !== "string" ||
      typeof o.apiVersion !== "string" || typeof md !== "object" || md === null ||
      typeof md.name !== "string" || md.name === "" ||
      (md.namespace !== undefined &&
        (typeof md.namespace !== "string" ||
          !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(md.namespace)));
    if (bad) {
      diags.push({
        severity: "error",
        source: `object #${i}`,
        message:
          "kind, apiVersion, metadata.name and metadata.namespace must be strings; object ignored",
      });
      return;
    }
    const meta = {
      ...md,
      name: md.name as string,
      labels: stringMapOf(md.labels),
      annotations: stringMapOf(md.annotations),
      uid: typeof md.uid === "string" ? md.uid : undefined,
      generation: typeof md.generation === "number" && Number.isInteger(md.generation)
        ? md.generation
        : undefined,
      creationTimestamp: typeof md.creationTimestamp === "string"
        ? md.creationTimestamp
        : undefined,
    };
    for (const k of Object.keys(meta) as (keyof typeof meta)[]) {
      if (meta[k] === undefined) delete meta[k];
    }
    out.push({ ...o, metadata: meta as KubeObject["metadata"] });
  });
  return out;
}
