/**
 * Router match cost at 10, 1,000 and 10,000 routes (indexed router), plus the
 * linear reference at 1,000 for contrast. Tables mix exact hosts, wildcards,
 * exact paths, prefixes, header matches and a few regexes, like a real
 * multi-tenant gateway. Run: deno bench bench/router_bench.ts
 */
import type { Route } from "../src/snapshot/types.ts";
import type { RequestView } from "../src/proxy/router/types.ts";
import { compileRouter } from "../src/proxy/router/router.ts";
import { compileLinearRouter } from "../src/proxy/router/linear.ts";

function mkRoute(i: number): Route {
  const tenant = i % 500;
  const kind = i % 10;
  return {
    name: `ns/r${i}/0`,
    listeners: [],
    hostnames: kind === 9 ? [`*.t${tenant}.example.com`] : [`t${tenant}.example.com`],
    matches: [{
      path: kind === 0
        ? { type: "Exact", value: `/api/v${i}/status` }
        : kind === 8
        ? { type: "RegularExpression", value: `/re${i}/[0-9]+` }
        : { type: "PathPrefix", value: `/api/v${i}` },
      headers: kind === 5 ? [{ type: "Exact", name: "x-canary", value: "1" }] : [],
      queryParams: [],
      method: kind === 3 ? "GET" : "",
    }],
    filters: [],
    backends: [],
    l4Protocol: "",
    maxBodyBytes: 0,
    policies: [],
    orderKey: `2024/ns/r${i}`,
  };
}

function mkReq(host: string, path: string): RequestView {
  return { method: "GET", host, path, query: "", header: () => null };
}

for (const n of [10, 1_000, 10_000]) {
  const routes = Array.from({ length: n }, (_, i) => mkRoute(i));
  const router = compileRouter(routes);
  const hitIdx = n - 3; // kind 7: plain prefix
  const hit = mkReq(`t${hitIdx % 500}.example.com`, `/api/v${hitIdx}/users/42`);
  const miss = mkReq(`t${hitIdx % 500}.example.com`, `/nothing/here`);
  const wild = mkReq(`x.t${9 % 500}.example.com`, `/api/v9/x`);
  if (router.match(hit) === null || router.match(miss) !== null) {
    throw new Error("bench table broken");
  }
  Deno.bench({ name: `router ${n} routes: prefix hit`, group: "hit", baseline: n === 10 }, () => {
    router.match(hit);
  });
  Deno.bench({ name: `router ${n} routes: miss`, group: "miss", baseline: n === 10 }, () => {
    router.match(miss);
  });
  Deno.bench(
    { name: `router ${n} routes: wildcard host`, group: "wild", baseline: n === 10 },
    () => {
      router.match(wild);
    },
  );
}

{
  const routes = Array.from({ length: 1_000 }, (_, i) => mkRoute(i));
  const linear = compileLinearRouter(routes);
  const hit = mkReq(`t497.example.com`, `/api/v997/users/42`);
  Deno.bench({ name: "linear reference 1000 routes: prefix hit", group: "hit" }, () => {
    linear.match(hit);
  });
}
