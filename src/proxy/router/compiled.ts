/**
 * Per-(route, match) compiled entries shared by the indexed router: the
 * predicates (method, headers, query params, regex path) and the precedence
 * key. Everything costly (lowercasing, regex compilation, result objects) is
 * done once here so `match` allocates nothing.
 */
import type { KeyMatch, Route, RouteMatch } from "../../snapshot/types.ts";
import type { RequestView, RouteMatchResult } from "./types.ts";
import { queryParam } from "./query.ts";
import { compileFullMatch } from "./regex.ts";

/** Path match kinds in precedence order (lower wins). */
export const PATH_EXACT = 0;
export const PATH_PREFIX = 1;
export const PATH_REGEX = 2;

/** Thrown by compileRouter when a route cannot be compiled (bad regex). */
export class RouterCompileError extends Error {
  constructor(readonly routeName: string, message: string) {
    super(`route ${routeName}: ${message}`);
    this.name = "RouterCompileError";
  }
}

interface KeyPredicate {
  readonly name: string;
  readonly exact: string | null;
  readonly re: RegExp | null;
}

/** One (route, match) pair, ready to be tested against a request. */
export interface CompiledEntry {
  readonly kind: number;
  /** Exact: the path; PathPrefix: the prefix without its trailing "/" ("" for "/"). */
  readonly pathKey: string;
  readonly pathRe: RegExp | null;
  readonly method: string;
  readonly headers: readonly KeyPredicate[];
  readonly query: readonly KeyPredicate[];
  readonly result: RouteMatchResult;
  readonly orderKey: string;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly inputIndex: number;
}

/** Anchors a Gateway API regular expression for a full match. */
export function fullMatchRegex(routeName: string, source: string): RegExp {
  try {
    return compileFullMatch(source);
  } catch (e) {
    throw new RouterCompileError(
      routeName,
      `invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message}`,
    );
  }
}

/** Strips one trailing "/" so "/foo/" and "/foo" are the same prefix; "/" becomes "". */
export function normalizePrefix(value: string): string {
  return value.endsWith("/") ? value.slice(0, -1) : value;
}

/** The rule index encoded as the last "/" segment of Route.name ("<ns>/<route>/<rule>"). */
export function ruleIndexOf(name: string): number {
  const slash = name.lastIndexOf("/");
  const n = Number(name.slice(slash + 1));
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Whether an HTTP router should consider this route (L4 routes never match HTTP). */
export function isHttpRoute(route: Route): boolean {
  return route.l4Protocol === "";
}

function compileKeys(routeName: string, keys: readonly KeyMatch[], lower: boolean): KeyPredicate[] {
  // Gateway API: when a name repeats, only the first entry counts.
  const seen = new Set<string>();
  const out: KeyPredicate[] = [];
  for (const k of keys) {
    const name = lower ? k.name.toLowerCase() : k.name;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(
      k.type === "RegularExpression"
        ? { name, exact: null, re: fullMatchRegex(routeName, k.value) }
        : { name, exact: k.value, re: null },
    );
  }
  return out;
}

/** Compiles one match (or the implicit "PathPrefix /" when `m` is undefined). */
export function compileEntry(
  route: Route,
  m: RouteMatch | undefined,
  matchIndex: number,
  inputIndex: number,
): CompiledEntry {
  const path = m?.path ?? { type: "PathPrefix" as const, value: "/" };
  let kind = PATH_PREFIX;
  let pathKey = "";
  let pathRe: RegExp | null = null;
  let matchedPrefix: string | undefined;
  if (path.type === "Exact") {
    kind = PATH_EXACT;
    pathKey = path.value;
  } else if (path.type === "RegularExpression") {
    kind = PATH_REGEX;
    pathRe = fullMatchRegex(route.name, path.value);
  } else {
    const value = path.value === "" ? "/" : path.value;
    pathKey = normalizePrefix(value);
    matchedPrefix = value;
  }
  const result: RouteMatchResult = Object.freeze(
    matchedPrefix === undefined ? { route, matchIndex } : { route, matchIndex, matchedPrefix },
  );
  return {
    kind,
    pathKey,
    pathRe,
    method: m?.method ?? "",
    headers: compileKeys(route.name, m?.headers ?? [], true),
    query: compileKeys(route.name, m?.queryParams ?? [], false),
    result,
    orderKey: route.orderKey,
    ruleIndex: ruleIndexOf(route.name),
    matchIndex,
    inputIndex,
  };
}

/** Compiles every match of an HTTP route; a route without matches gets one implicit entry. */
export function compileRouteEntries(route: Route, inputIndex: number): CompiledEntry[] {
  if (route.matches.length === 0) return [compileEntry(route, undefined, -1, inputIndex)];
  return route.matches.map((m, i) => compileEntry(route, m, i, inputIndex));
}

/**
 * Orders entries whose path parts tie: method match first, then more header
 * matches, more query matches, older route, lower rule index, lower match
 * index, earlier input position.
 */
export function compareTieBreak(a: CompiledEntry, b: CompiledEntry): number {
  const am = a.method === "" ? 1 : 0;
  const bm = b.method === "" ? 1 : 0;
  if (am !== bm) return am - bm;
  if (a.headers.length !== b.headers.length) return b.headers.length - a.headers.length;
  if (a.query.length !== b.query.length) return b.query.length - a.query.length;
  if (a.orderKey !== b.orderKey) return a.orderKey < b.orderKey ? -1 : 1;
  if (a.ruleIndex !== b.ruleIndex) return a.ruleIndex - b.ruleIndex;
  if (a.matchIndex !== b.matchIndex) return a.matchIndex - b.matchIndex;
  return a.inputIndex - b.inputIndex;
}

/** Tests everything except the path (the index already matched it, or the caller checks the regex). */
export function matchesRest(e: CompiledEntry, req: RequestView): boolean {
  if (e.method !== "" && e.method !== req.method) return false;
  const hs = e.headers;
  for (let i = 0; i < hs.length; i++) {
    const h = hs[i];
    const v = req.header(h.name);
    if (v === null) return false;
    if (h.re !== null ? !h.re.test(v) : v !== h.exact) return false;
  }
  const qs = e.query;
  if (qs.length !== 0) {
    const query = req.query;
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i];
      const v = queryParam(query, q.name);
      if (v === null) return false;
      if (q.re !== null ? !q.re.test(v) : v !== q.exact) return false;
    }
  }
  return true;
}
