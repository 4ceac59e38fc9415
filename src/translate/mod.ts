/**
 * The translation seam: Gateway API and Ingress objects become NovaEdge CRDs
 * here (pure: objects in, objects + statuses + diagnostics out). The store may
 * also hold objects the controller generated earlier (cluster mode): they are
 * dropped and regenerated from their sources on every run, so a run is the
 * same whether or not they were written back.
 */
import type { Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";
import { isGenerated, isTranslatedSource, translateGatewayApi } from "./gateway_api/mod.ts";
import type { GatewayApiOptions, Translation } from "./gateway_api/mod.ts";
import { translateIngress } from "./ingress/mod.ts";
import type { IngressOptions } from "./ingress/mod.ts";

export type { GatewayApiOptions, Translation } from "./gateway_api/mod.ts";
export type { IngressOptions } from "./ingress/mod.ts";

/** Options of `translate`: one set per translator. */
export interface TranslateOptions {
  readonly gatewayApi?: GatewayApiOptions;
  readonly ingress?: IngressOptions;
}

export interface TranslateResult {
  /** What the builder reads: hand-written and core objects plus every generated object. */
  readonly objects: KubeObject[];
  /** Objects the translators generated (a subset of `objects`), sorted. */
  readonly generated: KubeObject[];
  /** Statuses of Gateway API and Ingress objects (before the builder's decisions). */
  readonly statuses: ObjectStatus[];
  readonly diagnostics: Diagnostic[];
  /** The Gateway API translation, for `finalizeGatewayStatuses` after the build. */
  readonly gatewayApi: Translation;
  /** The Ingress translation. */
  readonly ingress: Translation;
}

/** Translates Gateway API / Ingress objects into NovaEdge objects. */
export function translate(
  objects: readonly KubeObject[],
  opts: TranslateOptions = {},
): TranslateResult {
  const input = objects.filter((o) => !isGenerated(o));
  const g = translateGatewayApi(input, opts.gatewayApi);
  const i = translateIngress(input, opts.ingress);
  const generated = [...g.objects, ...i.objects];
  return {
    objects: [...input.filter((o) => !isTranslatedSource(o)), ...generated],
    generated,
    statuses: [...g.statuses, ...i.statuses],
    diagnostics: [...g.diagnostics, ...i.diagnostics],
    gatewayApi: g,
    ingress: i,
  };
}
