/**
 * A cluster as the data plane runs it for one snapshot: its balancer, how to
 * reach each endpoint, and the upstream client to use. Built at apply time.
 * Its circuit-breaker counts are not its own: they are kept by cluster name
 * for the whole agent (shared_breaker.ts), so they hold across snapshots
 * and worker threads.
 */
import type { Cluster, Endpoint, SecretEntry } from "../../snapshot/types.ts";
import type { Balancer } from "../lb/types.ts";
import type { Cancel } from "./types.ts";
import type { PoolRegistry } from "../upstream/registry.ts";
import type { ClusterHealth } from "../health/health.ts";
import { h1Exchange, type H1Pool, type PoolGate } from "../upstream/h1_pool.ts";
import type { StreamGate } from "../upstream/h2_client.ts";
import {
  type BreakerCounts,
  breakerCounts,
  CONNECTIONS,
  PENDING,
  REQUESTS,
  RETRIES,
} from "./shared_breaker.ts";
import {
  type EndpointConfig,
  endpointKey,
  type OutboundRequest,
  type UpstreamResponse,
} from "../upstream/types.ts";

export class ClusterRuntime implements PoolGate, StreamGate {
  /** "h1" for HTTP clusters, "h2" for H2C/GRPC (and TLS h2). */
  readonly kind: "h1" | "h2";
  readonly name: string;
  private configs = new Map<string, EndpointConfig>();
  /** Pools by endpoint key, so the per-request path builds no pool key. */
  private h1Pools = new Map<string, H1Pool>();
  /** Active checks + outlier detection; attached when the snapshot is swapped in. */
  health: ClusterHealth | null = null;
  /**
   * Requests in flight, requests waiting and connections open, by cluster
   * name for the whole agent: the runtimes of successive snapshots and of
   * every worker thread count in the same place.
   */
  readonly counts: BreakerCounts;
  /** circuitBreaker.maxRequests (0 = no cap). */
  readonly maxRequests: number;
  /** circuitBreaker.maxPendingRequests (0 = no cap). */
  readonly maxPending: number;
  /** circuitBreaker.maxConnections: upstream connections of the cluster (0 = no cap). */
  readonly maxConns: number;
  /** This runtime as the upstream clients' gate, or null when neither limit is set. */
  private gate: ClusterRuntime | null;

  constructor(
    readonly cluster: Cluster,
    readonly balancer: Balancer,
    private registry: PoolRegistry,
    /** Snapshot secrets by name: where an upstream client certificate comes from. */
    private secrets: ReadonlyMap<string, SecretEntry> = new Map(),
  ) {
    const cc = cluster.tls?.clientCert;
    if (cc && !secrets.has(cc)) {
      throw new Error(
        `cluster ${cluster.name}: client certificate secret "${cc}" is missing from the snapshot`,
      );
    }
    this.kind = cluster.protocol === "HTTP" ? "h1" : "h2";
    this.name = cluster.name;
    this.counts = breakerCounts(cluster.name);
    this.maxRequests = cluster.circuitBreaker?.maxRequests ?? 0;
    this.maxPending = cluster.circuitBreaker?.maxPendingRequests ?? 0;
    this.maxConns = cluster.circuitBreaker?.maxConnections ?? 0;
    this.gate = this.maxPending > 0 || this.maxConns > 0 ? this : null;
    for (const e of cluster.endpoints) {
      this.configs.set(`${e.address}:${e.port}`, this.endpointConfig(e));
    }
  }

  endpointConfig(e: Endpoint): EndpointConfig {
    const c = this.cluster;
    const t = c.tls;
    return {
      host: e.address,
      port: e.port,
      tls: t
        ? {
          sni: t.sni || (c.hostRewrite ? c.hostRewrite.replace(/:\d+$/, "") : ""),
          caCerts: t.caPem ? [t.caPem] : [],
          insecure: t.insecureSkipVerify,
          ...clientCertOf(t.clientCert, this.secrets),
          ...(t.subjectAltNames?.length ? { subjectAltNames: t.subjectAltNames } : {}),
        }
        : null,
      connectTimeoutMs: c.connectTimeoutMs,
      idleTimeoutMs: c.idleTimeoutMs,
      maxConnections: c.maxConnectionsPerEndpoint,
    };
  }

  /** Retries in progress (the retry budget, maxRetries), all worker threads. */
  get activeRetries(): number {
    return this.counts.count(RETRIES);
  }

