/**
 * Upstream side of an L4 connection: a weighted cluster of the route, an
 * endpoint from its balancer (hash policies hash the client address), a TCP
 * connect bounded by the cluster's connect timeout; a failed connect moves
 * to another endpoint (up to MAX_TRIES endpoints).
 */
import type { ClusterRuntime } from "../core/cluster.ts";
import { chooseBackend } from "../core/proxy.ts";
import type { PickContext } from "../lb/types.ts";
import type { L4Route } from "./config.ts";

const MAX_TRIES = 3;
const DEFAULT_CONNECT_MS = 5000;

export interface Upstream {
  readonly conn: Deno.TcpConn;
  readonly cluster: ClusterRuntime;
  /** "address:port" of the endpoint. */
  readonly key: string;
}

export type DialResult =
  | { readonly ok: true; readonly up: Upstream; readonly tries: number }
  | {
    readonly ok: false;
    readonly reason: string;
    readonly cluster: string | null;
    readonly upstream: string | null;
    readonly tries: number;
  };

/** Connects to an endpoint of `route` for a client at `clientIp`. */
export async function dialRoute(
  route: L4Route,
  clusters: ReadonlyMap<string, ClusterRuntime>,
  clientIp: string,
): Promise<DialResult> {
  const wc = chooseBackend(route.backends);
  if (wc === null) {
    return {
      ok: false,
      reason: `route ${route.name} has no backend`,
      cluster: null,
      upstream: null,
      tries: 0,
    };
  }
  const cr = clusters.get(wc.cluster);
  if (!cr) {
    return {
      ok: false,
      reason:
        `backend "${wc.cluster}" of route ${route.name} is not a usable cluster (see the route's ResolvedRefs status)`,
      cluster: wc.cluster,
      upstream: null,
      tries: 0,
    };
  }
  const ctx: PickContext = { sourceIp: clientIp, header: () => null, cookie: () => null };
  const timeout = cr.cluster.connectTimeoutMs > 0
    ? cr.cluster.connectTimeoutMs
    : DEFAULT_CONNECT_MS;
  const tried = new Set<string>();
  let last = "";
  let lastKey: string | null = null;
  for (let i = 0; i < MAX_TRIES; i++) {
    const pick = cr.balancer.pick(ctx, tried);
    if (pick === null) break;
    if (tried.has(pick.key)) break; // a balancer that ignores `exclude` has nothing else to offer
    tried.add(pick.key);
    lastKey = pick.key;
    try {
      const conn = await Deno.connect({
        hostname: pick.endpoint.address,
        port: pick.endpoint.port,
        signal: AbortSignal.timeout(timeout),
      });
      conn.setNoDelay(true); // interactive protocols (databases) must not wait on Nagle
      cr.health?.observe(pick.key, true);
      return { ok: true, up: { conn, cluster: cr, key: pick.key }, tries: i + 1 };
    } catch (e) {
      const err = e as Error;
      last = err.name === "TimeoutError" ? `connect timeout after ${timeout} ms` : err.message;
      cr.health?.observe(pick.key, false);
    }
  }
  return {
    ok: false,
    reason: tried.size === 0
      ? `no healthy endpoint in cluster "${cr.cluster.name}"`
      : `cannot connect to cluster "${cr.cluster.name}" (${tried.size} endpoint(s) tried): ${last}`,
    cluster: cr.cluster.name,
    upstream: lastKey,
    tries: tried.size,
  };
}
