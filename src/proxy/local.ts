/**
 * The data plane of one thread: its listeners, routers, balancers and
 * upstream pools. `DataPlane` (mod.ts) runs one of these in-process or one
 * per worker thread.
 */
import { compilePolicies, type PolicySet } from "./policy/mod.ts";
import type { Cluster, Listener, SecretEntry, Snapshot } from "../snapshot/types.ts";
import { type Logger, logger } from "../observe/log.ts";
import { compileListenerRouter } from "./router/mod.ts";
import type { Balancer } from "./lb/types.ts";
import { createBalancer } from "./lb/mod.ts";
import { ClusterRuntime } from "./core/cluster.ts";
import { DEFAULT_LIMITS, type ResolvedLimits, type SocketConfig } from "./core/proxy.ts";
import { PoolRegistry } from "./upstream/registry.ts";
import { ListenerSocket, type SocketKind } from "./listen/socket.ts";
import type { L4Config } from "./l4/config.ts";
import { isTlsL4, planL4 } from "./l4/plan.ts";
import { UdpSocket } from "./l4/udp.ts";
import { CertStore } from "./listen/tls_store.ts";
import { HealthManager } from "./health/health.ts";
import { flushAccessLog } from "./core/access_log.ts";

export interface LocalOptions {
  readonly log?: Logger;
  /** One access-log line per request (default true). */
  readonly accessLog?: boolean;
  /** Bind listeners with SO_REUSEPORT (needs --unstable-net); default false. */
  readonly reusePort?: boolean;
  /** Balancer factory; defaults to the shared lb library when available. */
  readonly balancerFactory?: (c: Cluster) => Balancer;
  /**
   * Serve UDP listeners (default true). With workers only the first one does:
   * a client's datagrams must all reach the one thread holding its session.
   */
  readonly udp?: boolean;
}

/** A listener as bound: the key, its name(s) and the port actually in use. */
export interface BoundListener {
  readonly key: string;
  readonly names: readonly string[];
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
  /** What the socket serves: http, https, tcp, tls (SNI dispatch) or udp. */
  readonly kind: SocketKind | "udp";
}

interface SocketPlan {
  key: string;
  address: string;
  port: number;
  kind: SocketKind | "udp";
  listeners: Listener[];
  config: SocketConfig;
  certs: CertStore | null;
  alpn: readonly string[];
  /** TCP, TLS and UDP ports. */
  l4: L4Config | null;
}

/**
 * What a group of listeners sharing address:port (one transport) is served
 * as, or why they cannot share it. HTTPS and TLS listeners share a port by
 * server name; anything else needs one protocol per port.
 */
function socketKind(key: string, ls: readonly Listener[]): SocketKind | "udp" {
  const protos = new Set(ls.map((l) => (isTlsL4(l) ? "TLS" : l.protocol)));
  if (protos.size === 1) {
    const p = [...protos][0];
    return p === "HTTP"
      ? "http"
      : p === "HTTPS"
      ? "https"
      : p === "TCP"
      ? "tcp"
      : p === "UDP"
      ? "udp"
      : "tls";
  }
  if (protos.size === 2 && protos.has("HTTPS") && protos.has("TLS")) return "tls";
  throw new Error(
    `listeners ${
      ls.map((l) => `${l.name} (${l.protocol})`).join(", ")
    } share ${key} with protocols that cannot share a port: only HTTPS and TLS listeners may (routed by server name); give each a port of its own`,
  );
}

/** Every socket kind: the HTTP/TCP/TLS ListenerSocket, or a UDP socket. */
type AnySocket = ListenerSocket | UdpSocket;

function resolveLimits(ls: readonly Listener[]): ResolvedLimits {
  const l = ls.find((x) => x.limits)?.limits;
  if (!l) return DEFAULT_LIMITS;
  return {
    maxHeaderBytes: l.maxHeaderBytes || DEFAULT_LIMITS.maxHeaderBytes,
    maxHeaders: l.maxHeaders || DEFAULT_LIMITS.maxHeaders,
    maxBodyBytes: l.maxBodyBytes || DEFAULT_LIMITS.maxBodyBytes,
    headerTimeoutMs: l.headerTimeoutMs || DEFAULT_LIMITS.headerTimeoutMs,
    idleTimeoutMs: l.idleTimeoutMs || DEFAULT_LIMITS.idleTimeoutMs,
    maxConcurrentStreams: l.maxConcurrentStreams || DEFAULT_LIMITS.maxConcurrentStreams,
  };
}

