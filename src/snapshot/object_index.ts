/**
 * An immutable lookup structure over the input objects: by kind and
 * "<ns>/<name>", EndpointSlices by owning Service, with duplicates reported.
 * Everything is sorted so iteration order never depends on input order.
 */
import type { Diagnostic, KubeObject } from "../store/types.ts";
import { precedenceKey } from "../translate/gateway_api/generated.ts";

/** "<ns>/<name>" with the namespace defaulted to "default" (like kubectl apply). */
export function nsName(o: KubeObject): string {
  return `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
}

/** Compares strings by code unit (locale-independent, deterministic). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Gateway API precedence key: oldest first, then namespace/name. A generated
 * object sorts by its source's age and name (see `precedenceKey`).
 */
export function orderKey(o: KubeObject): string {
  return precedenceKey(o);
}

export class ObjectIndex {
  readonly #byKind = new Map<string, Map<string, KubeObject>>();
  readonly #slices = new Map<string, KubeObject[]>();

  constructor(objects: readonly KubeObject[], diags: Diagnostic[]) {
    const sorted = [...objects].sort((a, b) => cmp(a.kind, b.kind) || cmp(nsName(a), nsName(b)));
    for (const o of sorted) {
      if (typeof o?.kind !== "string" || typeof o?.metadata?.name !== "string") continue;
      let m = this.#byKind.get(o.kind);
      if (!m) this.#byKind.set(o.kind, m = new Map());
      const key = o.kind === "Node" || o.kind === "Namespace" ? o.metadata.name : nsName(o);
      if (m.has(key)) {
        diags.push({
          severity: "error",
          source: `${o.kind}/${key}`,
          field: "metadata.name",
          message: `duplicate object ${o.kind} ${key}: the first definition is kept`,
        });
        continue;
      }
      m.set(key, o);
      if (o.kind === "EndpointSlice") {
        const svc = o.metadata.labels?.["kubernetes.io/service-name"];
        if (svc) {
          const sk = `${o.metadata.namespace ?? "default"}/${svc}`;
          const list = this.#slices.get(sk) ?? [];
          list.push(o);
          this.#slices.set(sk, list);
        }
      }
    }
  }

  /** The object of `kind` at "<ns>/<name>" (or "<name>" for cluster-scoped kinds). */
  get(kind: string, key: string): KubeObject | undefined {
    return this.#byKind.get(kind)?.get(key);
  }

  /** All objects of a kind, sorted by "<ns>/<name>". */
  all(kind: string): KubeObject[] {
    return [...(this.#byKind.get(kind)?.values() ?? [])];
  }

  /** EndpointSlices labelled for the Service "<ns>/<name>", sorted by name. */
  slicesFor(serviceKey: string): readonly KubeObject[] {
    return this.#slices.get(serviceKey) ?? [];
  }

  kinds(): string[] {
    return [...this.#byKind.keys()];
  }
}
