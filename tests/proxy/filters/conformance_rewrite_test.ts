/**
 * Router + filters together on the Gateway API conformance HTTPRouteRewritePath
 * configuration: match, then rewrite with the matched prefix, then modify headers.
 */
import assert from "node:assert/strict";
import type { Filter, HeaderModifier, Route } from "../../../src/snapshot/types.ts";
import { compileRouter } from "../../../src/proxy/router/mod.ts";
import { applyHeaderModifier, rewritePath } from "../../../src/proxy/filters/mod.ts";
import { prefix, req, route } from "../router/helpers.ts";

const headerMod: HeaderModifier = {
  set: [{ name: "X-Header-Set", value: "set-overwrites-values" }],
  add: [
    { name: "X-Header-Add", value: "header-val-1" },
    { name: "X-Header-Add-Append", value: "header-val-2" },
  ],
  remove: ["X-Header-Remove"],
};

function rule(index: number, pfx: string, filters: Filter[]): Route {
  return {
    ...route(`gateway-conformance-infra/rewrite-path/${index}`, {
      matches: [{ path: prefix(pfx) }],
      orderKey: "k",
    }),
    filters,
  };
}

const routes: Route[] = [
  rule(0, "/prefix/one", [{
    type: "URLRewrite",
    urlRewrite: { hostname: "", path: { type: "ReplacePrefixMatch", value: "/one" } },
  }]),
  rule(1, "/strip-prefix", [{
    type: "URLRewrite",
    urlRewrite: { hostname: "", path: { type: "ReplacePrefixMatch", value: "/" } },
  }]),
  rule(2, "/full/one", [{
    type: "URLRewrite",
    urlRewrite: { hostname: "", path: { type: "ReplaceFullPath", value: "/one" } },
  }]),
  rule(3, "/full/rewrite-path-and-modify-headers", [
    {
      type: "URLRewrite",
      urlRewrite: { hostname: "", path: { type: "ReplaceFullPath", value: "/test" } },
    },
    { type: "RequestHeaderModifier", requestHeaderModifier: headerMod },
  ]),
  rule(4, "/prefix/rewrite-path-and-modify-headers", [
    {
      type: "URLRewrite",
      urlRewrite: { hostname: "", path: { type: "ReplacePrefixMatch", value: "/prefix" } },
    },
    { type: "RequestHeaderModifier", requestHeaderModifier: headerMod },
  ]),
];

function run(path: string, headers: Headers): string {
  const m = compileRouter(routes).match(req("gw", path));
  assert.ok(m, path);
  let out = path;
  for (const f of m.route.filters) {
    if (f.urlRewrite) out = rewritePath(f.urlRewrite, out, m.matchedPrefix);
    if (f.requestHeaderModifier) applyHeaderModifier(f.requestHeaderModifier, headers);
  }
  return out;
}

const CASES: [string, string][] = [
  ["/prefix/one/two", "/one/two"],
  ["/strip-prefix/three", "/three"],
  ["/strip-prefix", "/"],
  ["/full/one/two", "/one"],
  ["/full/rewrite-path-and-modify-headers/test", "/test"],
  ["/prefix/rewrite-path-and-modify-headers/one", "/prefix/one"],
];

for (const [path, want] of CASES) {
  Deno.test(`conformance HTTPRouteRewritePath: ${path} → ${want}`, () => {
    const h = new Headers({
      "X-Header-Remove": "remove-val",
      "X-Header-Add-Append": "append-val-1",
      "X-Header-Set": "set-val",
    });
    assert.equal(run(path, h), want);
    if (path.includes("modify-headers")) {
      assert.equal(h.get("x-header-add"), "header-val-1");
      assert.equal(h.get("x-header-add-append")?.replaceAll(" ", ""), "append-val-1,header-val-2");
      assert.equal(h.get("x-header-set"), "set-overwrites-values");
      assert.equal(h.get("x-header-remove"), null);
    }
  });
}
