/**
 * Leader election on a coordination.k8s.io/v1 Lease, the client-go way:
 * the holder renews every `retryPeriod`; others take over once they have seen
 * the same lease record unchanged for `leaseDuration` (measured on their own
 * clock, so clock skew between nodes does not matter). Every write carries the
 * resourceVersion it read, so two candidates can never both win (409).
 * A leader that cannot renew within `renewDeadline` steps down by itself.
 */
import { logger } from "../observe/log.ts";
import { type KubeClient, KubeError } from "../source/kube_client.ts";
import { isLeader } from "./metrics.ts";

const log = logger("controller.leader");

export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** This replica (pod name). */
  readonly identity: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryPeriodMs?: number;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  #o:
    & Required<Omit<LeaderElectionOptions, "onStartedLeading" | "onStoppedLeading">>
    & LeaderElectionOptions;
  #leading = false;
  #stopped = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #observed: { record: string; at: number } | undefined;
  #lastRenew = 0;
  #tick: Promise<void> = Promise.resolve();

  constructor(opts: LeaderElectionOptions) {
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...opts,
    };
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases/${this.#o.name}`;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stop campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
    if (this.#leading) {
      try {
        const lease = await this.#o.client.get(this.#path) as Lease;
        if (lease.spec?.holderIdentity === this.#o.identity) {
          await this.#o.client.replace(this.#path, {
            ...lease,
            spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
          });
          log.info("released the leader lease", { lease: this.#o.name });
        }
      } catch (err) {
        log.warn("could not release the leader lease", { error: (err as Error).message });
      }
      this.#setLeading(false);
    }
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#tryAcquireOrRenew().catch((err) => {
        log.warn("leader election error", { error: (err as Error).message });
      }).finally(() => this.#schedule(this.#o.retryPeriodMs));
    }, ms);
  }

  #setLeading(v: boolean): void {
    if (v === this.#leading) return;
    this.#leading = v;
    isLeader.set(v ? 1 : 0);
    if (v) {
      log.info("became leader", { identity: this.#o.identity, lease: this.#o.name });
      this.#o.onStartedLeading();
    } else {
      log.warn("no longer leader", { identity: this.#o.identity, lease: this.#o.name });
      this.#o.onStoppedLeading();
    }
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const now = new Date();
    const mine: LeaseSpec = {
      holderIdentity: this.#o.identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    let lease: Lease;
    try {
      lease = await this.#o.client.get(this.#path) as Lease;
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) {
        try {
          await this.#o.client.create(
            `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases`,
            {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: this.#o.name, namespace: this.#o.namespace },
              spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
            },
          );
          this.#lastRenew = Date.now();
          this.#setLeading(true);
        } catch (e) {
          if (!(e instanceof KubeError && e.status === 409)) throw e;
        }
        return;
      }
      this.#checkDeadline();
      throw err;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const record = `${holder}|${spec.renewTime ?? ""}|${spec.leaseDurationSeconds ?? ""}`;
    if (!this.#observed || this.#observed.record !== record) {
      this.#observed = { record, at: Date.now() };
    }
    if (holder !== this.#o.identity) {
      if (this.#leading) this.#setLeading(false);
      const durationMs = (spec.leaseDurationSeconds ?? 15) * 1000;
      const expired = holder === "" || Date.now() - this.#observed.at >= durationMs;
      if (!expired) return;
      if (holder !== "") log.info("leader lease expired; taking over", { previous: holder });
    }
    const taking = holder !== this.#o.identity;
    const next = {
      ...lease,
      spec: {
        ...spec,
        ...mine,
        acquireTime: taking ? microTime(now) : spec.acquireTime ?? microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && holder !== "" ? 1 : 0),
      },
    };
    try {
      await this.#o.client.replace(this.#path, next);
      this.#lastRenew = Date.now();
      this.#setLeading(true);
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) {
        // Someone else wrote first: re-read on the next tick.
        if (taking) return;
      }
      this.#checkDeadline();
      throw err;
    }
  }

  #checkDeadline(): void {
    if (this.#leading && Date.now() - this.#lastRenew > this.#o.renewDeadlineMs) {
      log.warn("could not renew the leader lease in time; stepping down");
      this.#setLeading(false);
    }
  }
}
