/**
 * The controller's loop: store changed → run the pure pipeline once → cut the
 * snapshot per node → publish to the hub (agents get new versions) → the
 * leader writes statuses. Changes are debounced so a burst of watch events
 * costs one build; builds never overlap.
 */
import { logger } from "../observe/log.ts";
import { type PipelineOptions, runPipeline } from "../snapshot/mod.ts";
import type { Snapshot } from "../snapshot/types.ts";
import type { Diagnostic, KubeObject, ObjectStatus } from "../store/types.ts";
import type { AgentRegistry } from "./agents.ts";
import {
  reconcileDuration,
  reconciles,
  snapshotBuildDuration,
  snapshotBytes,
  watchedObjects,
} from "./metrics.ts";
import { nodeSignature, snapshotForNode } from "./node_filter.ts";
import { type NodeView, programmedConditions, withProgrammed } from "./programmed.ts";
import type { SnapshotHub } from "./snapshot_hub.ts";

const log = logger("controller.reconcile");

export interface ReconcilerOptions {
  readonly objects: () => KubeObject[];
  readonly hub: SnapshotHub;
  readonly registry: AgentRegistry;
  /** Write statuses (called only while leading). */
  readonly writeStatuses?: (statuses: readonly ObjectStatus[]) => Promise<unknown>;
  /**
   * Told the statuses a follower computed but does not write (the status
   * writer remembers which Ingress addresses are ours, to release them once leading).
   */
  readonly observeStatuses?: (statuses: readonly ObjectStatus[]) => void;
  /**
   * Write the objects the translators generated (called only while leading,
   * before the statuses: a generated object's status needs the object).
   */
  readonly writeGenerated?: (generated: readonly KubeObject[]) => Promise<unknown>;
  /** Options of the pure pipeline (Gateway API / Ingress translator options). */
  readonly pipeline?: PipelineOptions;
  readonly isLeader: () => boolean;
  /** Quiet time before a build (default 50 ms); a burst never delays a build past maxDelayMs. */
  readonly debounceMs?: number;
  readonly maxDelayMs?: number;
}

export interface ReconcileState {
  readonly clusterVersion: string;
  readonly objects: number;
  readonly diagnostics: readonly Diagnostic[];
  readonly statuses: readonly ObjectStatus[];
  /** What the translators generated (the leader writes it to the cluster). */
  readonly generated: readonly KubeObject[];
  readonly nodes: Record<string, string>;
  readonly at: string;
}

export class Reconciler {
  #o: ReconcilerOptions;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstPending = 0;
  #snapshot: Snapshot | undefined;
  #state: ReconcileState | undefined;
  #diagKeys = new Set<string>();
  #stopped = false;

  constructor(opts: ReconcilerOptions) {
    this.#o = opts;
    // An agent of a node we have not built for yet: cut its snapshot right away.
    opts.hub.setOnFirstWatch((node) => {
      if (this.#snapshot) this.#publish(node, this.#snapshot);
    });
    // Acks, nacks and (dis)connections change the routes' Programmed condition.
    opts.registry.onChange(() => {
      if (this.#statusTimer || this.#stopped) return;
      this.#statusTimer = setTimeout(() => {
        this.#statusTimer = undefined;
        void this.resyncStatuses().catch((err) =>
          log.warn("status resync failed", { error: (err as Error).message })
        );
      }, 1000);
    });
  }

  #statusTimer: ReturnType<typeof setTimeout> | undefined;

