/**
 * The latest snapshot of every node, encoded once per version, with watchers.
 * The controller publishes here after each build; every gRPC stream watches its
 * node. Publishing the same version again is a no-op, so rebuilding after an
 * unrelated change never re-sends anything.
 */
import type { Snapshot } from "../snapshot/types.ts";

/** A snapshot ready for the wire. */
export interface EncodedSnapshot {
  readonly version: string;
  /** Encoded `novaedge.v1.Snapshot`. */
  readonly bytes: Uint8Array;
}

export type SnapshotEncoder = (s: Snapshot) => Uint8Array;

interface Entry {
  readonly snapshot: Snapshot;
  readonly encoded: EncodedSnapshot;
}

import { redactSnapshot } from "../agent/redact.ts";
export { REDACTED, redactSnapshot } from "../agent/redact.ts";

export class SnapshotHub {
  #entries = new Map<string, Entry>();
  /** The last few snapshots per node, by version: what an agent that lags still serves. */
  #history = new Map<string, Map<string, Snapshot>>();
  #watchers = new Map<string, Set<(s: EncodedSnapshot) => void>>();
  #encode: SnapshotEncoder;
  #onFirstWatch?: (node: string) => void;

  /**
   * `onFirstWatch` runs when an agent starts watching a node that has no
   * snapshot yet: the controller builds one for it right away.
   */
  constructor(encode: SnapshotEncoder, onFirstWatch?: (node: string) => void) {
    this.#encode = encode;
    this.#onFirstWatch = onFirstWatch;
  }

  /** Set (or replace) the first-watch hook after construction. */
  setOnFirstWatch(fn: (node: string) => void): void {
    this.#onFirstWatch = fn;
  }

  /**
   * Publish `snapshot` as `node`'s current one. Returns true when the version
   * changed (and watchers were told).
   */
  publish(node: string, snapshot: Snapshot): boolean {
    const prev = this.#entries.get(node);
    if (prev && prev.snapshot.version === snapshot.version) return false;
    // Nodes often share a version (same gateways): reuse the bytes.
    let bytes: Uint8Array | undefined;
    for (const e of this.#entries.values()) {
      if (e.encoded.version === snapshot.version) {
        bytes = e.encoded.bytes;
        break;
      }
    }
    const encoded = { version: snapshot.version, bytes: bytes ?? this.#encode(snapshot) };
    this.#entries.set(node, { snapshot, encoded });
    let h = this.#history.get(node);
    if (!h) this.#history.set(node, h = new Map());
    h.set(snapshot.version, snapshot);
    while (h.size > 3) h.delete(h.keys().next().value!);
    for (const w of this.#watchers.get(node) ?? []) w(encoded);
    return true;
  }

  get(node: string): EncodedSnapshot | undefined {
    return this.#entries.get(node)?.encoded;
  }

  snapshot(node: string): Snapshot | undefined {
    return this.#entries.get(node)?.snapshot;
  }

  /** The node's snapshot with private keys redacted, encoded (for `snapshot dump`). */
  redacted(node: string): EncodedSnapshot | undefined {
    const e = this.#entries.get(node);
    if (!e) return undefined;
    return { version: e.encoded.version, bytes: this.#encode(redactSnapshot(e.snapshot)) };
  }

  /** A recent snapshot of `node` by version (the current one or up to two before). */
  recent(node: string, version: string): Snapshot | undefined {
    return this.#history.get(node)?.get(version);
  }

  /** Nodes with a published snapshot. */
  nodes(): string[] {
    return [...this.#entries.keys()].sort();
  }

  /** Nodes somebody watches (connected agents), published or not. */
  watchedNodes(): string[] {
    return [...this.#watchers.entries()].filter(([, s]) => s.size > 0).map(([n]) => n).sort();
  }

  /** Forget a node (it left the cluster and nobody watches it). */
  forget(node: string): void {
    if ((this.#watchers.get(node)?.size ?? 0) === 0) {
      this.#entries.delete(node);
      this.#history.delete(node);
    }
  }

  /** Call `fn` with every new version published for `node`. Returns the unsubscribe. */
  watch(node: string, fn: (s: EncodedSnapshot) => void): () => void {
    let set = this.#watchers.get(node);
    if (!set) this.#watchers.set(node, set = new Set());
    set.add(fn);
    if (!this.#entries.has(node)) this.#onFirstWatch?.(node);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.#watchers.delete(node);
    };
  }
}
