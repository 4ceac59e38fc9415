/**
 * What an L4 port serves for one snapshot: the TCP/UDP route in force, or for
 * a TLS port the table that maps a ClientHello's server name to a target
 * (passthrough splice, terminate then splice, or the HTTPS engine). Built at
 * apply time (plan.ts) and swapped like the HTTP SocketConfig.
 */
import type { ClientValidation, Listener, WeightedCluster } from "../../snapshot/types.ts";
import type { ClusterRuntime } from "../core/cluster.ts";
import type { CertStore } from "../listen/tls_store.ts";
import { HostTable } from "../router/host_table.ts";

// Re-exported: the L4 SNI lookup and the HTTP listener choice share one ranking.
export { HostTable };

/** An L4 route as served on one port. */
export interface L4Route {
  /** Snapshot route name ("<ns>/<route>/<rule>"). */
  readonly name: string;
  readonly backends: readonly WeightedCluster[];
  /** The listener (of this port) it attached to. */
  readonly listener: Listener;
}

export type SniTarget =
  /** Splice the encrypted bytes to the route's backend. */
  | { readonly kind: "passthrough"; readonly route: L4Route }
  /**
   * Terminate TLS with the listener's certificates, splice plain bytes to the
   * backend; `validation`: the listener's frontend client-certificate check.
   */
  | {
    readonly kind: "terminate";
    readonly route: L4Route;
    readonly certs: CertStore;
    readonly validation?: ClientValidation;
  }
  /** An HTTPS listener claims the name: the HTTP engine serves it. */
  | { readonly kind: "https"; readonly listener: Listener };

interface PortListener {
  readonly listener: Listener;
  /** An HTTPS listener: its names go to the HTTP engine. */
  readonly https: boolean;
  readonly routes: HostTable<SniTarget>;
}

/**
 * Server name → target on a TLS port, in Gateway API order: the listener
 * whose hostname matches best (exact, most specific wildcard, hostless),
 * then among that listener's routes the best-matching route hostname.
 */
export class SniTable {
  private listeners = new HostTable<PortListener>();
  private byName = new Map<string, PortListener>();

  /** Registers a listener of the port (in precedence order). */
  addListener(l: Listener, https: boolean): void {
    const e: PortListener = { listener: l, https, routes: new HostTable() };
    this.byName.set(l.name, e);
    this.listeners.add(l.hostnames, e);
  }

  /** Registers a route target of listener `l` for `hostnames` ([] = the listener's names). */
  addRoute(l: Listener, hostnames: readonly string[], target: SniTarget): void {
    this.byName.get(l.name)?.routes.add(hostnames, target);
  }

  /** The target for a server name ("" = the client sent none), or null. */
  lookup(sni: string): SniTarget | null {
    const e = this.listeners.lookup(sni);
    if (e === null) return null;
    if (e.https) return { kind: "https", listener: e.listener };
    return e.routes.lookup(sni);
  }
}

export interface L4Config {
  /** Listener names on this port, comma-separated (metrics and logs). */
  readonly label: string;
  readonly version: string;
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly accessLog: boolean;
  /** Close a connection (or UDP session) after this long without a byte. */
  readonly idleTimeoutMs: number;
  /** How long a TLS client may take to send its whole ClientHello. */
  readonly helloTimeoutMs: number;
  /** TCP and UDP ports: the route in force (the oldest attached), or null. */
  readonly route: L4Route | null;
  /** TLS ports: server name → target. */
  readonly sni: SniTable | null;
  /** UDP: most concurrent client sessions. */
  readonly maxSessions: number;
}

/** TCP connections: idle timeout when the listener sets none (Envoy's TCP proxy uses 1 h too). */
export const DEFAULT_TCP_IDLE_MS = 60 * 60 * 1000;
/** UDP sessions: idle expiry when the listener sets none. */
export const DEFAULT_UDP_IDLE_MS = 60_000;
export const DEFAULT_HELLO_TIMEOUT_MS = 10_000;
/** ~45 KiB RSS per session in measurement (socket + pending receive): 4096 ≈ 180 MiB at most. */
export const DEFAULT_MAX_UDP_SESSIONS = 4096;
