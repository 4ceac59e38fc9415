/**
 * HTTP listener isolation: the listeners sharing one port each get a router of
 * their own, and a request is routed only by the listener its host selects
 * (exact hostname, then the most specific wildcard, then the hostless one —
 * the ranking the TLS SNI lookup uses). Without this a request would fall
 * through from a specific listener's routes to a catch-all listener's.
 * Compiled once per snapshot; a lookup costs one host-table probe.
 */
import type { Listener, Route } from "../../snapshot/types.ts";
import { HostTable } from "./host_table.ts";
import { compileRouter } from "./router.ts";
import type { RequestView, RouteMatchResult, Router, RouterFactory } from "./types.ts";

/** A listener's own router, and the listener it belongs to. */
interface ListenerEntry {
  readonly name: string;
  readonly router: Router;
}

/** Picks the listener by host, then matches only that listener's routes. */
export class ListenerRouter implements Router {
  readonly size: number;
  private table: HostTable<ListenerEntry>;
  /** The one listener of the port, when there is just one (no table probe). */
  private only: ListenerEntry | null;
  /** More than one listener: the host decides which one serves a request. */
  readonly isolating: boolean;

  constructor(entries: readonly { entry: ListenerEntry; hostnames: readonly string[] }[]) {
    this.table = new HostTable();
    for (const e of entries) this.table.add(e.hostnames, e.entry);
    this.isolating = entries.length > 1;
    this.size = entries.reduce((n, e) => n + e.entry.router.size, 0);
    this.only = entries.length === 1 && entries[0].hostnames.length === 0 ? entries[0].entry : null;
  }

  match(req: RequestView): RouteMatchResult | null {
    const e = this.only ?? this.table.lookup(req.host);
    return e === null ? null : e.router.match(req);
  }

  /** Name of the listener serving `host` ("" = no name), or null when none does. */
  listenerFor(host: string): string | null {
    return (this.only ?? this.table.lookup(host))?.name ?? null;
  }

  /**
   * True when a TLS connection's server name selected another listener than
   * the request's host does: the client reused (or coalesced) a connection
   * negotiated for another listener, so it must open a new one (421). A host
   * no listener serves is not misdirected (it gets the usual 404).
   */
  misdirected(serverName: string, host: string): boolean {
    if (serverName === "" || !this.isolating) return false;
    const from = this.listenerFor(serverName.toLowerCase());
    return from !== null && this.misdirectedFrom(from, host);
  }

  /** True when `host` selects a listener other than `listener` (see misdirected). */
  misdirectedFrom(listener: string, host: string): boolean {
    const to = this.listenerFor(host);
    return to !== null && to !== listener;
  }
}

/**
 * One router per listener of a port, in the listeners' precedence order (the
 * first registration of a hostname wins). Listeners with the same hostnames
 * (e.g. two Gateways' hostless listeners on one shared port) share a router,
 * as neither could be told apart by host. Throws naming the listeners whose
 * routes do not compile.
 */
export function compileListenerRouter(
  listeners: readonly Listener[],
  routes: readonly Route[],
  compile: RouterFactory = compileRouter,
): ListenerRouter {
  const groups = new Map<string, Listener[]>();
  for (const l of listeners) {
    const hosts = l.hostnames.map((h) => h.toLowerCase());
    const key = hosts.length === 0 || hosts.includes("*") ? "*" : [...hosts].sort().join(",");
    const g = groups.get(key);
    if (g) g.push(l);
    else groups.set(key, [l]);
  }
  return new ListenerRouter([...groups.values()].map((ls) => {
    const names = ls.map((l) => l.name);
    const own = routes.filter((r) =>
      r.l4Protocol === "" &&
      (r.listeners.length === 0 || r.listeners.some((n) => names.includes(n)))
    );
    let router: Router;
    try {
      router = compile(own);
    } catch (e) {
      throw new Error(
        `routes of listener ${names.join(",")} do not compile: ${(e as Error).message}`,
      );
    }
    return { entry: { name: names.join(","), router }, hostnames: ls[0].hostnames };
  }));
}
