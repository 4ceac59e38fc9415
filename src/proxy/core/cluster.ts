/**
 * A cluster as the data plane runs it for one snapshot: its balancer, how to
 * reach each endpoint, and the upstream client to use. Built at apply time.
 */
import type { Cluster, Endpoint, SecretEntry } from "../../snapshot/types.ts";
import type { Balancer } from "../lb/types.ts";
import type { Cancel } from "./types.ts";
import type { PoolRegistry } from "../upstream/registry.ts";
import type { ClusterHealth } from "../health/health.ts";
import { h1Exchange, type H1Pool, type PoolGate } from "../upstream/h1_pool.ts";
import {
  type EndpointConfig,
  endpointKey,
  type OutboundRequest,
  type UpstreamResponse,
} from "../upstream/types.ts";

export class ClusterRuntime implements PoolGate {
  /** "h1" for HTTP clusters, "h2" for H2C/GRPC (and TLS h2). */
  readonly kind: "h1" | "h2";
  private configs = new Map<string, EndpointConfig>();
  /** Pools by endpoint key, so the per-request path builds no pool key. */
  private h1Pools = new Map<string, H1Pool>();
  /** Retries in progress, for the retry budget. */
  activeRetries = 0;
  active = 0;
  /** Active checks + outlier detection; attached when the snapshot is swapped in. */
  health: ClusterHealth | null = null;
  /** Requests waiting for a pooled HTTP/1.1 connection (circuitBreaker.maxPendingRequests). */
  pending = 0;
  readonly maxPending: number;
  /** circuitBreaker.maxConnections: HTTP/1.1 connections of this thread's pools (0 = no cap). */
  readonly maxConns: number;
  /** This runtime as the pools' gate, or null when neither limit is set. */
  private gate: PoolGate | null;

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

  readonly name: string;

  /** HTTP/1.1 connections open in this cluster's pools (this thread). */
  openConnections(): number {
    let n = 0;
    for (const p of this.h1Pools.values()) n += p.size;
    return n;
  }

  /** Below maxConnections, or made so by closing an idle connection to another endpoint. */
  mayOpen(): boolean {
    if (this.maxConns <= 0 || this.openConnections() < this.maxConns) return true;
    for (const p of this.h1Pools.values()) if (p.dropIdle()) return true;
    return false;
  }

  openRefusal(): string {
    return `circuit breaker: connections: cluster "${this.name}" has ${this.openConnections()} ` +
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
      return this.registry.h2Client(cfg).exchange(req, cancel);
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
