/**
 * BackendTLSPolicy: validation (CA certificate references: InvalidKind,
 * InvalidCACertificateRef, NoValidCACertificate), conflict resolution (per
 * Service and sectionName the oldest policy wins, the others are Conflicted),
 * which policy applies to a Service port, and the policy status (one ancestor
 * entry per Gateway of ours whose routes use the Service).
 */
import { X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Condition, KubeObject, ObjectStatus } from "../../store/types.ts";
import { arr, obj, parseWith, str } from "../../crds/schema.ts";
import { backendTlsPolicySpec, GATEWAY_GROUP } from "./api_types.ts";
import type { BackendTlsPolicySpecIn } from "./api_types.ts";
import { cond } from "./generated.ts";
import type { World } from "./world.ts";

/** One BackendTLSPolicy as analysed. */
export interface TlsPolicy {
  readonly obj: KubeObject;
  readonly namespace: string;
  readonly spec: BackendTlsPolicySpecIn;
  /** Valid CA references: `{kind, name}` in the policy's namespace. */
  readonly caRefs: readonly { kind: "ConfigMap" | "Secret"; name: string }[];
  readonly system: boolean;
  /** ResolvedRefs problem (first reason wins). */
  readonly refProblem?: { reason: string; message: string };
  /** Targets this policy lost to an older one. */
  readonly conflictedOn: string[];
  /** Why the spec does not parse (--config-dir files are not validated by an API server). */
  readonly invalid?: string;
}

/** Just the targets, to fail them when the rest of a policy does not parse. */
const policyTargets = obj({
  targetRefs: arr(
    obj({ group: str(), kind: str(), name: str(), sectionName: str().opt() }, { strict: false }),
  ).default([]),
}, { strict: false });

/** The analysis of every BackendTLSPolicy, and the winner per "<ns>/<svc>|<section>". */
export interface TlsPolicies {
  readonly all: readonly TlsPolicy[];
  readonly winners: ReadonlyMap<string, TlsPolicy>;
}

function pemCertificateProblem(pem: string | undefined): string | undefined {
  if (pem === undefined) return "has no ca.crt";
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks?.length) return "ca.crt holds no PEM certificate";
  try {
    for (const b of blocks) new X509Certificate(b);
  } catch (e) {
    return `ca.crt is not a valid certificate: ${(e as Error).message}`;
  }
  return undefined;
}

/** Why a CA reference cannot be used (InvalidKind, InvalidCACertificateRef), or undefined. */
export function caProblem(
  w: Omit<World, "tlsPolicies">,
  ns: string,
  ref: { group: string; kind: string; name: string },
): { reason: string; message: string } | undefined {
  if (ref.group !== "" || (ref.kind !== "ConfigMap" && ref.kind !== "Secret")) {
    return {
      reason: "InvalidKind",
      message:
        `caCertificateRef ${ref.group}/${ref.kind}/${ref.name}: only ConfigMap and Secret are supported`,
    };
  }
  const o = w.byKey.get(`${ref.kind}/${ns}/${ref.name}`);
  if (o === undefined) {
    return {
      reason: "InvalidCACertificateRef",
      message: `${ref.kind} ${ns}/${ref.name} does not exist`,
    };
  }
  let pem: string | undefined;
  const data = (o.data ?? {}) as Record<string, unknown>;
  if (typeof data["ca.crt"] === "string") {
    pem = ref.kind === "Secret"
      ? Buffer.from(data["ca.crt"] as string, "base64").toString("utf8")
      : data["ca.crt"] as string;
  }
  const sd = (o.stringData ?? {}) as Record<string, unknown>;
  if (pem === undefined && typeof sd["ca.crt"] === "string") pem = sd["ca.crt"] as string;
  const why = pemCertificateProblem(pem);
  return why === undefined
    ? undefined
    : { reason: "InvalidCACertificateRef", message: `${ref.kind} ${ns}/${ref.name} ${why}` };
}

const age = (o: KubeObject) => `${o.metadata.creationTimestamp ?? ""}/${o.metadata.name}`;

