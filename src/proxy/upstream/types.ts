/** Shapes shared by the upstream clients (HTTP/1.1 pool, HTTP/2 sessions). */
import type { Hdrs } from "../core/headers.ts";
import type { BodyReader } from "../core/types.ts";
import type { Transport } from "../io/transport.ts";
import type { BufReader } from "../io/reader.ts";

/** "overflow": a circuit-breaker limit refused the request before it was sent (503). */
export type UpstreamErrorKind =
  | "connect"
  | "reset"
  | "timeout"
  | "protocol"
  | "cancelled"
  | "overflow";

/** Why an upstream exchange failed, and whether retrying is safe. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    /** False when the upstream cannot have seen the request (safe to retry anything). */
    readonly maybeProcessed: boolean,
  ) {
    super(message);
  }
}

export interface UpstreamTls {
  /** Server name for SNI and verification. */
  readonly sni: string;
  readonly caCerts: readonly string[];
  readonly insecure: boolean;
  /** Client certificate and key presented to the upstream (mTLS), when set. */
  readonly clientCert?: { readonly cert: string; readonly key: string };
  /**
   * Names the upstream certificate must carry (any one; a name with "://" is a
   * URI SAN, else a DNS name) instead of the SNI name. Empty: the SNI name.
   */
  readonly subjectAltNames?: readonly string[];
}

/** How to reach one endpoint; also the pool key material. */
export interface EndpointConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: UpstreamTls | null;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** 0 = unlimited. */
  readonly maxConnections: number;
}

export interface OutboundRequest {
  readonly method: string;
  readonly target: string;
  /** Authority to send (Host / :authority). */
  readonly authority: string;
  readonly scheme: string;
  /** Already stripped of hop-by-hop fields. */
  readonly headers: Hdrs;
  readonly body: BodyReader | null;
  /** Upgrade header value to request ("websocket"), else null. */
  readonly upgrade: string | null;
  /** Names to send as HPACK "never indexed" to an HTTP/2 upstream (the client marked them). */
  readonly neverIndexed?: ReadonlySet<string> | null;
}

export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Hdrs;
  readonly body: BodyReader | null;
  /** HTTP/1.1 header lines fit to forward as they are (see ProxyResponse.rawHeaders). */
  readonly rawHeaders?: Uint8Array;
  /** Names an HTTP/2 upstream sent as HPACK "never indexed" (RFC 7541 §6.2.3), or null. */
  readonly neverIndexed?: ReadonlySet<string> | null;
  /** Set on 101 Switching Protocols: the raw upstream byte stream. */
  readonly upgraded?: { transport: Transport; reader: BufReader; release(): void };
}

/** FNV-1a over a string: a short, stable identity for CA bundles in pool keys. */
function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16);
}

/**
 * Key of an endpoint pool: address, port and TLS identity (SNI, CA,
 * verification, client certificate, SANs).
 */
export function endpointKey(e: EndpointConfig, proto: string): string {
  const t = e.tls;
  const tls = t
    ? `|tls:${t.sni}:${t.insecure ? 1 : 0}:${fnv(t.caCerts.join("\n"))}` +
      (t.clientCert ? `:cc${fnv(t.clientCert.cert)}` : "") +
      (t.subjectAltNames?.length ? `:san${fnv(t.subjectAltNames.join(","))}` : "")
    : "";
  return `${proto}|${e.host}:${e.port}${tls}`;
}

/**
 * A cluster's circuit-breaker limits as the upstream clients apply them
 * (core/cluster.ts; null without maxConnections / maxPendingRequests), with
 * Envoy's meaning: maxConnections bounds the connections dialled,
 * maxPendingRequests the requests queued for a connection (HTTP/1.1 pool) or
 * for one being set up or a free stream (HTTP/2); maxRequests is the proxy
 * core's. Counts are agent-wide (core/shared_breaker.ts): each check also
 * counts.
 */
export interface BreakerGate {
  /** One more request waiting, unless maxPendingRequests are: true when counted. */
  enterPending(): boolean;
  leavePending(): void;
  /** Why enterPending refused, for the 503. */
  pendingRefusal(): string;
  /** Counts one more connection unless at maxConnections (an HTTP/1.1 pool may close an idle one elsewhere). */
  mayOpen(): boolean;
  /** A connection counted by mayOpen closed (or failed to open). */
  closed(): void;
  /** Why mayOpen refused, for the 503. */
  openRefusal(): string;
}
