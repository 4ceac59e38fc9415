/**
 * Writes what the translators generated (ProxyGateways, ProxyRoutes,
 * ProxyBackends made from Gateway API and Ingress objects, and each Gateway's
 * Service + EndpointSlice) to the cluster, so `kubectl get proxyroute` shows
 * what a Gateway API object became:
 *
 * - each generated object is server-side applied with our field manager
 *   (owner references included, so deleting the source lets the garbage
 *   collector delete what came from it);
 * - a generated object (one carrying an owner label) that the translators no
 *   longer generate is deleted (pruned);
 * - objects whose live copy already matches are not sent again.
 *
 * Only the leader calls sync(). Calls made while a sync runs collapse into one
 * follow-up with the newest set, like the status writer.
 */
import { isNovaEdgeKind } from "../crds/mod.ts";
import { logger } from "../observe/log.ts";
import { isGenerated, isGeneratedCoreKind } from "../translate/gateway_api/mod.ts";
import type { KubeObject } from "../store/types.ts";
import { type KubeClient, KubeError, resourcePath } from "../source/kube_client.ts";
import type { ResourceSpec } from "../source/kube.ts";
import { canonical } from "./status_merge.ts";

const log = logger("controller.generated");

/** The field manager of every object the controller applies. */
export const FIELD_MANAGER = "novaedge-controller";

/**
 * Label naming the controller that wrote a generated object. Pruning only
 * touches objects carrying our value: two controllers serving different
 * controllerNames in one cluster never delete each other's objects.
 */
export const GENERATED_BY_LABEL = "novaedge.io/generated-by";

/** A label value (≤ 63 chars of [A-Za-z0-9_.-], alphanumeric at both ends) naming `controllerName`. */
export function generatedByValue(controllerName: string): string {
  let v = controllerName.replace(/[^A-Za-z0-9_.-]+/g, "-").replace(
    /^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g,
    "",
  );
  if (v.length > 63) {
    let h = 0;
    for (const ch of controllerName) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    v = `${v.slice(0, 54).replace(/[^A-Za-z0-9]+$/, "")}-${h.toString(16).padStart(8, "0")}`;
  }
  return v || "novaedge";
}

export interface GeneratedWriterOptions {
  readonly client: KubeClient;
  /** Every object the informers hold now (live copies of what we wrote among them). */
  readonly live: () => readonly KubeObject[];
  /** API coordinates of a kind we write (undefined: not watched, so not written). */
  readonly resourceOf: (kind: string) => ResourceSpec | undefined;
  readonly fieldManager?: string;
  /** Value of GENERATED_BY_LABEL on what we write (see generatedByValue). */
  readonly generatedBy: string;
}

export interface GeneratedSyncResult {
  applied: number;
  unchanged: number;
  deleted: number;
  failed: number;
}

const keyOf = (o: KubeObject) =>
  `${o.kind}/${o.metadata.namespace ?? "default"}/${o.metadata.name}`;

/** Kinds this writer applies and prunes: NovaEdge kinds and the generated core kinds. */
export function isWrittenKind(o: { apiVersion: string; kind: string }): boolean {
  return isNovaEdgeKind(o.kind) || isGeneratedCoreKind(o);
}

/**
 * An object's content besides its identity, metadata and status: `spec` for
 * most kinds, `addressType` / `endpoints` / `ports` for an EndpointSlice.
 */
export function contentOf(o: KubeObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === "apiVersion" || k === "kind" || k === "metadata" || k === "status") continue;
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** The part of an object we own: compared with the live copy to skip no-op applies. */
export function ownedView(o: KubeObject): string {
  const m = o.metadata;
  return canonical({
    labels: m.labels ?? {},
    annotations: m.annotations ?? {},
    ownerReferences: m.ownerReferences ?? [],
    content: contentOf(o),
  });
}

/** `have`'s entries under the keys `want` has (the top-level fields we set). */
function pickKeys(
  have: Record<string, unknown>,
  want: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(want)) if (k in have) out[k] = have[k];
  return out;
}

/** The live object's values of exactly the labels/annotations we set (others may add theirs). */
function liveView(live: KubeObject, desired: KubeObject): string {
  const pick = (
    have: Record<string, string> | undefined,
    want: Record<string, string> | undefined,
  ) => {
    const out: Record<string, string> = {};
    for (const k of Object.keys(want ?? {})) if (have && k in have) out[k] = have[k];
    return out;
  };
  return canonical({
    labels: pick(live.metadata.labels, desired.metadata.labels),
    annotations: pick(live.metadata.annotations, desired.metadata.annotations),
    ownerReferences: live.metadata.ownerReferences ?? [],
    content: pickKeys(contentOf(live), contentOf(desired)),
  });
}