/** Single-threaded data plane. */
export class LocalDataPlane {
  private log: Logger;
  private sockets = new Map<string, AnySocket>();
  private registry = new PoolRegistry();
  private health: HealthManager;
  private version: string | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Compiled ProxyPolicies of the active snapshot (rate-limit state carries over). */
  private policies: PolicySet | null = null;
  private opts: LocalOptions;

  constructor(opts: LocalOptions = {}) {
    this.opts = opts;
    this.log = opts.log ?? logger("dataplane");
    this.health = new HealthManager(this.log);
  }

  /** Version of the snapshot in force, or null before the first apply. */
  get activeVersion(): string | null {
    return this.version;
  }

  /** Listeners currently bound (ports resolved when 0 was asked). */
  listeners(): BoundListener[] {
    return [...this.sockets.values()].map((s) => ({
      key: s.key,
      names: (s instanceof UdpSocket ? s.l4.label : s.current.label).split(","),
      address: s.address,
      port: s.boundPort,
      tls: s.isTls,
      kind: s.kind,
    }));
  }

  /**
   * Builds the snapshot's listeners, routers and pools off to the side, binds
   * new ports, then swaps. Throws with the reason when anything cannot be
   * built or bound; the previous config keeps serving untouched.
   */
  apply(snapshot: Snapshot): Promise<void> {
    const run = this.chain.then(() => this.applyNow(snapshot));
    this.chain = run.catch(() => {});
    return run;
  }

  private async applyNow(snap: Snapshot): Promise<void> {
    if (this.closed) throw new Error("data plane is closed");
    try {
      const plans = this.plan(snap);
      // Bind new sockets first: a port we cannot bind rejects the snapshot.
      const fresh: AnySocket[] = [];
      const replaced: AnySocket[] = [];
      try {
        for (const p of plans.values()) {
          const existing = this.sockets.get(p.key);
          if (existing && existing.kind === p.kind) continue;
          if (existing) {
            // Protocol changed on the same port: the old socket must go first.
            await existing.stopAccepting();
            replaced.push(existing);
          }
          const s = p.kind === "udp"
            ? new UdpSocket(p.key, p.address, p.port, p.l4!, this.log)
            : new ListenerSocket(
              p.key,
              p.address,
              p.port,
              p.kind,
              p.config,
              p.certs,
              p.alpn,
              this.log,
              this.opts.reusePort ?? false,
              p.l4,
            );
          await s.start();
          fresh.push(s);
        }
      } catch (e) {
        for (const s of fresh) await s.stopAccepting();
        for (const s of replaced) {
          // Put the old socket back; it kept its config.
          try {
            await s.start();
          } catch {
            this.sockets.delete(s.key);
          }
        }
        throw e;
      }
      // Swap.
      for (const s of fresh) {
        const old = this.sockets.get(s.key);
        this.sockets.set(s.key, s);
        if (old) void old.drain(30_000);
      }
      for (const [key, s] of this.sockets) {
        const p = plans.get(key);
        if (!p) {
          this.sockets.delete(key);
          void s.drain(30_000).then(() => this.log.info("listener removed", { listener: key }));
          continue;
        }
        if (s instanceof UdpSocket) {
          s.l4 = p.l4!;
          continue;
        }
        s.current = p.config;
        s.certs = p.certs;
        s.l4 = p.l4;
      }
      // Health state follows the new balancers (known-down endpoints stay out).
      const anyPlan = plans.values().next().value;
      if (anyPlan) this.health.commit(anyPlan.config.clusters);
      // Keep warm pools for endpoints still in use, close the rest gracefully.
      const keep = new Set<string>();
      for (const p of plans.values()) {
        for (const cr of p.config.clusters.values()) for (const k of cr.poolKeys()) keep.add(k);
      }
      this.registry.retain(keep);
      this.version = snap.version;
      this.policies = [...plans.values()][0]?.config.policies ?? null;
      this.log.info("snapshot applied", {
        version: snap.version,
        listeners: [...this.sockets.keys()],
        routes: snap.routes.length,
        clusters: snap.clusters.length,
      });
    } catch (e) {
      throw e;
    }
  }