/** Analyses every BackendTLSPolicy in the input. */
export function analyzeTlsPolicies(w: Omit<World, "tlsPolicies">): TlsPolicies {
  const all: TlsPolicy[] = [];
  for (const o of w.all) {
    if (o.kind !== "BackendTLSPolicy" || !o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) continue;
    const p = parseWith(backendTlsPolicySpec, o.spec);
    const ns = o.metadata.namespace ?? "default";
    if (!p.ok) {
      // Never serve its targets in plaintext: an unusable policy fails them (see backends.ts).
      const t = parseWith(policyTargets, o.spec);
      if (!t.ok) continue;
      const e = p.errors[0];
      all.push({
        obj: o,
        namespace: ns,
        spec: { targetRefs: t.value.targetRefs, validation: { hostname: "" } },
        caRefs: [],
        system: false,
        conflictedOn: [],
        invalid: `spec${e.field ? `.${e.field}` : ""}: ${e.message}`,
      });
      continue;
    }
    const v = p.value.validation;
    const caRefs: { kind: "ConfigMap" | "Secret"; name: string }[] = [];
    let refProblem: { reason: string; message: string } | undefined;
    for (const r of v.caCertificateRefs ?? []) {
      const problem = caProblem(w, ns, r);
      if (problem) refProblem ??= problem;
      else caRefs.push({ kind: r.kind as "ConfigMap" | "Secret", name: r.name });
    }
    all.push({
      obj: o,
      namespace: ns,
      spec: p.value,
      caRefs,
      system: v.wellKnownCACertificates === "System",
      refProblem,
      conflictedOn: [],
    });
  }
  all.sort((a, b) => (age(a.obj) < age(b.obj) ? -1 : age(a.obj) > age(b.obj) ? 1 : 0));
  const winners = new Map<string, TlsPolicy>();
  for (const pol of all) {
    for (const t of pol.spec.targetRefs) {
      if (t.group !== "" || t.kind !== "Service") continue;
      const key = `${pol.namespace}/${t.name}|${t.sectionName ?? ""}`;
      if (winners.has(key)) pol.conflictedOn.push(key);
      else winners.set(key, pol);
    }
  }
  return { all, winners };
}

/** Is the policy usable (some CA to verify with, not conflicted everywhere)? */
export function policyUsable(p: TlsPolicy): boolean {
  return p.caRefs.length > 0 || p.system;
}

/** The policy for a Service port: a sectionName-specific winner beats a whole-Service one. */
export function tlsPolicyFor(
  pols: TlsPolicies,
  ns: string,
  svc: string,
  portName: string | undefined,
): TlsPolicy | undefined {
  return (portName !== undefined ? pols.winners.get(`${ns}/${svc}|${portName}`) : undefined) ??
    pols.winners.get(`${ns}/${svc}|`);
}

/** The status of every policy that has ancestors (Gateways of ours using its Services). */
export function tlsPolicyStatuses(
  pols: TlsPolicies,
  /** "<ns>/<svc>" → Gateway refs ("<ns>/<name>") whose routes use it. */
  ancestorsByService: ReadonlyMap<string, ReadonlySet<string>>,
  controllerName: string,
): ObjectStatus[] {
  const out: ObjectStatus[] = [];
  for (const p of pols.all) {
    const gen = p.obj.metadata.generation ?? 0;
    const gws = new Set<string>();
    for (const t of p.spec.targetRefs) {
      if (t.group !== "" || t.kind !== "Service") continue;
      for (const g of ancestorsByService.get(`${p.namespace}/${t.name}`) ?? []) gws.add(g);
    }
    if (!gws.size) continue;
    const conflicted = p.conflictedOn.length > 0 &&
      p.spec.targetRefs.every((t) =>
        p.conflictedOn.includes(`${p.namespace}/${t.name}|${t.sectionName ?? ""}`)
      );
    const conditions: Condition[] = [];
    if (conflicted) {
      conditions.push(
        cond(
          "Accepted",
          false,
          "Conflicted",
          `an older BackendTLSPolicy already targets ${p.conflictedOn.join(", ")}`,
          gen,
        ),
      );
    } else if (p.invalid !== undefined) {
      conditions.push(cond("Accepted", false, "Invalid", p.invalid, gen));
    } else if (!policyUsable(p)) {
      conditions.push(
        cond(
          "Accepted",
          false,
          "NoValidCACertificate",
          p.refProblem?.message ?? "no CA certificate to verify the backend with",
          gen,
        ),
      );
    } else {
      conditions.push(cond("Accepted", true, "Accepted", "BackendTLSPolicy is accepted", gen));
    }
    conditions.push(
      p.refProblem
        ? cond("ResolvedRefs", false, p.refProblem.reason, p.refProblem.message, gen)
        : cond(
          "ResolvedRefs",
          true,
          "ResolvedRefs",
          "All CA certificate references are resolved",
          gen,
        ),
    );
    const ancestors = [...gws].sort().map((g) => {
      const [ns, name] = g.split("/", 2);
      return {
        ancestorRef: { group: GATEWAY_GROUP, kind: "Gateway", namespace: ns, name },
        controllerName,
        conditions,
      };
    });
    out.push({
      ref: {
        apiVersion: p.obj.apiVersion,
        kind: "BackendTLSPolicy",
        namespace: p.namespace,
        name: p.obj.metadata.name,
      },
      generation: gen,
      status: { observedGeneration: gen, conditions: [], ancestors },
    });
  }
  return out;
}