/**
 * Is `live` what applying `desired` would leave? True when the owned fields
 * match, or when we applied exactly `desired` before and the object's spec has
 * not changed since (same generation): API-server defaults then explain any
 * difference.
 */
export function upToDate(
  live: KubeObject,
  desired: KubeObject,
  applied?: { view: string; generation: number | undefined },
): boolean {
  const view = ownedView(desired);
  if (liveView(live, desired) === view) return true;
  return applied !== undefined && applied.view === view &&
    applied.generation === live.metadata.generation;
}

export class GeneratedWriter {
  #o: GeneratedWriterOptions;
  #running: Promise<GeneratedSyncResult> | undefined;
  #next: readonly KubeObject[] | undefined;
  /** What we last applied per object, and the generation the server answered with. */
  #applied = new Map<string, { view: string; generation: number | undefined }>();

  constructor(opts: GeneratedWriterOptions) {
    this.#o = opts;
  }

  /** Forget what was applied (e.g. after losing leadership: another replica wrote since). */
  reset(): void {
    this.#applied.clear();
  }

  /** Apply `generated`, prune generated objects no longer in it. */
  sync(generated: readonly KubeObject[]): Promise<GeneratedSyncResult> {
    if (this.#running) {
      this.#next = generated;
      return this.#running;
    }
    this.#running = (async () => {
      let r = await this.#syncOnce(generated);
      while (this.#next) {
        const n = this.#next;
        this.#next = undefined;
        r = await this.#syncOnce(n);
      }
      return r;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #syncOnce(generated: readonly KubeObject[]): Promise<GeneratedSyncResult> {
    const r: GeneratedSyncResult = { applied: 0, unchanged: 0, deleted: 0, failed: 0 };
    const live = new Map<string, KubeObject>();
    for (const o of this.#o.live()) if (isWrittenKind(o)) live.set(keyOf(o), o);
    const wanted = new Set<string>();
    for (const g of generated) {
      const d = this.#labelled(g);
      const key = keyOf(d);
      wanted.add(key);
      const spec = this.#o.resourceOf(d.kind);
      if (!spec) continue;
      const l = live.get(key);
      if (l && upToDate(l, d, this.#applied.get(key))) {
        r.unchanged++;
        continue;
      }
      try {
        await this.#apply(spec, d);
        r.applied++;
      } catch (err) {
        r.failed++;
        log.warn("applying a generated object failed", {
          object: key,
          error: (err as Error).message,
        });
      }
    }
    for (const [key, l] of live) {
      if (wanted.has(key) || !isGenerated(l)) continue;
      if (l.metadata.labels?.[GENERATED_BY_LABEL] !== this.#o.generatedBy) continue;
      const spec = this.#o.resourceOf(l.kind);
      if (!spec) continue;
      try {
        await this.#o.client.request(
          "DELETE",
          resourcePath(
            spec.group,
            spec.version,
            spec.plural,
            l.metadata.namespace,
            l.metadata.name,
          ),
        );
        r.deleted++;
        log.info("deleted a generated object no longer generated", { object: key });
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) continue;
        r.failed++;
        log.warn("pruning a generated object failed", {
          object: key,
          error: (err as Error).message,
        });
      }
      this.#applied.delete(key);
    }
    if (r.applied > 0 || r.deleted > 0 || r.failed > 0) {
      log.info("generated objects synced", { ...r });
    }
    return r;
  }

  /** `d` as we write it: with our GENERATED_BY_LABEL. */
  #labelled(d: KubeObject): KubeObject {
    return {
      ...d,
      metadata: {
        ...d.metadata,
        labels: { ...d.metadata.labels, [GENERATED_BY_LABEL]: this.#o.generatedBy },
      },
    };
  }

  async #apply(spec: ResourceSpec, d: KubeObject): Promise<void> {
    const m = d.metadata;
    const body = {
      apiVersion: d.apiVersion,
      kind: d.kind,
      metadata: {
        name: m.name,
        namespace: m.namespace,
        labels: { ...m.labels, [GENERATED_BY_LABEL]: this.#o.generatedBy },
        annotations: m.annotations,
        ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
      },
      ...contentOf(d),
    };
    const path = resourcePath(spec.group, spec.version, spec.plural, m.namespace, m.name);
    const q = `?fieldManager=${
      encodeURIComponent(this.#o.fieldManager ?? FIELD_MANAGER)
    }&force=true`;
    const out = await this.#o.client.patch(path, body, "apply", q) as KubeObject | undefined;
    this.#applied.set(keyOf(d), {
      view: ownedView(d),
      generation: out?.metadata?.generation,
    });
  }
}