  /** Pure-ish build step: everything the snapshot needs, nothing bound yet. */
  private plan(snap: Snapshot): Map<string, SocketPlan> {
    const factory = this.opts.balancerFactory ??
      ((c: Cluster) => createBalancer(c, { unhealthy: this.health.downKeys(c.name) }));
    const secrets = new Map<string, SecretEntry>(snap.secrets.map((s) => [s.name, s]));
    const clusters = new Map<string, ClusterRuntime>();
    for (const c of snap.clusters) {
      clusters.set(c.name, new ClusterRuntime(c, factory(c), this.registry, secrets));
    }
    const groups = new Map<string, Listener[]>();
    const serveUdp = this.opts.udp ?? true;
    for (const l of snap.listeners) {
      if (l.protocol === "UDP" && !serveUdp) continue;
      // One socket per address:port and transport (UDP ports are a separate space).
      const key = `${l.protocol === "UDP" ? "udp:" : ""}${l.address || "0.0.0.0"}:${l.port}`;
      const g = groups.get(key);
      if (g) g.push(l);
      else groups.set(key, [l]);
    }
    const policies = compilePolicies(snap.policies, { previous: this.policies });
    for (const p of policies.problems) this.log.warn("policy problem", { problem: p });
    const plans = new Map<string, SocketPlan>();
    for (const [key, ls] of groups) {
      const kind = socketKind(key, ls);
      const names = new Set(ls.map((l) => l.name));
      // One router per listener, chosen by the request's host (listener isolation).
      const router = compileListenerRouter(ls, snap.routes);
      let certs: CertStore | null = null;
      let alpn: readonly string[] = [];
      // HTTPS listeners (alone, or next to TLS listeners on a "tls" port) terminate for the HTTP engine.
      const https = ls.filter((l) => l.protocol === "HTTPS" && !isTlsL4(l));
      if (https.length) {
        const entries: SecretEntry[] = [];
        for (const l of https) {
          for (const name of l.tls?.certificates ?? []) {
            const s = secrets.get(name);
            if (!s) {
              throw new Error(
                `listener ${l.name}: certificate secret "${name}" is missing from the snapshot`,
              );
            }
            if (!entries.includes(s)) entries.push(s);
          }
        }
        if (entries.length === 0) {
          throw new Error(`HTTPS listener ${https[0].name} has no certificate`);
        }
        certs = new CertStore(
          entries,
          https[0].tls?.minVersion ?? "",
          https.map((l) => ({ hostnames: l.hostnames, validation: l.tls?.clientValidation })),
        );
        alpn = https[0].tls?.alpn ?? [];
      }
      const l4 = kind === "tcp" || kind === "tls" || kind === "udp"
        ? planL4({
          kind,
          listeners: ls,
          routes: snap.routes,
          clusters,
          secrets,
          version: snap.version,
          accessLog: this.opts.accessLog ?? true,
        })
        : null;
      plans.set(key, {
        key,
        address: ls[0].address || "0.0.0.0",
        port: ls[0].port,
        kind,
        listeners: ls,
        certs,
        alpn,
        l4,
        config: {
          label: [...names].join(","),
          port: ls[0].port,
          router,
          limits: resolveLimits(ls),
          clusters,
          version: snap.version,
          accessLog: this.opts.accessLog ?? true,
          policies,
        },
      });
    }
    return plans;
  }

  /** SIGTERM: stop accepting, finish in-flight work up to `deadlineMs`, then close what is left. */
  async drain(deadlineMs: number): Promise<void> {
    await this.chain;
    await Promise.all([...this.sockets.values()].map((s) => s.drain(deadlineMs)));
    flushAccessLog();
  }

  /** Closes every listener, connection and pool. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    for (const s of this.sockets.values()) {
      await s.stopAccepting();
      s.conns.closeAll();
    }
    this.sockets.clear();
    this.registry.close();
    this.health.close();
    flushAccessLog();
  }
}
