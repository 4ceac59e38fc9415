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
import { INGRESS_CONTROLLER_NAME, translateIngress } from "./ingress/mod.ts";
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

/** ConfigMap keys an IngressClass's `spec.parameters` may set, and how they parse. */
const INGRESS_PARAMETER_KEYS = ["httpPort", "httpsPort", "ingressAddress", "ingressNamespace"];

/**
 * Ingress options from our IngressClasses' `spec.parameters` (a ConfigMap:
 * `{apiGroup: "", kind: ConfigMap, namespace, name, scope: Namespace}`), so a
 * directory of manifests can say which ports its Ingresses are served on.
 * Options the caller passes win; the first class (by name) with parameters
 * decides for all (the translator serves every class on the same ports).
 */
function ingressParameters(
  objects: readonly KubeObject[],
  controller: string,
  diagnostics: Diagnostic[],
): IngressOptions {
  const classes = objects.filter((o) =>
    o.kind === "IngressClass" && o.apiVersion.startsWith("networking.k8s.io/") &&
    (o.spec as { controller?: unknown } | undefined)?.controller === controller &&
    (o.spec as { parameters?: unknown }).parameters !== undefined
  ).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  let chosen: IngressOptions | undefined;
  for (const c of classes) {
    const src = `IngressClass/${c.metadata.name}`;
    const p = (c.spec as { parameters?: Record<string, unknown> }).parameters ?? {};
    if (p.kind !== "ConfigMap" || (p.apiGroup ?? "") !== "" || typeof p.name !== "string") {
      diagnostics.push({
        severity: "warning",
        source: src,
        field: "spec.parameters",
        message: 'only a ConfigMap (apiGroup "") is read as parameters; ignored',
      });
      continue;
    }
    const ns = typeof p.namespace === "string" ? p.namespace : "default";
    const cm = objects.find((o) =>
      o.kind === "ConfigMap" && o.metadata.name === p.name &&
      (o.metadata.namespace ?? "default") === ns
    );
    if (!cm) {
      diagnostics.push({
        severity: "warning",
        source: src,
        field: "spec.parameters",
        message: `ConfigMap ${ns}/${p.name} not found; defaults used`,
      });
      continue;
    }
    const data = ((cm as { data?: Record<string, unknown> }).data ?? {}) as Record<string, unknown>;
    const out: Record<string, string | number> = {};
    for (const k of INGRESS_PARAMETER_KEYS) {
      const v = data[k];
      if (v === undefined) continue;
      if (k.endsWith("Port")) {
        const n = Number(v);
        if (Number.isInteger(n) && n >= 1 && n <= 65535) out[k] = n;
        else {
          diagnostics.push({
            severity: "error",
            source: `ConfigMap/${ns}/${p.name}`,
            field: `data.${k}`,
            message: `must be a port number 1-65535, not ${JSON.stringify(v)}`,
          });
        }
      } else if (typeof v === "string" && v !== "") out[k] = v;
    }
    if (chosen === undefined) chosen = out as IngressOptions;
    else if (JSON.stringify(chosen) !== JSON.stringify(out)) {
      diagnostics.push({
        severity: "warning",
        source: src,
        field: "spec.parameters",
        message: "another IngressClass's parameters already decide the Ingress ports; ignored",
      });
    }
  }
  return chosen ?? {};
}

/** Translates Gateway API / Ingress objects into NovaEdge objects. */
export function translate(
  objects: readonly KubeObject[],
  opts: TranslateOptions = {},
): TranslateResult {
  const input = objects.filter((o) => !isGenerated(o));
  const g = translateGatewayApi(input, opts.gatewayApi);
  const paramDiags: Diagnostic[] = [];
  const fromClass = ingressParameters(
    input,
    opts.ingress?.controllerName ?? INGRESS_CONTROLLER_NAME,
    paramDiags,
  );
  // Ingress status.loadBalancer comes from the same addresses as Gateway status.addresses.
  const gatewayAddresses = opts.gatewayApi?.gatewayAddresses;
  const i = translateIngress(input, {
    ...(gatewayAddresses ? { gatewayAddresses } : {}),
    ...fromClass,
    ...opts.ingress,
  });
  const generated = [...g.objects, ...i.objects];
  return {
    objects: [...input.filter((o) => !isTranslatedSource(o)), ...generated],
    generated,
    statuses: [...g.statuses, ...i.statuses],
    diagnostics: [...g.diagnostics, ...paramDiags, ...i.diagnostics],
    gatewayApi: g,
    ingress: i,
  };
}
