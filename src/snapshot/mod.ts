/**
 * Public face of the snapshot pipeline: translate + build (`runPipeline`), the
 * version hash, the decode-boundary validator and the types.
 */
import type { Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";
import { translate } from "../translate/mod.ts";
import type { GatewayApiOptions, IngressOptions } from "../translate/mod.ts";
import {
  buildFactsFromStatuses,
  finalizeGatewayStatuses,
  SOURCE_ANNOTATION,
} from "../translate/gateway_api/mod.ts";
import { buildSnapshot } from "./build.ts";
import type { Snapshot } from "./types.ts";

export { buildSnapshot } from "./build.ts";
export type { BuildOptions, BuildResult } from "./build.ts";
export { canonicalJson, canonicalSnapshot, snapshotVersion } from "./version.ts";
export { SnapshotValidationError, validateSnapshot } from "./validate.ts";
export type * from "./types.ts";
export { FAIL_CLUSTER_PREFIX, isFailCluster } from "./types.ts";

/** Options of `runPipeline`. */
export interface PipelineOptions {
  /** This node's name (directory mode: eligible for every ProxyVIP whose selector allows it). */
  readonly node?: string;
  /** Options of the Gateway API translator (controllerName, addresses, ...). */
  readonly gatewayApi?: GatewayApiOptions;
  /** Options of the Ingress translator (controllerName, ports, addresses, ...). */
  readonly ingress?: IngressOptions;
}

/** Output of `runPipeline`. */
export interface PipelineResult {
  readonly snapshot: Snapshot;
  /**
   * Every status: Gateway API and Ingress objects (with the builder's decisions
   * folded in), then the NovaEdge objects, hand-written and generated.
   */
  readonly statuses: ObjectStatus[];
  /**
   * The NovaEdge objects the translators generated (in cluster mode the
   * controller writes them; in directory mode they only live here), sorted.
   */
  readonly generated: KubeObject[];
  readonly diagnostics: Diagnostic[];
}

/** Errors first, then by source, field and message: a stable order for printing and golden files. */
export function sortDiagnostics(d: Diagnostic[]): Diagnostic[] {
  const key = (
    x: Diagnostic,
  ) => [x.severity === "error" ? "0" : "1", x.source, x.field ?? "", x.message];
  return d.sort((a, b) => {
    const ka = key(a), kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    return 0;
  });
}

/**
 * Drops objects whose envelope is unusable (kind, apiVersion, metadata.name,
 * metadata.namespace must be strings), reporting each one.
 */
export function wellFormed(
  objects: readonly KubeObject[],
): { ok: KubeObject[]; diagnostics: Diagnostic[] } {
  const ok: KubeObject[] = [];
  const diagnostics: Diagnostic[] = [];
  objects.forEach((o, i) => {
    const md = (o as { metadata?: unknown })?.metadata as Record<string, unknown> | undefined;
    const problem = typeof o !== "object" || o === null
      ? "object is not a mapping"
      : typeof o.kind !== "string" || !o.kind
      ? "kind: must be a non-empty string"
      : typeof o.apiVersion !== "string" || !o.apiVersion
      ? "apiVersion: must be a non-empty string"
      : typeof md !== "object" || md === null
      ? "metadata: is required"
      : typeof md.name !== "string" || !md.name
      ? "metadata.name: must be a non-empty string"
      : md.namespace !== undefined && typeof md.namespace !== "string"
      ? "metadata.namespace: must be a string"
      : md.labels !== undefined && (typeof md.labels !== "object" || md.labels === null)
      ? "metadata.labels: must be a map"
      : undefined;
    if (problem === undefined) ok.push(o);
    else diagnostics.push({ severity: "error", source: `object #${i}`, message: problem });
  });
  return { ok, diagnostics };
}

/**
 * Names the source of a generated object in the builder's diagnostics about
 * it: users wrote the HTTPRoute, not `ProxyRoute/ns/httproute-x`.
 */
function attributeGenerated(
  diags: readonly Diagnostic[],
  generated: readonly KubeObject[],
): Diagnostic[] {
  const sources = new Map<string, string>();
  for (const o of generated) {
    const src = o.metadata.annotations?.[SOURCE_ANNOTATION];
    if (src) sources.set(`${o.kind}/${o.metadata.namespace ?? "default"}/${o.metadata.name}`, src);
  }
  return diags.map((d) => {
    const src = sources.get(d.source);
    return src ? { ...d, message: `${d.message} (generated from ${src})` } : d;
  });
}

/** translate + build: the whole pure control-plane pipeline. */
export function runPipeline(
  objects: readonly KubeObject[],
  opts: PipelineOptions = {},
): PipelineResult {
  const { ok, diagnostics: envelope } = wellFormed(objects);
  const t = translate(ok, { gatewayApi: opts.gatewayApi, ingress: opts.ingress });
  const b = buildSnapshot(t.objects, { node: opts.node });
  // Whether a generated listener or route was really programmed is the builder's call.
  const gw = finalizeGatewayStatuses(t.gatewayApi, buildFactsFromStatuses(b.statuses));
  return {
    snapshot: b.snapshot,
    statuses: [...gw.statuses, ...t.ingress.statuses, ...b.statuses],
    generated: t.generated,
    diagnostics: sortDiagnostics([
      ...envelope,
      ...t.diagnostics,
      ...attributeGenerated(b.diagnostics, t.generated),
    ]),
  };
}
