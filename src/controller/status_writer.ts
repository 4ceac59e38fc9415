/**
 * Writes the statuses the pure pipeline computed onto the objects, as a merge
 * patch of the /status subresource carrying the resourceVersion it was
 * computed against: a concurrent write gives 409 Conflict, and the writer
 * re-reads and recomputes instead of overwriting. Writes happen only when
 * something other than timestamps changed. Only the leader calls sync().
 *
 * Ingress addresses are released: an Ingress whose `status.loadBalancer.ingress`
 * we wrote (or found as we would write it) and that is no longer ours (its
 * class changed to another controller's, or the class went away) gets that
 * list cleared — only while the live list is still exactly ours and the object
 * the same (uid), so another controller's address is never touched. The
 * Ingress schema has room for no marker of who wrote an address, so "ours" is
 * what this process remembers: what it wrote, found written, or (as a follower,
 * `observe`) saw the leader would write.
 */
import { logger } from "../observe/log.ts";
import type { KubeObject, ObjectStatus } from "../store/types.ts";
import { type KubeClient, KubeError, resourcePath } from "../source/kube_client.ts";
import type { ResourceSpec } from "../source/kube.ts";
import {
  canonical,
  kubeTime,
  mergeStatus,
  sameStatus,
  statusPatch,
  storedStatus,
} from "./status_merge.ts";
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

/** An Ingress address list we wrote: the object's uid and the list (canonical JSON). */
interface OwnedAddresses {
  readonly uid: string | undefined;
  readonly ingress: string;
}

const ingressKey = (ns: string | undefined, name: string) => `${ns ?? "default"}/${name}`;

/** `status.loadBalancer.ingress` (canonical JSON; "[]" when absent). */
function liveAddresses(status: unknown): string {
  const lb = (status as { loadBalancer?: { ingress?: unknown } } | undefined)?.loadBalancer;
  return canonical(Array.isArray(lb?.ingress) ? lb.ingress : []);
}

export class StatusWriter {
  #opts: StatusWriterOptions;
  #running: Promise<SyncResult> | undefined;
  #next: readonly ObjectStatus[] | undefined;
  /** Ingresses ("<ns>/<name>") whose address list is ours, and that list. */
  #ingressOwned = new Map<string, OwnedAddresses>();

  constructor(opts: StatusWriterOptions) {
    this.#opts = opts;
  }

