/**
 * Public face of the snapshot pipeline: translate + build (`runPipeline`), the
 * version hash, the decode-boundary validator and the types.
 */
import type { Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";
import { translate } from "../translate/mod.ts";
import { buildSnapshot } from "./build.ts";
import type { Snapshot } from "./types.ts";

export { buildSnapshot } from "./build.ts";
export type { BuildOptions, BuildResult } from "./build.ts";
export { canonicalJson, canonicalSnapshot, snapshotVersion } from "./version.ts";
export { SnapshotValidationError, validateSnapshot } from "./validate.ts";
export type * from "./types.ts";

/** Options of `runPipeline`. */
export interface PipelineOptions {
  /** This node's name (directory mode: eligible for every ProxyVIP whose selector allows it). */
  readonly node?: string;
}

/** Output of `runPipeline`. */
export interface PipelineResult {
  readonly snapshot: Snapshot;
  readonly statuses: ObjectStatus[];
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

/** translate + build: the whole pure control-plane pipeline. */
export function runPipeline(
  objects: readonly KubeObject[],
  opts: PipelineOptions = {},
): PipelineResult {
  const { ok, diagnostics: envelope } = wellFormed(objects);
  const t = translate(ok);
  const b = buildSnapshot(t.objects, { node: opts.node });
  return {
    snapshot: b.snapshot,
    statuses: [...t.statuses, ...b.statuses],
    diagnostics: sortDiagnostics([...envelope, ...t.diagnostics, ...b.diagnostics]),
  };
}
