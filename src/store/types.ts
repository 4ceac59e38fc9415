/**
 * The typed Kubernetes objects every source produces and every pure stage
 * consumes. Sources (directory, informers) only ever hand out these shapes.
 */

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly generation?: number;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly deletionTimestamp?: string;
}

/** Any Kubernetes object; `spec`/`status`/`data` stay unknown until a kind's parser narrows them. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec?: unknown;
  readonly status?: unknown;
  readonly data?: unknown;
  readonly stringData?: unknown;
  readonly type?: string;
  readonly [extra: string]: unknown;
}

/** Gateway API style condition. Timestamps are stamped by the status writer, never by pure code. */
export interface Condition {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number;
  readonly lastTransitionTime?: string;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** The status a pure stage wants written to one object. */
export interface ObjectStatus {
  readonly ref: ObjectRef;
  readonly generation: number;
  readonly status: {
    readonly observedGeneration: number;
    readonly conditions: readonly Condition[];
    readonly [extra: string]: unknown;
  };
}

export interface Diagnostic {
  readonly severity: "error" | "warning";
  /** Where: "<file>#<doc>" for the directory source, or "<Kind>/<ns>/<name>". */
  readonly source: string;
  /** JSON-path-like field, e.g. "spec.listeners[1].port". */
  readonly field?: string;
  readonly message: string;
}

export function objectKey(
  o: { kind: string; metadata: { namespace?: string; name: string } },
): string {
  return `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}
