/**
 * A deliberately simple reference router: it tests every (route, match) pair
 * against the request and keeps the best by an explicit precedence tuple. It
 * shares no precedence or matching code with the indexed router (only regex
 * compilation; its predicates use URLSearchParams and plain string tests), so
 * the differential test compares two independent readings of the Gateway API
 * rules. Not for production: cost is linear in the number of routes.
 */
import type { KeyMatch, Route, RouteMatch } from "../../snapshot/types.ts";
import type { RequestView, RouteMatchResult, Router } from "./types.ts";
import { compileFullMatch } from "./regex.ts";

interface LinearEntry {
  readonly route: Route;
  readonly match: RouteMatch | undefined;
  readonly matchIndex: number;
  readonly inputIndex: number;
  readonly regexes: Map<string, RegExp>;
}

function anchored(route: Route, source: string): RegExp {
  try {
    return compileFullMatch(source);
  } catch (e) {
    throw new Error(`route ${route.name}: invalid regular expression: ${(e as Error).message}`);
  }
}

/** Host specificity of `route` for `host`: [tier, characters] or null when it does not apply. */
function hostScore(route: Route, host: string): [number, number] | null {
  let anyHost = route.hostnames.length === 0;
  let best: [number, number] | null = null;
  for (const raw of route.hostnames) {
    let h = raw.trim().toLowerCase();
    if (h.endsWith(".")) h = h.slice(0, -1);
    if (h === "*") {
      anyHost = true;
      continue;
    }
    let s: [number, number] | null = null;
    if (h === host) s = [2, h.length];
    else if (h.startsWith("*.")) {
      const suffix = h.slice(1);
      if (host.endsWith(suffix) && host.length > suffix.length) s = [1, suffix.length];
    }
    if (s !== null && (best === null || s[0] > best[0] || (s[0] === best[0] && s[1] > best[1]))) {
      best = s;
    }
  }
  return best ?? (anyHost ? [0, 0] : null);
}

function pathOf(m: RouteMatch | undefined): { type: string; value: string } {
  const p = m?.path;
  if (p === undefined) return { type: "PathPrefix", value: "/" };
  if (p.type === "PathPrefix" && p.value === "") return { type: "PathPrefix", value: "/" };
  return p;
}

function prefixLength(value: string): number {
  return value.endsWith("/") ? value.length - 1 : value.length;
}

function pathMatches(e: LinearEntry, path: string): boolean {
  const p = pathOf(e.match);
  if (p.type === "Exact") return path === p.value;
  if (p.type === "RegularExpression") return e.regexes.get("path:" + p.value)!.test(path);
  const prefix = p.value.endsWith("/") ? p.value.slice(0, -1) : p.value;
  if (prefix === "") return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path[prefix.length] === "/";
}

function firstByName(keys: readonly KeyMatch[], lower: boolean): KeyMatch[] {
  const out: KeyMatch[] = [];
  for (const k of keys) {
    const n = lower ? k.name.toLowerCase() : k.name;
    if (!out.some((o) => (lower ? o.name.toLowerCase() : o.name) === n)) out.push(k);
  }
  return out;
}

function keyOk(e: LinearEntry, k: KeyMatch, v: string | null): boolean {
  if (v === null) return false;
  if (k.type === "RegularExpression") return e.regexes.get("key:" + k.value)!.test(v);
  return v === k.value;
}

function restMatches(e: LinearEntry, req: RequestView): boolean {
  const m = e.match;
  if (m === undefined) return true;
  if (m.method !== "" && m.method !== req.method) return false;
  for (const h of firstByName(m.headers, true)) {
    if (!keyOk(e, h, req.header(h.name.toLowerCase()))) return false;
  }
  const params = new URLSearchParams(req.query);
  for (const q of firstByName(m.queryParams, false)) {
    if (!keyOk(e, q, params.get(q.name))) return false;
  }
  return true;
}

function ruleIndex(name: string): number {
  const n = Number(name.split("/").pop());
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/** Precedence tuple; compared element by element, smaller wins. */
function rank(e: LinearEntry, host: [number, number]): (number | string)[] {
  const p = pathOf(e.match);
  const typeRank = p.type === "Exact" ? 0 : p.type === "PathPrefix" ? 1 : 2;
  const m = e.match;
  return [
    -host[0],
    -host[1],
    typeRank,
    p.type === "PathPrefix" ? -prefixLength(p.value) : 0,
    m !== undefined && m.method !== "" ? 0 : 1,
    -(m ? firstByName(m.headers, true).length : 0),
    -(m ? firstByName(m.queryParams, false).length : 0),
    e.route.orderKey,
    ruleIndex(e.route.name),
    e.matchIndex,
    e.inputIndex,
  ];
}

function less(a: (number | string)[], b: (number | string)[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return true;
    if (a[i] > b[i]) return false;
  }
  return false;
}

/** Compiles the reference linear-scan router (same contract as compileRouter). */
export function compileLinearRouter(routes: readonly Route[]): Router {
  const entries: LinearEntry[] = [];
  routes.forEach((route, inputIndex) => {
    if (route.l4Protocol !== "") return;
    const ms: (RouteMatch | undefined)[] = route.matches.length === 0
      ? [undefined]
      : [...route.matches];
    ms.forEach((m, i) => {
      const regexes = new Map<string, RegExp>();
      const p = pathOf(m);
      if (p.type === "RegularExpression") regexes.set("path:" + p.value, anchored(route, p.value));
      for (const k of [...(m?.headers ?? []), ...(m?.queryParams ?? [])]) {
        if (k.type === "RegularExpression") regexes.set("key:" + k.value, anchored(route, k.value));
      }
      entries.push({ route, match: m, matchIndex: m === undefined ? -1 : i, inputIndex, regexes });
    });
  });
  return {
    size: entries.length,
    match(req: RequestView): RouteMatchResult | null {
      const host = req.host.endsWith(".") ? req.host.slice(0, -1) : req.host;
      let best: LinearEntry | null = null;
      let bestRank: (number | string)[] = [];
      for (const e of entries) {
        const hs = hostScore(e.route, host);
        if (hs === null || !pathMatches(e, req.path) || !restMatches(e, req)) continue;
        const r = rank(e, hs);
        if (best === null || less(r, bestRank)) {
          best = e;
          bestRank = r;
        }
      }
      if (best === null) return null;
      const p = pathOf(best.match);
      return p.type === "PathPrefix"
        ? { route: best.route, matchIndex: best.matchIndex, matchedPrefix: p.value }
        : { route: best.route, matchIndex: best.matchIndex };
    },
  };
}
