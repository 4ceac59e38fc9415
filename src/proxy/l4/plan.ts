/**
 * Apply-time build of an L4 port's config from the snapshot: which route a
 * TCP/UDP listener serves, and the server-name table of a TLS port. Throws
 * (the snapshot is refused) when a terminating listener's certificates are
 * missing or unusable.
 */
import type { Listener, Route, SecretEntry } from "../../snapshot/types.ts";
import type { ClusterRuntime } from "../core/cluster.ts";
import { CertStore } from "../listen/tls_store.ts";
import {
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_MAX_UDP_SESSIONS,
  DEFAULT_TCP_IDLE_MS,
  DEFAULT_UDP_IDLE_MS,
  type L4Config,
  type L4Route,
  SniTable,
  type SniTarget,
} from "./config.ts";

export interface L4PlanInput {
  readonly kind: "tcp" | "tls" | "udp";
  /** Every listener on the port (HTTPS ones too, on a TLS port). */
  readonly listeners: readonly Listener[];
  readonly routes: readonly Route[];
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly secrets: ReadonlyMap<string, SecretEntry>;
  readonly version: string;
  readonly accessLog: boolean;
}

/** True for a listener served by the L4 data plane on a TLS port. */
export function isTlsL4(l: Listener): boolean {
  return l.protocol === "TLS" || (l.protocol === "HTTPS" && l.tls?.mode === "Passthrough");
}

/**
 * Routes of `l` in precedence order: the oldest route first (orderKey =
 * creation time, then namespace/name), then rule order. Several TCPRoutes on
 * one listener are implementation-specific in Gateway API: the first wins.
 */
function routesOf(l: Listener, routes: readonly Route[], protos: readonly string[]): Route[] {
  return routes
    .filter((r) =>
      protos.includes(r.l4Protocol) && (r.listeners.length === 0 || r.listeners.includes(l.name))
    )
    .sort((a, b) =>
      a.orderKey < b.orderKey
        ? -1
        : a.orderKey > b.orderKey
        ? 1
        : a.name < b.name
        ? -1
        : a.name > b.name
        ? 1
        : 0
    );
}

function l4Route(r: Route, l: Listener): L4Route {
  return { name: r.name, backends: r.backends, listener: l };
}

function certsOf(l: Listener, secrets: ReadonlyMap<string, SecretEntry>): CertStore {
  const entries: SecretEntry[] = [];
  for (const name of l.tls?.certificates ?? []) {
    const s = secrets.get(name);
    if (!s) {
      throw new Error(
        `listener ${l.name}: certificate secret "${name}" is missing from the snapshot`,
      );
    }
    entries.push(s);
  }
  if (entries.length === 0) {
    throw new Error(
      `TLS listener ${l.name} terminates TLS but has no certificate: add tls.certificateRefs`,
    );
  }
  try {
    // The listener's client validation goes in too: its CA bundle is checked now
    // (an unusable one refuses the snapshot, as for HTTPS listeners).
    const v = l.tls?.clientValidation;
    return new CertStore(entries, l.tls?.minVersion ?? "", [
      { hostnames: l.hostnames, ...(v ? { validation: v } : {}) },
    ]);
  } catch (e) {
    throw new Error(`listener ${l.name}: ${(e as Error).message}`);
  }
}

/** A terminate target: the listener's certificates and its client validation (if any). */
function terminateTarget(route: L4Route, certs: CertStore, l: Listener): SniTarget {
  const v = l.tls?.clientValidation;
  return v
    ? { kind: "terminate", route, certs, validation: v }
    : { kind: "terminate", route, certs };
}

export function planL4(p: L4PlanInput): L4Config {
  const ls = p.listeners;
  const lim = ls.find((l) => l.limits)?.limits;
  const base = {
    label: ls.map((l) => l.name).join(","),
    version: p.version,
    clusters: p.clusters,
    accessLog: p.accessLog,
    idleTimeoutMs: lim?.idleTimeoutMs ||
      (p.kind === "udp" ? DEFAULT_UDP_IDLE_MS : DEFAULT_TCP_IDLE_MS),
    helloTimeoutMs: lim?.headerTimeoutMs || DEFAULT_HELLO_TIMEOUT_MS,
    maxSessions: DEFAULT_MAX_UDP_SESSIONS,
  };
  if (p.kind !== "tls") {
    const proto = p.kind === "udp" ? "UDP" : "TCP";
    for (const l of ls) {
      const first = routesOf(l, p.routes, [proto])[0];
      if (first) return { ...base, route: l4Route(first, l), sni: null };
    }
    return { ...base, route: null, sni: null };
  }
  // TLS port: listeners by hostname, then each TLS listener's routes by theirs.
  const sni = new SniTable();
  for (const l of ls) {
    const tlsL4 = isTlsL4(l);
    sni.addListener(l, !tlsL4);
    if (!tlsL4) continue;
    const passthrough = l.tls?.mode === "Passthrough";
    const certs = passthrough ? null : certsOf(l, p.secrets);
    // A terminating TLS listener carries TLSRoutes and (older Gateway API) TCPRoutes.
    for (const r of routesOf(l, p.routes, passthrough ? ["TLS"] : ["TLS", "TCP"])) {
      const route = l4Route(r, l);
      sni.addRoute(
        l,
        r.hostnames,
        certs ? terminateTarget(route, certs, l) : { kind: "passthrough", route },
      );
    }
  }
  return { ...base, route: null, sni };
}
