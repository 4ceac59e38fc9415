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
    diagnostics: [...t.diagnostics, ...b.diagnostics],
  };
}
