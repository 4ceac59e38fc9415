/**
 * Writes the statuses the pure pipeline computed onto the objects, as a merge
 * patch of the /status subresource carrying the resourceVersion it was
 * computed against: a concurrent write gives 409 Conflict, and the writer
 * re-reads and recomputes instead of overwriting. Writes happen only when
 * something other than timestamps changed. Only the leader calls sync().
 */
import { logger } from "../observe/log.ts";
import type { KubeObject, ObjectStatus } from "../store/types.ts";
import { type KubeClient, KubeError, resourcePath } from "../source/kube_client.ts";
import type { ResourceSpec } from "../source/kube.ts";
import { kubeTime, mergeStatus, sameStatus, statusPatch, storedStatus } from "./status_merge.ts";
import { statusWrites } from "./metrics.ts";

const log = logger("controller.status");

export interface StatusWriterOptions {
  readonly client: KubeClient;
  /** The cached live object (informer store), or undefined if unknown. */
  readonly live: (
    kind: string,
    namespace: string | undefined,
    name: string,
  ) => KubeObject | undefined;
  /** API coordinates of a kind, or undefined when we do not write its status. */
  readonly resourceOf: (kind: string) => ResourceSpec | undefined;
  /** Max conflict retries per object (default 5). */
  readonly maxRetries?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

export interface SyncResult {
  written: number;
  unchanged: number;
  conflicts: number;
  failed: number;
}

export class StatusWriter {
  #opts: StatusWriterOptions;
  #running: Promise<SyncResult> | undefined;
  #next: readonly ObjectStatus[] | undefined;

  constructor(opts: StatusWriterOptions) {
    this.#opts = opts;
  }

  /**
   * Write every status that differs from the live object. Calls made while a
   * sync runs collapse into one follow-up sync with the newest statuses.
   */
  sync(statuses: readonly ObjectStatus[]): Promise<SyncResult> {
    if (this.#running) {
      this.#next = statuses;
      return this.#running;
    }
    this.#running = (async () => {
      let result = await this.#syncOnce(statuses);
      while (this.#next) {
        const n = this.#next;
        this.#next = undefined;
        result = await this.#syncOnce(n);
      }
      return result;
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #syncOnce(statuses: readonly ObjectStatus[]): Promise<SyncResult> {
    const r: SyncResult = { written: 0, unchanged: 0, conflicts: 0, failed: 0 };
    let n = 0;
    for (const s of statuses) {
      // Comparing thousands of unchanged statuses is CPU work without I/O: let
      // gRPC streams and watches breathe now and then.
      if (++n % 200 === 0) await new Promise((r) => setTimeout(r, 0));
      try {
        const outcome = await this.writeOne(s);
        if (outcome === "written") r.written++;
        else if (outcome === "unchanged" || outcome === "gone") r.unchanged++;
        r.conflicts += this.#lastConflicts;
      } catch (err) {
        r.failed++;
        statusWrites.inc({ result: "error" });
        log.warn("status write failed", {
          object: `${s.ref.kind}/${s.ref.namespace ?? ""}/${s.ref.name}`,
          error: (err as Error).message,
        });
      }
    }
    if (r.written > 0 || r.failed > 0) log.info("statuses synced", { ...r });
    return r;
  }

  #lastConflicts = 0;

  /** Write one object's status if it changed. */
  async writeOne(s: ObjectStatus): Promise<"written" | "unchanged" | "gone" | "skipped"> {
    this.#lastConflicts = 0;
    const spec = this.#opts.resourceOf(s.ref.kind);
    if (!spec) return "skipped";
    const path = resourcePath(spec.group, spec.version, spec.plural, s.ref.namespace, s.ref.name);
    let live = this.#opts.live(s.ref.kind, s.ref.namespace, s.ref.name);
    if (!live) return "gone";
    const max = this.#opts.maxRetries ?? 5;
    for (let attempt = 0; attempt <= max; attempt++) {
      const now = kubeTime(this.#opts.now?.() ?? new Date());
      const desired = storedStatus(s.ref.kind, s.status as Record<string, unknown>);
      const next = mergeStatus(live.status, desired, now);
      if (sameStatus(live.status, next)) {
        statusWrites.inc({ result: "unchanged" });
        return "unchanged";
      }
      // Never write a status computed for an older generation than the object has now.
      if (live.metadata.generation !== undefined && live.metadata.generation > s.generation) {
        return "skipped";
      }
      try {
        await this.#opts.client.patch(`${path}/status`, {
          metadata: { resourceVersion: live.metadata.resourceVersion },
          status: statusPatch(s.ref.kind, live.status, next),
        });
        statusWrites.inc({ result: "written" });
        return "written";
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) return "gone";
        if (!(err instanceof KubeError) || err.status !== 409) throw err;
        statusWrites.inc({ result: "conflict" });
        this.#lastConflicts++;
        log.debug("status conflict; re-reading", { path, attempt });
        try {
          live = await this.#opts.client.get(path) as KubeObject;
        } catch (e) {
          if (e instanceof KubeError && e.status === 404) return "gone";
          throw e;
        }
      }
    }
    throw new Error(`${path}: still conflicting after ${max} retries`);
  }
}
