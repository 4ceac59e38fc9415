/**
 * Applies snapshots one at a time, coalescing bursts: while an apply runs,
 * only the newest pending snapshot is kept. A failed apply leaves the previous
 * configuration serving and is reported, never thrown out of the loop.
 */
import type { Snapshot } from "../snapshot/types.ts";
import { setSnapshotVersion, snapshotApplies } from "../observe/metrics.ts";
import { logger } from "../observe/log.ts";

const log = logger("applier");

export interface ApplyTarget {
  apply(snapshot: Snapshot): Promise<void>;
}

export interface ApplyOutcome {
  readonly version: string;
  readonly ok: boolean;
  readonly error?: string;
}

export class SnapshotApplier {
  #target: ApplyTarget;
  #running = false;
  #pending: { snapshot: Snapshot; done: ((o: ApplyOutcome) => void)[] } | null = null;
  #current: Snapshot | null = null;
  #lastError: ApplyOutcome | null = null;

  constructor(target: ApplyTarget) {
    this.#target = target;
  }

  /** The snapshot currently serving (null before the first successful apply). */
  get current(): Snapshot | null {
    return this.#current;
  }

  /** The most recent failed apply, cleared by a later success. */
  get lastError(): ApplyOutcome | null {
    return this.#lastError;
  }

  /** Queue a snapshot; resolves once it (or a newer one replacing it) has been tried. */
  submit(snapshot: Snapshot): Promise<ApplyOutcome> {
    return new Promise((resolve) => {
      if (this.#current?.version === snapshot.version && !this.#running && !this.#pending) {
        resolve({ version: snapshot.version, ok: true });
        return;
      }
      const waiters = this.#pending?.done ?? [];
      // A superseded snapshot's waiters learn the outcome of the one that replaced it.
      this.#pending = { snapshot, done: [...waiters, resolve] };
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    while (this.#pending) {
      const { snapshot, done } = this.#pending;
      this.#pending = null;
      let outcome: ApplyOutcome;
      if (this.#current?.version === snapshot.version) {
        outcome = { version: snapshot.version, ok: true };
      } else {
        try {
          await this.#target.apply(snapshot);
          this.#current = snapshot;
          this.#lastError = null;
          setSnapshotVersion(snapshot.version);
          snapshotApplies.inc({ result: "applied" });
          log.info("snapshot applied", {
            version: snapshot.version,
            listeners: snapshot.listeners.length,
            routes: snapshot.routes.length,
            clusters: snapshot.clusters.length,
          });
          outcome = { version: snapshot.version, ok: true };
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          snapshotApplies.inc({ result: "rejected" });
          log.error("snapshot rejected; the previous configuration keeps serving", {
            version: snapshot.version,
            serving: this.#current?.version ?? null,
            error,
          });
          outcome = { version: snapshot.version, ok: false, error };
          this.#lastError = outcome;
        }
      }
      for (const d of done) d(outcome);
    }
    this.#running = false;
  }
}
