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

/** translate + build: the whole pure control-plane pipeline. */
export function runPipeline(
  objects: readonly KubeObject[],
  opts: PipelineOptions = {},
): PipelineResult {
  const t = translate(objects);
  const b = buildSnapshot(t.objects, { node: opts.node });
  return {
    snapshot: b.snapshot,
    statuses: [...t.statuses, ...b.statuses],
    diagnostics: sortDiagnostics([...t.diagnostics, ...b.diagnostics]),
  };
}
