/**
 * The indexed HTTP router. Routes are bucketed by hostname (exact map, wildcard
 * suffix map, catch-all), and inside a bucket by exact path (map) and by
 * normalized prefix (map probed at each "/" boundary of the request path, longest
 * first); only regex paths are scanned. Lookup cost therefore depends on the
 * request (its labels and path segments), not on the number of routes.
 *
 * Precedence (Gateway API HTTPRoute): exact hostname, then longer wildcard
 * suffix, then routes without hostnames; within that, Exact path, then longest
 * PathPrefix, then RegularExpression (implementation-specific: after prefixes);
 * then method, header count, query count, oldest route (orderKey), rule index.
 * A request that matches no rule of a more specific hostname falls through to
 * less specific ones.
 */
import type { Route } from "../../snapshot/types.ts";
import type { RequestView, RouteMatchResult, Router } from "./types.ts";
import {
  compareTieBreak,
  type CompiledEntry,
  compileRouteEntries,
  isHttpRoute,
  matchesRest,
  PATH_EXACT,
  PATH_PREFIX,
} from "./compiled.ts";

/** Routes sharing one hostname key, indexed by path. */
class HostBucket {
  readonly exact = new Map<string, CompiledEntry[]>();
  readonly prefix = new Map<string, CompiledEntry[]>();
  regex: CompiledEntry[] = [];
  /** Root prefix ("/") entries, kept out of the map to skip one lookup. */
  root: CompiledEntry[] = [];

  add(e: CompiledEntry): void {
    if (e.kind === PATH_EXACT) push(this.exact, e.pathKey, e);
    else if (e.kind === PATH_PREFIX) {
      if (e.pathKey === "") this.root.push(e);
      else push(this.prefix, e.pathKey, e);
    } else this.regex.push(e);
  }

  freeze(): void {
    for (const list of this.exact.values()) list.sort(compareTieBreak);
    for (const list of this.prefix.values()) list.sort(compareTieBreak);
    this.regex.sort(compareTieBreak);
    this.root.sort(compareTieBreak);
  }

  match(req: RequestView): RouteMatchResult | null {
    const path = req.path;
    if (this.exact.size !== 0) {
      const list = this.exact.get(path);
      if (list !== undefined) {
        const r = firstMatch(list, req);
        if (r !== null) return r;
      }
    }
    if (this.prefix.size !== 0) {
      // Longest candidate first: the whole path (unless it ends in "/"), then
      // every "/" boundary from the right. "/a/b/" yields "/a/b", "/a".
      let end = path.length;
      if (end > 1 && path.charCodeAt(end - 1) !== 47) {
        const list = this.prefix.get(path);
        if (list !== undefined) {
          const r = firstMatch(list, req);
          if (r !== null) return r;
        }
      }
      end = path.lastIndexOf("/", end - 1);
      while (end > 0) {
        const list = this.prefix.get(path.slice(0, end));
        if (list !== undefined) {
          const r = firstMatch(list, req);
          if (r !== null) return r;
        }
        end = path.lastIndexOf("/", end - 1);
      }
    }
    if (this.root.length !== 0) {
      const r = firstMatch(this.root, req);
      if (r !== null) return r;
    }
    const rx = this.regex;
    for (let i = 0; i < rx.length; i++) {
      const e = rx[i];
      if (e.pathRe!.test(path) && matchesRest(e, req)) return e.result;
    }
    return null;
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

function firstMatch(list: readonly CompiledEntry[], req: RequestView): RouteMatchResult | null {
  for (let i = 0; i < list.length; i++) {
    if (matchesRest(list[i], req)) return list[i].result;
  }
  return null;
}

/** Lowercases and drops a trailing dot; "*" (any host) maps to "" (catch-all). */
export function normalizeHostname(h: string): string {
  let s = h.trim().toLowerCase();
  if (s.endsWith(".")) s = s.slice(0, -1);
  return s === "*" ? "" : s;
}

class IndexedRouter implements Router {
  readonly size: number;
  readonly #exact = new Map<string, HostBucket>();
  /** Keyed by the wildcard's suffix including the leading dot: "*.example.com" → ".example.com". */
  readonly #wildcard = new Map<string, HostBucket>();
  readonly #any: HostBucket | null;

  constructor(routes: readonly Route[]) {
    let size = 0;
    let any: HostBucket | null = null;
    for (let inputIndex = 0; inputIndex < routes.length; inputIndex++) {
      const route = routes[inputIndex];
      if (!isHttpRoute(route)) continue;
      const entries = compileRouteEntries(route, inputIndex);
      size += entries.length;
      const hosts = new Set(route.hostnames.map(normalizeHostname));
      if (hosts.size === 0 || hosts.has("")) {
        any ??= new HostBucket();
        for (const e of entries) any.add(e);
        hosts.delete("");
      }
      for (const h of hosts) {
        const bucket = h.startsWith("*.")
          ? bucketOf(this.#wildcard, h.slice(1))
          : bucketOf(this.#exact, h);
        for (const e of entries) bucket.add(e);
      }
    }
    for (const b of this.#exact.values()) b.freeze();
    for (const b of this.#wildcard.values()) b.freeze();
    any?.freeze();
    this.#any = any;
    this.size = size;
    Object.freeze(this);
  }

  match(req: RequestView): RouteMatchResult | null {
    let host = req.host;
    if (host.length !== 0 && host.charCodeAt(host.length - 1) === 46) host = host.slice(0, -1);
    if (this.#exact.size !== 0) {
      const b = this.#exact.get(host);
      if (b !== undefined) {
        const r = b.match(req);
        if (r !== null) return r;
      }
    }
    if (this.#wildcard.size !== 0) {
      // Longest suffix first; a wildcard needs at least one label before it.
      let dot = host.indexOf(".");
      while (dot > 0) {
        const b = this.#wildcard.get(host.slice(dot));
        if (b !== undefined) {
          const r = b.match(req);
          if (r !== null) return r;
        }
        dot = host.indexOf(".", dot + 1);
      }
    }
    return this.#any === null ? null : this.#any.match(req);
  }
}

function bucketOf(m: Map<string, HostBucket>, key: string): HostBucket {
  let b = m.get(key);
  if (b === undefined) {
    b = new HostBucket();
    m.set(key, b);
  }
  return b;
}

/**
 * Compiles routes into a frozen, indexed router. Routes with an `l4Protocol`
 * are ignored. Throws RouterCompileError on an invalid regular expression.
 */
export function compileRouter(routes: readonly Route[]): Router {
  return new IndexedRouter(routes);
}
