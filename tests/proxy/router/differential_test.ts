/**
 * Randomized differential test: the indexed router and the linear reference
 * must agree on generated route tables (fixed seeds, bounded iterations).
 * Pools are small so that ties, overlaps and fall-throughs are frequent.
 */
import assert from "node:assert/strict";
import type { KeyMatch, Route } from "../../../src/snapshot/types.ts";
import { compileRouter } from "../../../src/proxy/router/router.ts";
import { compileLinearRouter } from "../../../src/proxy/router/linear.ts";
import { type MatchSpec, req, rng, route } from "./helpers.ts";

const HOSTS = ["a.example.com", "b.example.com", "x.a.example.com", "example.com", "other.org"];
const ROUTE_HOSTS = [
  "a.example.com",
  "*.example.com",
  "*.a.example.com",
  "*.com",
  "example.com",
  "other.org",
  "*",
];
const SEGS = ["a", "b", "ab", "c"];
const METHODS = ["GET", "POST", "PUT"];
const REGEXES = ["/a/.*", "/(a|b)", "/[a-c]+/b", "/.*", "/ab?/c"];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function randPath(r: () => number, trailing: boolean): string {
  const n = Math.floor(r() * 4);
  let p = "";
  for (let i = 0; i < n; i++) p += "/" + pick(r, SEGS);
  if (p === "" || (trailing && r() < 0.2)) p += "/";
  return p;
}

function randKeys(r: () => number, names: string[], maxN: number): KeyMatch[] {
  const out: KeyMatch[] = [];
  const n = Math.floor(r() * (maxN + 1));
  for (let i = 0; i < n; i++) {
    const re = r() < 0.25;
    out.push({
      type: re ? "RegularExpression" : "Exact",
      name: pick(r, names),
      value: re ? pick(r, ["[12]", ".*", "2|3"]) : pick(r, ["1", "2", "3"]),
    });
  }
  return out;
}

function randRoutes(r: () => number, count: number): Route[] {
  const routes: Route[] = [];
  for (let i = 0; i < count; i++) {
    const nh = Math.floor(r() * 3);
    const hostnames: string[] = [];
    for (let j = 0; j < nh; j++) hostnames.push(pick(r, ROUTE_HOSTS));
    const nm = r() < 0.05 ? 0 : 1 + Math.floor(r() * 2);
    const matches: MatchSpec[] = [];
    for (let j = 0; j < nm; j++) {
      const t = r();
      const path = t < 0.1
        ? undefined
        : t < 0.4
        ? { type: "Exact" as const, value: randPath(r, true) }
        : t < 0.85
        ? { type: "PathPrefix" as const, value: randPath(r, true) }
        : { type: "RegularExpression" as const, value: pick(r, REGEXES) };
      matches.push({
        path,
        method: r() < 0.3 ? pick(r, METHODS) : "",
        headers: randKeys(r, ["X-A", "x-b", "x-a"], 2),
        queryParams: randKeys(r, ["q", "p"], 2),
      });
    }
    // Few distinct order keys and rule indexes, to exercise tie-breaking.
    const owner = Math.floor(r() * 4);
    routes.push(route(`ns/r${owner}/${Math.floor(r() * 3)}`, {
      hostnames,
      matches,
      orderKey: `t${Math.floor(r() * 3)}/ns/r${owner}`,
      l4Protocol: r() < 0.03 ? "TCP" : "",
    }));
  }
  return routes;
}

function randReq(r: () => number) {
  const headers: Record<string, string> = {};
  if (r() < 0.5) headers["x-a"] = pick(r, ["1", "2", "3"]);
  if (r() < 0.5) headers["x-b"] = pick(r, ["1", "2", "3"]);
  const qs: string[] = [];
  const nq = Math.floor(r() * 3);
  for (let i = 0; i < nq; i++) qs.push(`${pick(r, ["q", "p", "z"])}=${pick(r, ["1", "2", "3"])}`);
  return req(pick(r, HOSTS), randPath(r, true), {
    method: pick(r, METHODS),
    headers,
    query: qs.join("&"),
  });
}

Deno.test("differential: indexed router agrees with the linear reference", () => {
  for (const seed of [1, 2, 3, 42, 1337]) {
    const r = rng(seed);
    for (let table = 0; table < 60; table++) {
      const routes = randRoutes(r, 1 + Math.floor(r() * 40));
      const fast = compileRouter(routes);
      const slow = compileLinearRouter(routes);
      assert.equal(fast.size, slow.size);
      for (let k = 0; k < 150; k++) {
        const rq = randReq(r);
        const a = fast.match(rq);
        const b = slow.match(rq);
        const ctx = () =>
          `seed ${seed} table ${table}: ${rq.method} ${rq.host}${rq.path}?${rq.query} ` +
          `got ${a?.route.name}#${a?.matchIndex} want ${b?.route.name}#${b?.matchIndex}\n` +
          JSON.stringify(routes.filter((x) => x === a?.route || x === b?.route));
        assert.equal(a?.route, b?.route, ctx());
        assert.equal(a?.matchIndex, b?.matchIndex, ctx());
        assert.equal(a?.matchedPrefix, b?.matchedPrefix, ctx());
      }
    }
  }
});

Deno.test("differential: generator produces a meaningful mix of hits and misses", () => {
  // Guards the test above against a generator that only ever yields null.
  const r = rng(7);
  let hits = 0;
  let total = 0;
  for (let table = 0; table < 20; table++) {
    const router = compileLinearRouter(randRoutes(r, 1 + Math.floor(r() * 40)));
    for (let k = 0; k < 50; k++, total++) if (router.match(randReq(r)) !== null) hits++;
  }
  assert.ok(hits > total * 0.2 && hits < total * 0.95, `hits ${hits}/${total}`);
});
