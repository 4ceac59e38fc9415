/**
 * Shared state of one pure build: the object index, collected diagnostics,
 * per-object status builders and the snapshot parts produced so far.
 */
import type { Condition, Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";
import type { Cluster, SecretEntry } from "./types.ts";
import { ObjectIndex } from "./object_index.ts";
import { nsName } from "./object_index.ts";
import { referenceGrantSpec } from "../crds/core.ts";
import { parseWith } from "../crds/schema.ts";
import { listenerReferrer, referenceGrantSubject } from "../translate/gateway_api/generated.ts";

/** Builds one object's status: conditions by type plus extra members. */
export class StatusBuilder {
  readonly conditions = new Map<string, Condition>();
  readonly extra: Record<string, unknown> = {};
  constructor(readonly object: KubeObject) {}

  get generation(): number {
    return this.object.metadata.generation ?? 0;
  }

  /** Sets a condition; an earlier False is never overwritten by a later True. */
  set(type: string, ok: boolean, reason: string, message: string): void {
    const prev = this.conditions.get(type);
    if (prev && prev.status === "False" && ok) return;
    if (prev && prev.status === "False" && !ok) {
      // Keep the first reason, collect every message.
      this.conditions.set(type, { ...prev, message: `${prev.message}; ${message}` });
      return;
    }
    this.conditions.set(type, {
      type,
      status: ok ? "True" : "False",
      reason,
      message,
      observedGeneration: this.generation,
    });
  }

  isFalse(type: string): boolean {
    return this.conditions.get(type)?.status === "False";
  }

  toStatus(): ObjectStatus {
    const o = this.object;
    const order = ["Accepted", "ResolvedRefs", "Programmed"];
    const conds = [...this.conditions.values()].sort((a, b) => {
      const ia = order.indexOf(a.type), ib = order.indexOf(b.type);
      return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib) || (a.type < b.type ? -1 : 1);
    });
    return {
      ref: {
        apiVersion: o.apiVersion,
        kind: o.kind,
        namespace: o.metadata.namespace ?? "default",
        name: o.metadata.name,
      },
      generation: this.generation,
      status: { observedGeneration: this.generation, conditions: conds, ...this.extra },
    };
  }
}

/** Makes a condition with the object's generation. */
export function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number,
): Condition {
  return { type, status: ok ? "True" : "False", reason, message, observedGeneration: generation };
}

export class BuildContext {
  readonly diags: Diagnostic[] = [];
  readonly statuses = new Map<string, StatusBuilder>();
  readonly secrets = new Map<string, SecretEntry>();
  readonly clusters = new Map<string, Cluster>();
  readonly index: ObjectIndex;

  constructor(objects: readonly KubeObject[]) {
    this.index = new ObjectIndex(objects, this.diags);
  }

  status(o: KubeObject): StatusBuilder {
    const key = `${o.kind}/${nsName(o)}`;
    let s = this.statuses.get(key);
    if (!s) this.statuses.set(key, s = new StatusBuilder(o));
    return s;
  }

  error(o: KubeObject, field: string | undefined, message: string): void {
    this.diags.push({
      severity: "error",
      source: `${o.kind}/${nsName(o)}`,
      ...(field ? { field } : {}),
      message,
    });
  }

  warn(o: KubeObject, field: string | undefined, message: string): void {
    this.diags.push({
      severity: "warning",
      source: `${o.kind}/${nsName(o)}`,
      ...(field ? { field } : {}),
      message,
    });
  }

  /**
   * ReferenceGrant check for a reference made by object `from` (a generated
   * object acts as its Gateway API source: see `referenceGrantSubject`).
   */
  refPermittedFrom(
    from: KubeObject,
    toGroup: string,
    toKind: string,
    toNs: string,
    toName: string,
  ): boolean {
    const s = referenceGrantSubject(from);
    const ns = from.metadata.namespace ?? "default";
    return this.refPermitted(s.group, s.kind, ns, toGroup, toKind, toNs, toName);
  }

  /**
   * ReferenceGrant check for a certificate reference of listener `listener` of
   * gateway `from`: a listener the translator merged in from a ListenerSet acts
   * as that ListenerSet in its namespace (`listenerReferrer`), any other as
   * `from` does (`refPermittedFrom`).
   */
  refPermittedForListener(
    from: KubeObject,
    listener: string,
    toGroup: string,
    toKind: string,
    toNs: string,
    toName: string,
  ): boolean {
    const r = listenerReferrer(from, listener);
    if (r === undefined) return this.refPermittedFrom(from, toGroup, toKind, toNs, toName);
    return this.refPermitted(r.group, r.kind, r.namespace, toGroup, toKind, toNs, toName);
  }

  /**
   * Gateway API ReferenceGrant check: may an object of `fromKind` in `fromNs`
   * refer to `toKind` "<toNs>/<toName>"? Same-namespace references always may.
   */
  refPermitted(
    fromGroup: string,
    fromKind: string,
    fromNs: string,
    toGroup: string,
    toKind: string,
    toNs: string,
    toName: string,
  ): boolean {
    if (fromNs === toNs) return true;
    for (const g of this.index.all("ReferenceGrant")) {
      if ((g.metadata.namespace ?? "default") !== toNs) continue;
      const r = parseWith(referenceGrantSpec, g.spec);
      if (!r.ok) continue;
      const fromOk = r.value.from.some((f) =>
        f.group === fromGroup && f.kind === fromKind && f.namespace === fromNs
      );
      const toOk = r.value.to.some((t) =>
        t.group === toGroup && t.kind === toKind && (t.name === undefined || t.name === toName)
      );
      if (fromOk && toOk) return true;
    }
    return false;
  }
}