  /**
   * Remember the Ingress addresses in `statuses` as ours without writing
   * anything: a follower calls it, so that once it leads it can release the
   * addresses the previous leader wrote (sync does the same for what it writes).
   */
  observe(statuses: readonly ObjectStatus[]): void {
    const ingresses = new Set<string>();
    for (const s of statuses) {
      if (s.ref.kind !== "Ingress") continue;
      ingresses.add(ingressKey(s.ref.namespace, s.ref.name));
      this.#remember(s);
    }
    // Forget what the leader already released (or someone else changed) meanwhile.
    for (const [key, owned] of [...this.#ingressOwned]) {
      if (ingresses.has(key)) continue;
      const slash = key.indexOf("/");
      const live = this.#opts.live("Ingress", key.slice(0, slash), key.slice(slash + 1));
      if (!live || liveAddresses(live.status) !== owned.ingress) this.#ingressOwned.delete(key);
    }
  }

  #remember(s: ObjectStatus): void {
    const key = ingressKey(s.ref.namespace, s.ref.name);
    const ingress = liveAddresses(storedStatus("Ingress", s.status as Record<string, unknown>));
    if (ingress === "[]") {
      this.#ingressOwned.delete(key);
      return;
    }
    const uid = this.#opts.live("Ingress", s.ref.namespace, s.ref.name)?.metadata.uid;
    this.#ingressOwned.set(key, { uid, ingress });
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
    const ingresses = new Set<string>();
    for (const s of statuses) {
      // Comparing thousands of unchanged statuses is CPU work without I/O: let
      // gRPC streams and watches breathe now and then.
      if (++n % 200 === 0) await new Promise((r) => setTimeout(r, 0));
      const isIngress = s.ref.kind === "Ingress";
      if (isIngress) ingresses.add(ingressKey(s.ref.namespace, s.ref.name));
      try {
        const outcome = await this.writeOne(s);
        if (outcome === "written") r.written++;
        else if (outcome === "unchanged" || outcome === "gone") r.unchanged++;
        r.conflicts += this.#lastConflicts;
        // Written or already as we want it: the address list is ours.
        if (isIngress && (outcome === "written" || outcome === "unchanged")) this.#remember(s);
        if (isIngress && outcome === "gone") {
          this.#ingressOwned.delete(ingressKey(s.ref.namespace, s.ref.name));
        }
      } catch (err) {
        r.failed++;
        statusWrites.inc({ result: "error" });
        log.warn("status write failed", {
          object: `${s.ref.kind}/${s.ref.namespace ?? ""}/${s.ref.name}`,
          error: (err as Error).message,
        });
      }
    }
    // Ingresses we gave an address that the statuses no longer cover are not ours any more.
    for (const [key, owned] of [...this.#ingressOwned]) {
      if (ingresses.has(key)) continue;
      try {
        const outcome = await this.#release(key, owned);
        if (outcome === "written") r.written++;
        else r.unchanged++;
        r.conflicts += this.#lastConflicts;
      } catch (err) {
        // Kept: the next sync tries again.
        r.failed++;
        statusWrites.inc({ result: "error" });
        log.warn("releasing Ingress address failed", {
          object: `Ingress/${key}`,
          error: (err as Error).message,
        });
      }
    }
    if (r.written > 0 || r.failed > 0) log.info("statuses synced", { ...r });
    return r;
  }

  /**
   * Clear `status.loadBalancer.ingress` of an Ingress that is no longer ours,
   * if it is still the list we wrote on the same object; forget it either way
   * (unless the write fails).
   */
  async #release(key: string, owned: OwnedAddresses): Promise<"written" | "unchanged" | "gone"> {
    this.#lastConflicts = 0;
    const slash = key.indexOf("/");
    const ns = key.slice(0, slash), name = key.slice(slash + 1);
    const spec = this.#opts.resourceOf("Ingress");
    if (!spec) {
      this.#ingressOwned.delete(key);
      return "unchanged";
    }
    const path = resourcePath(spec.group, spec.version, spec.plural, ns, name);
    const fresh = async (): Promise<KubeObject | undefined> => {
      try {
        return await this.#opts.client.get(path) as KubeObject;
      } catch (e) {
        if (e instanceof KubeError && e.status === 404) return undefined;
        throw e;
      }
    };
    let live = this.#opts.live("Ingress", ns, name);
    // The cache may not show our own last write yet: ask the server before giving up.
    if (live && liveAddresses(live.status) !== owned.ingress) live = await fresh();
    const max = this.#opts.maxRetries ?? 5;
    for (let attempt = 0; attempt <= max; attempt++) {
      if (!live) {
        this.#ingressOwned.delete(key);
        return "gone";
      }
      const sameObject = owned.uid === undefined || live.metadata.uid === undefined ||
        live.metadata.uid === owned.uid;
      if (!sameObject || liveAddresses(live.status) !== owned.ingress) {
        // Another object by that name, or another controller's (or no) address: not ours.
        this.#ingressOwned.delete(key);
        return "unchanged";
      }
      try {
        await this.#opts.client.patch(`${path}/status`, {
          metadata: { resourceVersion: live.metadata.resourceVersion },
          status: { loadBalancer: { ingress: null } },
        });
        statusWrites.inc({ result: "written" });
        this.#ingressOwned.delete(key);
        log.info("released the address of an Ingress that is no longer ours", {
          object: `Ingress/${key}`,
        });
        return "written";
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) {
          this.#ingressOwned.delete(key);
          return "gone";
        }
        if (!(err instanceof KubeError) || err.status !== 409) throw err;
        statusWrites.inc({ result: "conflict" });
        this.#lastConflicts++;
        live = await fresh();
      }
    }
    throw new Error(`${path}: still conflicting after ${max} retries`);
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
