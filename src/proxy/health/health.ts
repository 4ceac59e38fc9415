/**
 * Endpoint health for the data plane: active checks (ProxyBackend
 * healthCheck: HTTP GET, or a TCP connect for HTTP/2 clusters) and passive
 * outlier detection (consecutive 5xx / connect failures eject an endpoint for
 * baseEjectionMs × ejections, within maxEjectionPercent). State is kept per
 * cluster name across snapshots, so a config change never resurrects a failed
 * endpoint; each new balancer starts with the known-down keys.
 */
import type { Cluster, Endpoint, HealthCheck } from "../../snapshot/types.ts";
import type { EndpointConfig } from "../upstream/types.ts";
import { dialUpstream } from "../upstream/h1_pool.ts";
import { needsNodeTls } from "../upstream/tls_identity.ts";
import type { Transport } from "../io/transport.ts";
import type { Balancer } from "../lb/types.ts";
import type { Logger } from "../../observe/log.ts";

interface EndpointHealth {
  /** Failed active checks in a row / passed in a row. */
  fails: number;
  passes: number;
  activeDown: boolean;
  /** Passive: consecutive failures, ejections so far, ejected until (ms). */
  consecutive: number;
  ejections: number;
  ejectedUntil: number;
}

const DEFAULT_INTERVAL_MS = 5000;
const DEFAULT_TIMEOUT_MS = 1000;

/** Health of one cluster's endpoints; survives snapshots by cluster name. */
export class ClusterHealth {
  private eps = new Map<string, EndpointHealth>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private hcKey = "";
  private running = false;
  /** How the data plane reaches an endpoint (TLS with client certificate, SANs). */
  private endpointConfig: ((e: Endpoint) => EndpointConfig) | undefined;

  constructor(public cluster: Cluster, public balancer: Balancer, private log: Logger) {}

  private ep(key: string): EndpointHealth {
    let e = this.eps.get(key);
    if (!e) {
      e = { fails: 0, passes: 0, activeDown: false, consecutive: 0, ejections: 0, ejectedUntil: 0 };
      this.eps.set(key, e);
    }
    return e;
  }

  /** Keys currently out of rotation (for a new balancer). */
  downKeys(): string[] {
    const now = Date.now();
    return [...this.eps].filter(([, e]) => e.activeDown || e.ejectedUntil > now).map(([k]) => k);
  }

  private apply(key: string): void {
    const e = this.ep(key);
    this.balancer.setHealthy(key, !(e.activeDown || e.ejectedUntil > Date.now()));
  }

  /** Swaps in the snapshot's cluster and balancer; (re)starts active checks when their config changed. */
  update(
    cluster: Cluster,
    balancer: Balancer,
    endpointConfig?: (e: Endpoint) => EndpointConfig,
  ): void {
    this.cluster = cluster;
    this.endpointConfig = endpointConfig;
    this.balancer = balancer;
    const keys = new Set(cluster.endpoints.map((e) => `${e.address}:${e.port}`));
    for (const k of this.eps.keys()) if (!keys.has(k)) this.eps.delete(k);
    for (const k of this.eps.keys()) this.apply(k);
    const hc = cluster.healthCheck;
    const key = hc ? JSON.stringify(hc) : "";
    if (key !== this.hcKey) {
      this.stopTimer();
      this.hcKey = key;
      if (hc) this.startTimer(hc);
    }
  }

  private startTimer(hc: HealthCheck): void {
    const interval = hc.intervalMs > 0 ? hc.intervalMs : DEFAULT_INTERVAL_MS;
    this.timer = setInterval(() => void this.checkAll(), interval);
    Deno.unrefTimer(this.timer as unknown as number);
    void this.checkAll();
  }

  private stopTimer(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.stopTimer();
  }

  private async checkAll(): Promise<void> {
    const hc = this.cluster.healthCheck;
    if (!hc || this.running) return;
    this.running = true;
    try {
      await Promise.all(this.cluster.endpoints.map(async (ep) => {
        const key = `${ep.address}:${ep.port}`;
        const ok = await probe(
          this.cluster,
          ep.address,
          ep.port,
          hc,
          this.endpointConfig?.(ep),
        );
        const e = this.ep(key);
        if (ok) {
          e.passes++;
          e.fails = 0;
          if (e.activeDown && e.passes >= Math.max(1, hc.healthyThreshold)) {
            e.activeDown = false;
            this.log.info("endpoint healthy again", { cluster: this.cluster.name, endpoint: key });
            this.apply(key);
          }
        } else {
          e.fails++;
          e.passes = 0;
          if (!e.activeDown && e.fails >= Math.max(1, hc.unhealthyThreshold || 2)) {
            e.activeDown = true;
            this.log.warn("endpoint failed its health check", {
              cluster: this.cluster.name,
              endpoint: key,
            });
            this.apply(key);
          }
        }
      }));
    } finally {
      this.running = false;
    }
  }