  /** Pipeline statuses plus each ProxyRoute's Programmed condition (from agents' acks). */
  #withProgrammed(statuses: readonly ObjectStatus[]): ObjectStatus[] {
    const sessions = this.#o.registry.sessions();
    const views: NodeView[] = [];
    for (const node of this.#o.hub.nodes()) {
      const expected = this.#o.hub.snapshot(node);
      if (!expected) continue;
      const servedVersion = this.#o.registry.servedVersion(node);
      const served = servedVersion === undefined
        ? undefined
        : this.#o.hub.recent(node, servedVersion) ?? { ...expected, routes: [] };
      const nack = sessions.find((x) => x.node === node && x.nackedVersion === expected.version);
      views.push({ node, expected, served, nackReason: nack?.nackReason });
    }
    return withProgrammed(statuses, programmedConditions(views, () => 0));
  }

  get state(): ReconcileState | undefined {
    return this.#state;
  }

  /** Schedule a reconcile (debounced). */
  trigger(): void {
    if (this.#stopped) return;
    const now = Date.now();
    if (!this.#timer) this.#firstPending = now;
    clearTimeout(this.#timer);
    const debounce = this.#o.debounceMs ?? 50;
    const maxDelay = this.#o.maxDelayMs ?? 500;
    const wait = Math.max(0, Math.min(debounce, this.#firstPending + maxDelay - now));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.reconcileNow();
    }, wait);
  }

  /**
   * Reconcile now. The build is synchronous (pure pipeline, encode, publish),
   * so two never overlap; status writes continue in the background.
   */
  reconcileNow(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    try {
      this.#reconcile();
      reconciles.inc({ result: "ok" });
    } catch (err) {
      reconciles.inc({ result: "error" });
      log.error("reconcile failed", { error: (err as Error).stack ?? String(err) });
    }
    return Promise.resolve();
  }

  /** Write the last computed statuses again (e.g. on becoming leader). */
  async resyncStatuses(): Promise<void> {
    if (this.#state && this.#o.writeGenerated && this.#o.isLeader()) {
      await this.#o.writeGenerated(this.#state.generated);
    }
    if (this.#state && this.#o.writeStatuses && this.#o.isLeader()) {
      await this.#o.writeStatuses(this.#withProgrammed(this.#state.statuses));
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#statusTimer);
  }

  /** Per-node cuts of the current cluster snapshot, shared by nodes with the same VIPs. */
  #cuts = new Map<string, Snapshot>();
  #cutsOf: Snapshot | undefined;

  #cut(cluster: Snapshot, node: string): Snapshot {
    if (this.#cutsOf !== cluster) {
      this.#cuts.clear();
      this.#cutsOf = cluster;
    }
    const sig = nodeSignature(cluster, node);
    let s = this.#cuts.get(sig);
    if (!s) this.#cuts.set(sig, s = snapshotForNode(cluster, node));
    return s;
  }

  #publish(node: string, cluster: Snapshot): void {
    const s = this.#cut(cluster, node);
    const changed = this.#o.hub.publish(node, s);
    this.#o.registry.expect(node, s.version);
    if (changed) {
      snapshotBytes.set({ node }, this.#o.hub.get(node)?.bytes.length ?? 0);
      log.info("published snapshot", {
        node,
        version: s.version,
        listeners: s.listeners.length,
        routes: s.routes.length,
        clusters: s.clusters.length,
        vips: s.vips.length,
      });
    }
  }

  #reconcile(): void {
    const end = reconcileDuration.startTimer();
    const objects = this.#o.objects();
    const counts: Record<string, number> = {};
    for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
    for (const [kind, n] of Object.entries(counts)) watchedObjects.set({ kind }, n);

    const endBuild = snapshotBuildDuration.startTimer();
    const result = runPipeline(objects, this.#o.pipeline ?? {});
    endBuild();
    this.#snapshot = result.snapshot;
    this.#logDiagnostics(result.diagnostics);

    const nodes = new Set<string>(this.#o.hub.watchedNodes());
    for (const o of objects) if (o.kind === "Node") nodes.add(o.metadata.name);
    const versions: Record<string, string> = {};
    for (const node of [...nodes].sort()) {
      this.#publish(node, result.snapshot);
      versions[node] = this.#o.hub.get(node)?.version ?? "";
    }
    for (const node of this.#o.hub.nodes()) {
      if (!nodes.has(node)) {
        this.#o.hub.forget(node);
        snapshotBytes.remove({ node });
      }
    }
    this.#state = {
      clusterVersion: result.snapshot.version,
      objects: objects.length,
      diagnostics: result.diagnostics,
      statuses: result.statuses,
      generated: result.generated,
      nodes: versions,
      at: new Date().toISOString(),
    };
    end();
    if (this.#o.writeGenerated && this.#o.isLeader()) {
      this.#o.writeGenerated(result.generated).catch((err) =>
        log.warn("writing generated objects failed", { error: (err as Error).message })
      );
    }
    if (this.#o.writeStatuses && this.#o.isLeader()) {
      // Not awaited: thousands of status writes must never delay the next snapshot.
      // The writer coalesces calls made while it runs.
      this.#o.writeStatuses(this.#withProgrammed(result.statuses)).catch((err) =>
        log.warn("status sync failed", { error: (err as Error).message })
      );
    } else this.#o.observeStatuses?.(result.statuses);
  }

  /** Log each configuration problem once, when it appears, and when it is fixed. */
  #logDiagnostics(diags: readonly Diagnostic[]): void {
    const keys = new Set<string>();
    for (const d of diags) {
      const k = `${d.severity}|${d.source}|${d.field ?? ""}|${d.message}`;
      keys.add(k);
      if (!this.#diagKeys.has(k)) {
        (d.severity === "error" ? log.warn : log.info)("configuration problem", { ...d });
      }
    }
    for (const k of this.#diagKeys) {
      if (!keys.has(k)) {
        const [severity, source, field] = k.split("|");
        log.info("configuration problem resolved", { severity, source, field });
      }
    }
    this.#diagKeys = keys;
  }
}
