/**
 * The Router contract. A router is compiled once per snapshot (per listener)
 * from the snapshot's routes and then frozen; `match` is called per request.
 * Every implementation runs the shared contract suite in tests/proxy/router/.
 */
import type { Route } from "../../snapshot/types.ts";

/** What a router may look at. Engines adapt their own request shape to this. */
export interface RequestView {
  readonly method: string;
  /** Lowercased authority without port. */
  readonly host: string;
  /** Path as received, without the query string (percent-encoding kept). */
  readonly path: string;
  /** Raw query string without "?" ("" when none). */
  readonly query: string;
  /** Header value by lowercase name; repeated headers joined with ", ". */
  header(name: string): string | null;
}

export interface RouteMatchResult {
  readonly route: Route;
  /** Index into route.matches that matched (-1 when the route has no matches). */
  readonly matchIndex: number;
  /** For PathPrefix matches: the matched prefix, needed by ReplacePrefixMatch. */
  readonly matchedPrefix?: string;
}

export interface Router {
  match(req: RequestView): RouteMatchResult | null;
  /** Number of (route, match) entries compiled in. */
  readonly size: number;
}

export type RouterFactory = (routes: readonly Route[]) => Router;
