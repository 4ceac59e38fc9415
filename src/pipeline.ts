/**
 * The pure control-plane pipeline (translate + build), re-exported where the
 * roles expect it. See src/snapshot/mod.ts.
 */
export { runPipeline, sortDiagnostics } from "./snapshot/mod.ts";
export type { PipelineOptions, PipelineResult } from "./snapshot/mod.ts";
