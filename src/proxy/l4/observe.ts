/**
 * L4 metrics and the one access-log line per connection (TCP/TLS) or session
 * (UDP). Labels are listener and route names only, so cardinality follows
 * configuration, not traffic.
 */
import client from "prom-client";
import { registry } from "../../observe/metrics.ts";
import { accessLogEnabled, writeAccessLog } from "../core/access_log.ts";

export const l4Connections = new client.Counter({
  name: "novaedge_l4_connections_total",
  help:
    'L4 connections (UDP: sessions) by listener and route ("" when none matched), counted when they end.',
  labelNames: ["listener", "route"] as const,
  registers: [registry],
});

export const l4Active = new client.Gauge({
  name: "novaedge_l4_active_connections",
  help: "L4 connections (UDP: sessions) open now, by listener.",
  labelNames: ["listener"] as const,
  registers: [registry],
});

export const l4Bytes = new client.Counter({
  name: "novaedge_l4_bytes_total",
  help: "L4 bytes proxied, by listener, route and direction (in = client to upstream).",
  labelNames: ["listener", "route", "direction"] as const,
  registers: [registry],
});

export type RefusalCause =
  | "no_route"
  | "no_endpoint"
  | "connect_failed"
  | "bad_client_hello"
  | "tls_handshake"
  /** AllowValidOnly: no client certificate, or one the listener's CA bundle does not verify. */
  | "client_certificate"
  | "session_limit";

export const l4Refused = new client.Counter({
  name: "novaedge_l4_refused_total",
  help: "L4 connections closed without reaching a backend, by listener and cause.",
  labelNames: ["listener", "cause"] as const,
  registers: [registry],
});

/** What one connection did, filled as it goes and logged at its end. */
export class ConnRecord {
  readonly start = performance.now();
  route: string | null = null;
  cluster: string | null = null;
  upstream: string | null = null;
  sni: string | null = null;
  mode: string;
  bytesIn = 0;
  bytesOut = 0;
  tries = 0;
  reason: string | null = null;
  /** TLS terminate with client validation: "valid", or why the certificate was not. */
  clientCert: string | null = null;
  private done = false;

  constructor(
    readonly proto: "tcp" | "tls" | "udp",
    readonly listener: string,
    readonly client: string,
    private accessLog: boolean,
  ) {
    this.mode = proto;
    l4Active.inc({ listener });
  }

  /** A refusal: counted by cause, the reason goes to the log line. */
  refuse(cause: RefusalCause, reason: string): void {
    this.reason = reason;
    l4Refused.inc({ listener: this.listener, cause });
  }

  /** Ends the record: gauges, counters and the access-log line (once). */
  finish(): void {
    if (this.done) return;
    this.done = true;
    l4Active.dec({ listener: this.listener });
    const route = this.route ?? "";
    l4Connections.inc({ listener: this.listener, route });
    if (this.bytesIn) {
      l4Bytes.inc({ listener: this.listener, route, direction: "in" }, this.bytesIn);
    }
    if (this.bytesOut) {
      l4Bytes.inc({ listener: this.listener, route, direction: "out" }, this.bytesOut);
    }
    if (!this.accessLog || !accessLogEnabled()) return;
    writeAccessLog({
      msg: this.proto === "udp" ? "session" : "connection",
      proto: this.mode,
      client: this.client,
      listener: this.listener,
      sni: this.sni,
      route: this.route,
      cluster: this.cluster,
      upstream: this.upstream,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: Math.round(performance.now() - this.start),
      tries: this.tries,
      reason: this.reason,
      ...(this.clientCert !== null ? { clientCert: this.clientCert } : {}),
    });
  }
}
