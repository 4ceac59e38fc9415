/**
 * What an L4 port serves for one snapshot: the TCP/UDP route in force, or for
 * a TLS port the table that maps a ClientHello's server name to a target
 * (passthrough splice, terminate then splice, or the HTTPS engine). Built at
 * apply time (plan.ts) and swapped like the HTTP SocketConfig.
 */
import type { Listener, WeightedCluster } from "../../snapshot/types.ts";
import type { ClusterRuntime } from "../core/cluster.ts";
import type { CertStore } from "../listen/tls_store.ts";

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
  /** Terminate TLS with the listener's certificates, splice plain bytes to the backend. */
  | { readonly kind: "terminate"; readonly route: L4Route; readonly certs: CertStore }
  /** An HTTPS listener claims the name: the HTTP engine serves it. */
  | { readonly kind: "https"; readonly listener: Listener };

/**
 * Server name → target: exact name first, then the most specific wildcard
 * ("*.example.com" covers one or more leading labels, as Gateway API says),
 * then the hostless entry. The first registration of a name wins (callers
 * register in precedence order).
 */
export class SniTable {
  private exact = new Map<string, SniTarget>();
  private wild: { suffix: string; target: SniTarget }[] = [];
  private any: SniTarget | null = null;

  /** Registers `target` for `hostnames` ([] = any name). */
  add(hostnames: readonly string[], target: SniTarget): void {
    if (hostnames.length === 0) {
      this.any ??= target;
      return;
    }
    for (const raw of hostnames) {
      const h = raw.toLowerCase();
      if (h === "*") this.any ??= target;
      else if (h.startsWith("*.")) {
        const suffix = h.slice(1);
        if (!this.wild.some((w) => w.suffix === suffix)) this.wild.push({ suffix, target });
      } else if (!this.exact.has(h)) this.exact.set(h, target);
    }
    this.wild.sort((a, b) => b.suffix.length - a.suffix.length);
  }

  /** The target for a server name ("" = the client sent none: only the hostless entry). */
  lookup(sni: string): SniTarget | null {
    if (sni !== "") {
      const e = this.exact.get(sni);
      if (e) return e;
      for (const w of this.wild) {
        if (sni.length > w.suffix.length && sni.endsWith(w.suffix)) return w.target;
      }
    }
    return this.any;
  }

  /** True when some name is served by something other than the HTTPS engine. */
  get hasL4(): boolean {
    const all = [...this.exact.values(), ...this.wild.map((w) => w.target)];
    if (this.any) all.push(this.any);
    return all.some((t) => t.kind !== "https");
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
export const DEFAULT_MAX_UDP_SESSIONS = 10_000;
