/**
 * Client connections of one listening socket, so a drain can close idle
 * keep-alive connections at once and wait for busy ones.
 */
import { activeConnections } from "../../observe/metrics.ts";

export interface ConnHandle {
  /** True while a request is being read or served. */
  busy: boolean;
  /** Graceful: let the peer finish (HTTP/2 GOAWAY). */
  close(): void;
  /** Immediate, at the drain deadline (defaults to close). */
  destroy?(): void;
}

export class ConnSet {
  private conns = new Set<ConnHandle>();
  draining = false;
  private waiters: (() => void)[] = [];
  private gauge: { inc(): void; dec(): void };

  constructor(readonly label: string) {
    this.gauge = activeConnections.labels(label);
  }

  get size(): number {
    return this.conns.size;
  }

  add(c: ConnHandle): void {
    this.conns.add(c);
    this.gauge.inc();
  }

  delete(c: ConnHandle): void {
    if (this.conns.delete(c)) this.gauge.dec();
    if (this.conns.size === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }

  /** Stops keep-alive: idle connections close now, busy ones after their response. */
  drain(): void {
    this.draining = true;
    for (const c of this.conns) if (!c.busy) c.close();
  }

  /** Resolves when every connection is gone or `ms` passed (then forces them closed). */
  async wait(ms: number): Promise<void> {
    if (this.conns.size === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((r) => this.waiters.push(r)),
      new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms)))),
    ]);
    clearTimeout(timer);
    for (const c of this.conns) (c.destroy ?? c.close).call(c);
  }

  closeAll(): void {
    for (const c of this.conns) (c.destroy ?? c.close).call(c);
  }
}
