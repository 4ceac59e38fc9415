/**
 * The translation seam: Gateway API and Ingress objects become NovaEdge CRDs
 * here (pure: objects in, objects + statuses + diagnostics out). Translation is
 * later work; for now objects pass through and Gateway API / Ingress objects are
 * reported as not yet translated.
 */
import type { Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";

export interface TranslateResult {
  readonly objects: KubeObject[];
  readonly statuses: ObjectStatus[];
  readonly diagnostics: Diagnostic[];
}

const GATEWAY_API_GROUP = "gateway.networking.k8s.io/";
/** Gateway API kinds consumed elsewhere as-is (ReferenceGrant feeds the builder). */
const PASSTHROUGH_GATEWAY_KINDS = new Set(["ReferenceGrant"]);

/** Translates Gateway API / Ingress objects to NovaEdge objects (pass-through for now). */
export function translate(objects: readonly KubeObject[]): TranslateResult {
  const diagnostics: Diagnostic[] = [];
  for (const o of objects) {
    const gatewayApi = o.apiVersion?.startsWith(GATEWAY_API_GROUP) &&
      !PASSTHROUGH_GATEWAY_KINDS.has(o.kind);
    const ingress = o.kind === "Ingress" && o.apiVersion?.startsWith("networking.k8s.io/");
    if (gatewayApi || ingress) {
      diagnostics.push({
        severity: "warning",
        source: `${o.kind}/${o.metadata?.namespace ?? "default"}/${o.metadata?.name}`,
        message: `${o.kind} (${o.apiVersion}) is not yet translated; it is ignored`,
      });
    }
  }
  return { objects: [...objects], statuses: [], diagnostics };
}
