/** Builders for router tests: compact routes and request views. */
import type { KeyMatch, PathMatch, Route, RouteMatch } from "../../../src/snapshot/types.ts";
import type { RequestView } from "../../../src/proxy/router/types.ts";

export interface MatchSpec {
  path?: { type: "Exact" | "PathPrefix" | "RegularExpression"; value: string };
  headers?: KeyMatch[];
  queryParams?: KeyMatch[];
  method?: string;
}

export interface RouteSpec {
  hostnames?: string[];
  matches?: MatchSpec[];
  orderKey?: string;
  l4Protocol?: "" | "TCP" | "TLS" | "UDP";
}

/** A route named "<ns>/<route>/<rule>" with every other field at its zero value. */
export function route(name: string, spec: RouteSpec = {}): Route {
  const matches: RouteMatch[] = (spec.matches ?? []).map((m) => ({
    path: m.path,
    headers: m.headers ?? [],
    queryParams: m.queryParams ?? [],
    method: m.method ?? "",
  }));
  return {
    name,
    listeners: [],
    hostnames: spec.hostnames ?? [],
    matches,
    filters: [],
    backends: [],
    l4Protocol: spec.l4Protocol ?? "",
    maxBodyBytes: 0,
    policies: [],
    orderKey: spec.orderKey ?? "2024-01-01T00:00:00Z/" + name,
  };
}

export const exact = (value: string): PathMatch => ({ type: "Exact" as const, value });
export const prefix = (value: string): PathMatch => ({ type: "PathPrefix" as const, value });
export const regex = (value: string): PathMatch => ({ type: "RegularExpression" as const, value });
export const hdr = (name: string, value: string, re = false): KeyMatch => ({
  type: re ? "RegularExpression" : "Exact",
  name,
  value,
});

export interface ReqSpec {
  method?: string;
  headers?: Record<string, string>;
  query?: string;
}

/** A RequestView; `target` may carry "?query". Header names are looked up lowercase. */
export function req(host: string, target: string, spec: ReqSpec = {}): RequestView {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const query = spec.query ?? (q === -1 ? "" : target.slice(q + 1));
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers.set(k.toLowerCase(), v);
  return {
    method: spec.method ?? "GET",
    host,
    path,
    query,
    header: (name: string) => headers.get(name) ?? null,
  };
}

/** Deterministic PRNG (mulberry32) for randomized tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