  /** Passive outlier detection: the result of one proxied exchange. */
  observe(key: string, ok: boolean): void {
    const od = this.cluster.outlierDetection;
    if (!od || od.consecutive5xx <= 0) return;
    const e = this.ep(key);
    if (ok) {
      e.consecutive = 0;
      return;
    }
    if (++e.consecutive < od.consecutive5xx) return;
    const now = Date.now();
    if (e.ejectedUntil > now) return;
    const total = this.cluster.endpoints.length;
    const ejected = [...this.eps.values()].filter((x) => x.ejectedUntil > now).length;
    const maxPct = od.maxEjectionPercent > 0 ? od.maxEjectionPercent : 10;
    if (total > 0 && ((ejected + 1) * 100) / total > maxPct && ejected > 0) return;
    e.ejections++;
    e.consecutive = 0;
    const ms = (od.baseEjectionMs > 0 ? od.baseEjectionMs : 30_000) * e.ejections;
    e.ejectedUntil = now + ms;
    this.log.warn("endpoint ejected (outlier detection)", {
      cluster: this.cluster.name,
      endpoint: key,
      ms,
    });
    this.apply(key);
    const t = setTimeout(() => this.apply(key), ms + 5);
    Deno.unrefTimer(t as unknown as number);
  }
}

/** One active probe: HTTP GET for HTTP clusters, TCP connect for HTTP/2 ones. */
async function probe(
  c: Cluster,
  host: string,
  port: number,
  hc: HealthCheck,
  cfg?: EndpointConfig,
): Promise<boolean> {
  const timeout = hc.timeoutMs > 0 ? hc.timeoutMs : DEFAULT_TIMEOUT_MS;
  const signal = AbortSignal.timeout(timeout);
  let conn: Transport | null = null;
  try {
    const tcp = await Deno.connect({ hostname: host, port, signal });
    conn = tcp;
    if (c.protocol !== "HTTP" || hc.path === "") return true;
    let t: Transport = tcp;
    if (cfg?.tls && needsNodeTls(cfg.tls)) {
      // Client certificate / SAN check: dial as the proxy does.
      tcp.close();
      conn = null;
      t = await dialUpstream({ ...cfg, connectTimeoutMs: timeout });
      conn = t;
    } else if (c.tls) {
      t = await Deno.startTls(tcp, {
        hostname: c.tls.sni || host,
        caCerts: c.tls.caPem ? [c.tls.caPem] : undefined,
      });
      conn = t;
    }
    const hostHeader = c.hostRewrite ||
      (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
    await t.write(
      new TextEncoder().encode(
        `GET ${hc.path} HTTP/1.1\r\nhost: ${hostHeader}\r\nuser-agent: novaedge-health-check\r\nconnection: close\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(512);
    let got = "";
    const timer = setTimeout(() => {
      try {
        t.close();
      } catch {
        // closed
      }
    }, timeout);
    try {
      while (!got.includes("\r\n")) {
        const n = await t.read(buf);
        if (n === null) break;
        got += new TextDecoder().decode(buf.subarray(0, n));
        if (got.length > 256) break;
      }
    } finally {
      clearTimeout(timer);
    }
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
    if (!m) return false;
    const status = Number(m[1]);
    return hc.expectedStatuses.length
      ? hc.expectedStatuses.includes(status)
      : status >= 200 && status < 400;
  } catch {
    return false;
  } finally {
    try {
      conn?.close();
    } catch {
      // closed
    }
  }
}

/** Health of every cluster of one LocalDataPlane. */
export class HealthManager {
  private clusters = new Map<string, ClusterHealth>();

  constructor(private log: Logger) {}

  /** Keys of `cluster` known to be down (seed for its new balancer). */
  downKeys(cluster: string): string[] {
    return this.clusters.get(cluster)?.downKeys() ?? [];
  }

  /** After a swap: attach the new balancers, start/stop checks, forget removed clusters. */
  commit(
    clusters: ReadonlyMap<
      string,
      {
        cluster: Cluster;
        balancer: Balancer;
        health: ClusterHealth | null;
        endpointConfig?(e: Endpoint): EndpointConfig;
      }
    >,
  ): void {
    for (const [name, h] of this.clusters) {
      if (!clusters.has(name)) {
        h.stop();
        this.clusters.delete(name);
      }
    }
    for (const [name, cr] of clusters) {
      let h = this.clusters.get(name);
      if (!h) {
        h = new ClusterHealth(cr.cluster, cr.balancer, this.log);
        this.clusters.set(name, h);
      }
      h.update(cr.cluster, cr.balancer, cr.endpointConfig?.bind(cr));
      cr.health = h;
    }
  }

  close(): void {
    for (const h of this.clusters.values()) h.stop();
    this.clusters.clear();
  }
}
