/**
 * All upstream pools of the process, keyed by endpoint (address, port,
 * protocol, TLS identity). Pools outlive snapshots: a snapshot that keeps an
 * endpoint keeps its warm connections. After an apply, pools no snapshot
 * references are closed gracefully (busy connections finish first).
 */
import { H1Pool } from "./h1_pool.ts";
import { H2Client } from "./h2_client.ts";
import { type EndpointConfig, endpointKey } from "./types.ts";

export class PoolRegistry {
  private h1 = new Map<string, H1Pool>();
  private h2 = new Map<string, H2Client>();
  private timer: ReturnType<typeof setInterval>;

  constructor() {
    this.timer = setInterval(() => {
      for (const p of this.h1.values()) p.sweep();
    }, 5000);
    Deno.unrefTimer(this.timer as unknown as number);
  }

  h1Pool(cfg: EndpointConfig): H1Pool {
    const key = endpointKey(cfg, "h1");
    let p = this.h1.get(key);
    if (!p || p.closed) {
      p = new H1Pool(cfg);
      this.h1.set(key, p);
    }
    return p;
  }

  h2Client(cfg: EndpointConfig): H2Client {
    const key = endpointKey(cfg, "h2");
    let c = this.h2.get(key);
    if (!c || c.closed) {
      c = new H2Client(cfg);
      this.h2.set(key, c);
    }
    return c;
  }

  /** Closes every pool whose key is not in `keep` (keys from endpointKey). */
  retain(keep: ReadonlySet<string>): void {
    for (const [k, p] of this.h1) {
      if (!keep.has(k)) {
        p.close();
        this.h1.delete(k);
      }
    }
    for (const [k, c] of this.h2) {
      if (!keep.has(k)) {
        c.close();
        this.h2.delete(k);
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.retain(new Set());
  }
}