  /** A retry try started (counted until retryEnded). */
  retryStarted(): void {
    this.counts.tryEnter(RETRIES, 0);
  }

  retryEnded(): void {
    this.counts.leave(RETRIES);
  }

  /** Requests in flight to the cluster, all worker threads. */
  get active(): number {
    return this.counts.count(REQUESTS);
  }

  /** Requests waiting for an upstream connection or stream, all worker threads. */
  get pending(): number {
    return this.counts.count(PENDING);
  }

  /** Upstream connections counted against maxConnections, all worker threads. */
  get connections(): number {
    return this.counts.count(CONNECTIONS);
  }

  /**
   * One more request in flight unless maxRequests are (all threads): true
   * when counted — leaveRequest() exactly once when that try ends.
   */
  enterRequest(): boolean {
    return this.counts.tryEnter(REQUESTS, this.maxRequests);
  }

  /** A try counted by enterRequest ended (answered, failed, cancelled or retried). */
  leaveRequest(): void {
    this.counts.leave(REQUESTS);
  }

  /** Why enterRequest refused, for the 503. */
  requestRefusal(): string {
    return `circuit breaker open: requests: cluster "${this.name}" has ${this.active} ` +
      `requests in flight (maxRequests ${this.maxRequests})`;
  }

  /** One more request waiting for a connection or stream, unless maxPendingRequests are. */
  enterPending(): boolean {
    return this.counts.tryEnter(PENDING, this.maxPending);
  }

  /** A request counted by enterPending stopped waiting. */
  leavePending(): void {
    this.counts.leave(PENDING);
  }

  /** Why enterPending refused, for the 503. */
  pendingRefusal(): string {
    return `circuit breaker: pending requests: cluster "${this.name}" already has ${this.pending} ` +
      `requests waiting for a connection (maxPendingRequests ${this.maxPending})`;
  }

  /** HTTP/1.1 connections open in this cluster's pools (this thread). */
  openConnections(): number {
    let n = 0;
    for (const p of this.h1Pools.values()) n += p.size;
    return n;
  }

  /**
   * Counts one more upstream connection unless maxConnections are open (all
   * threads), after closing idle HTTP/1.1 connections of this thread to
   * other endpoints if that makes room. True when counted: closed() when
   * that connection closes or fails to open.
   */
  mayOpen(): boolean {
    const counts = this.counts;
    const max = this.maxConns;
    if (counts.tryEnter(CONNECTIONS, max)) return true;
    for (const p of this.h1Pools.values()) {
      // A dropped idle connection gives its count back (closed()).
      while (p.dropIdle()) if (counts.tryEnter(CONNECTIONS, max)) return true;
    }
    return false;
  }

  /** A connection counted by mayOpen closed, or was never opened. */
  closed(): void {
    this.counts.leave(CONNECTIONS);
  }

  /** Why mayOpen refused, for the 503. */
  openRefusal(): string {
    return `circuit breaker: connections: cluster "${this.name}" has ${this.connections} ` +
      `upstream connections in use (maxConnections ${this.maxConns}), none to this endpoint`;
  }

  /** Pool keys this cluster uses (so the registry keeps them warm). */
  poolKeys(): string[] {
    const out: string[] = [];
    for (const cfg of this.configs.values()) {
      out.push(endpointKey(cfg, this.kind));
      out.push(endpointKey(cfg, "h1")); // upgrades always use HTTP/1.1
    }
    return out;
  }

  /** Runs one exchange with the endpoint `key` ("address:port"). */
  exchange(
    e: Endpoint,
    key: string,
    req: OutboundRequest,
    cancel: Cancel,
  ): Promise<UpstreamResponse> {
    let cfg = this.configs.get(key);
    if (!cfg) {
      cfg = this.endpointConfig(e);
      this.configs.set(key, cfg);
    }
    if (this.kind === "h2" && req.upgrade === null) {
      return this.registry.h2Client(cfg).exchange(req, cancel, this.gate);
    }
    let pool = this.h1Pools.get(key);
    if (pool === undefined || pool.closed) {
      pool = this.registry.h1Pool(cfg);
      this.h1Pools.set(key, pool);
    }
    return h1Exchange(pool, req, cancel, this.gate);
  }
}

function clientCertOf(
  name: string,
  secrets: ReadonlyMap<string, SecretEntry>,
): { clientCert?: { cert: string; key: string } } {
  const s = name ? secrets.get(name) : undefined;
  return s ? { clientCert: { cert: s.certPem, key: s.keyPem } } : {};
}
