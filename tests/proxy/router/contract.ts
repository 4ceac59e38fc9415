/**
 * The router contract: every Router implementation runs these cases. Call
 * `routerContract(label, factory)` from a *_test.ts file.
 */
import assert from "node:assert/strict";
import type { Route } from "../../../src/snapshot/types.ts";
import type { RequestView, RouterFactory } from "../../../src/proxy/router/types.ts";
import { exact, hdr, type MatchSpec, prefix, regex, req, route } from "./helpers.ts";

/** Name of the matched route, or null. */
function hit(factory: RouterFactory, routes: Route[], r: RequestView): string | null {
  return factory(routes).match(r)?.route.name ?? null;
}

/** Registers the shared router contract cases for `factory`. */
export function routerContract(label: string, factory: RouterFactory): void {
  const t = (name: string, fn: () => void) => Deno.test(`${label}: ${name}`, fn);

  t("empty table matches nothing", () => {
    const r = factory([]);
    assert.equal(r.size, 0);
    assert.equal(r.match(req("a.com", "/")), null);
  });

  t("exact hostname matches only that host", () => {
    const routes = [route("ns/a/0", { hostnames: ["foo.example.com"] })];
    assert.equal(hit(factory, routes, req("foo.example.com", "/x")), "ns/a/0");
    assert.equal(hit(factory, routes, req("bar.example.com", "/x")), null);
    assert.equal(hit(factory, routes, req("example.com", "/x")), null);
  });

  t("hostnames are case-insensitive and ignore a trailing dot", () => {
    const routes = [route("ns/a/0", { hostnames: ["Foo.Example.COM"] })];
    assert.equal(hit(factory, routes, req("foo.example.com", "/")), "ns/a/0");
    assert.equal(hit(factory, routes, req("foo.example.com.", "/")), "ns/a/0");
  });

  t("wildcard hostname matches one or more labels but not the bare suffix", () => {
    const routes = [route("ns/w/0", { hostnames: ["*.example.com"] })];
    assert.equal(hit(factory, routes, req("a.example.com", "/")), "ns/w/0");
    assert.equal(hit(factory, routes, req("a.b.example.com", "/")), "ns/w/0");
    assert.equal(hit(factory, routes, req("example.com", "/")), null);
    assert.equal(hit(factory, routes, req("aexample.com", "/")), null);
    assert.equal(hit(factory, routes, req("a.example.org", "/")), null);
  });

  t("route without hostnames matches any host", () => {
    const routes = [route("ns/any/0")];
    assert.equal(hit(factory, routes, req("whatever.test", "/")), "ns/any/0");
    assert.equal(hit(factory, routes, req("", "/")), "ns/any/0");
  });

  t("exact host beats longer wildcard beats shorter wildcard beats no hostname", () => {
    const routes = [
      route("ns/any/0", { orderKey: "0" }),
      route("ns/short/0", { hostnames: ["*.com"], orderKey: "1" }),
      route("ns/long/0", { hostnames: ["*.example.com"], orderKey: "2" }),
      route("ns/exact/0", { hostnames: ["a.example.com"], orderKey: "3" }),
    ];
    assert.equal(hit(factory, routes, req("a.example.com", "/")), "ns/exact/0");
    assert.equal(hit(factory, routes, req("b.example.com", "/")), "ns/long/0");
    assert.equal(hit(factory, routes, req("x.y.example.com", "/")), "ns/long/0");
    assert.equal(hit(factory, routes, req("other.com", "/")), "ns/short/0");
    assert.equal(hit(factory, routes, req("other.org", "/")), "ns/any/0");
  });

  t("hostname precedence outranks path precedence", () => {
    const routes = [
      route("ns/any/0", { matches: [{ path: exact("/a/b") }] }),
      route("ns/host/0", { hostnames: ["h.com"], matches: [{ path: prefix("/") }] }),
    ];
    assert.equal(hit(factory, routes, req("h.com", "/a/b")), "ns/host/0");
  });

  t("a request falls through to less specific hostnames when no rule matches", () => {
    const routes = [
      route("ns/host/0", { hostnames: ["h.com"], matches: [{ path: prefix("/api") }] }),
      route("ns/wild/0", { hostnames: ["*.com"], matches: [{ path: prefix("/web") }] }),
      route("ns/any/0"),
    ];
    assert.equal(hit(factory, routes, req("h.com", "/api/x")), "ns/host/0");
    assert.equal(hit(factory, routes, req("h.com", "/web/x")), "ns/wild/0");
    assert.equal(hit(factory, routes, req("h.com", "/other")), "ns/any/0");
  });

  t("a route with several hostnames is matched by each", () => {
    const routes = [route("ns/multi/0", { hostnames: ["a.com", "*.b.com"] })];
    assert.equal(hit(factory, routes, req("a.com", "/")), "ns/multi/0");
    assert.equal(hit(factory, routes, req("x.b.com", "/")), "ns/multi/0");
    assert.equal(hit(factory, routes, req("c.com", "/")), null);
  });

  t("PathPrefix matches whole path segments", () => {
    const routes = [route("ns/p/0", { matches: [{ path: prefix("/foo") }] })];
    for (const p of ["/foo", "/foo/", "/foo/bar", "/foo/bar/baz"]) {
      assert.equal(hit(factory, routes, req("h", p)), "ns/p/0", p);
    }
    for (const p of ["/foobar", "/fo", "/", "/bar/foo", "/FOO"]) {
      assert.equal(hit(factory, routes, req("h", p)), null, p);
    }
  });

  t("PathPrefix with a trailing slash behaves like without it", () => {
    const routes = [route("ns/p/0", { matches: [{ path: prefix("/foo/") }] })];
    for (const p of ["/foo", "/foo/", "/foo/bar"]) {
      assert.equal(hit(factory, routes, req("h", p)), "ns/p/0", p);
    }
    assert.equal(hit(factory, routes, req("h", "/foobar")), null);
    const m = factory(routes).match(req("h", "/foo/bar"));
    assert.equal(m?.matchedPrefix, "/foo/");
  });

  t("PathPrefix / matches every path and reports the prefix", () => {
    const routes = [route("ns/root/0", { matches: [{ path: prefix("/") }] })];
    for (const p of ["/", "/a", "/a/b/", "//x"]) {
      const m = factory(routes).match(req("h", p));
      assert.equal(m?.route.name, "ns/root/0", p);
      assert.equal(m?.matchedPrefix, "/");
      assert.equal(m?.matchIndex, 0);
    }
  });

  t("Exact path matches only the identical path", () => {
    const routes = [route("ns/e/0", { matches: [{ path: exact("/foo") }] })];
    assert.equal(hit(factory, routes, req("h", "/foo")), "ns/e/0");
    assert.equal(hit(factory, routes, req("h", "/foo?x=1")), "ns/e/0");
    for (const p of ["/foo/", "/foo/bar", "/fo", "/Foo"]) {
      assert.equal(hit(factory, routes, req("h", p)), null, p);
    }
    assert.equal(factory(routes).match(req("h", "/foo"))?.matchedPrefix, undefined);
  });

  t("RegularExpression path is a full, anchored match", () => {
    const routes = [route("ns/r/0", { matches: [{ path: regex("/api/v[0-9]+") }] })];
    assert.equal(hit(factory, routes, req("h", "/api/v1")), "ns/r/0");
    assert.equal(hit(factory, routes, req("h", "/api/v12")), "ns/r/0");
    assert.equal(hit(factory, routes, req("h", "/api/v1/x")), null);
    assert.equal(hit(factory, routes, req("h", "/x/api/v1")), null);
    const alt = [route("ns/alt/0", { matches: [{ path: regex("/a|/b") }] })];
    assert.equal(hit(factory, alt, req("h", "/a")), "ns/alt/0");
    assert.equal(hit(factory, alt, req("h", "/ab")), null);
  });

  t("RE2 inline flags: (?i) makes a regex case-insensitive", () => {
    const routes = [
      route("ns/r/0", {
        matches: [{ path: regex("(?i)/API/v[0-9]+"), headers: [hdr("x", "(?i)yes", true)] }],
      }),
    ];
    assert.equal(hit(factory, routes, req("h", "/api/V2", { headers: { x: "YES" } })), "ns/r/0");
    assert.equal(hit(factory, routes, req("h", "/api/V2/x", { headers: { x: "YES" } })), null);
  });

  t("Exact beats longest PathPrefix beats shorter PathPrefix beats RegularExpression", () => {
    const routes = [
      route("ns/re/0", { matches: [{ path: regex("/a/.*") }], orderKey: "0" }),
      route("ns/short/0", { matches: [{ path: prefix("/a") }], orderKey: "1" }),
      route("ns/long/0", { matches: [{ path: prefix("/a/b") }], orderKey: "2" }),
      route("ns/exact/0", { matches: [{ path: exact("/a/b/c") }], orderKey: "3" }),
    ];
    assert.equal(hit(factory, routes, req("h", "/a/b/c")), "ns/exact/0");
    assert.equal(hit(factory, routes, req("h", "/a/b/d")), "ns/long/0");
    assert.equal(hit(factory, routes, req("h", "/a/c")), "ns/short/0");
    const onlyRe = [routes[0], route("ns/root/0", { orderKey: "9" })];
    // Implementation-specific, documented: regex ranks after every prefix, even "/".
    assert.equal(hit(factory, onlyRe, req("h", "/a/x")), "ns/root/0");
    assert.equal(hit(factory, [routes[0]], req("h", "/a/x")), "ns/re/0");
  });

  t("Exact path wins even over a prefix with more header matches", () => {
    const routes = [
      route("ns/p/0", {
        matches: [{ path: prefix("/x"), headers: [hdr("a", "1"), hdr("b", "2")] }],
      }),
      route("ns/e/0", { matches: [{ path: exact("/x") }] }),
    ];
    assert.equal(hit(factory, routes, req("h", "/x", { headers: { a: "1", b: "2" } })), "ns/e/0");
  });

  t("method match wins over no method, and a mismatched method is skipped", () => {
    const routes = [
      route("ns/any/0", { matches: [{ path: prefix("/m") }], orderKey: "0" }),
      route("ns/post/0", { matches: [{ path: prefix("/m"), method: "POST" }], orderKey: "1" }),
    ];
    assert.equal(hit(factory, routes, req("h", "/m", { method: "POST" })), "ns/post/0");
    assert.equal(hit(factory, routes, req("h", "/m", { method: "GET" })), "ns/any/0");
    assert.equal(hit(factory, [routes[1]], req("h", "/m", { method: "GET" })), null);
  });

  t("method outranks header count", () => {
    const routes = [
      route("ns/hdr/0", {
        matches: [{ path: prefix("/"), headers: [hdr("x", "1")] }],
        orderKey: "0",
      }),
      route("ns/get/0", { matches: [{ path: prefix("/"), method: "GET" }], orderKey: "1" }),
    ];
    assert.equal(hit(factory, routes, req("h", "/", { headers: { x: "1" } })), "ns/get/0");
  });

  t("header names are case-insensitive, values exact and case-sensitive", () => {
    const routes = [route("ns/h/0", { matches: [{ headers: [hdr("X-Env", "Canary")] }] })];
    assert.equal(hit(factory, routes, req("h", "/", { headers: { "x-env": "Canary" } })), "ns/h/0");
    assert.equal(hit(factory, routes, req("h", "/", { headers: { "X-ENV": "Canary" } })), "ns/h/0");
    assert.equal(hit(factory, routes, req("h", "/", { headers: { "x-env": "canary" } })), null);
    assert.equal(hit(factory, routes, req("h", "/")), null);
  });

  t("header regex is a full match", () => {
    const routes = [route("ns/h/0", { matches: [{ headers: [hdr("v", "v[0-9]+", true)] }] })];
    assert.equal(hit(factory, routes, req("h", "/", { headers: { v: "v12" } })), "ns/h/0");
    assert.equal(hit(factory, routes, req("h", "/", { headers: { v: "xv12" } })), null);
    assert.equal(hit(factory, routes, req("h", "/", { headers: { v: "" } })), null);
  });

  t("more header matches win, then more query matches", () => {
    const routes = [
      route("ns/one/0", { matches: [{ headers: [hdr("a", "1")] }], orderKey: "0" }),
      route("ns/two/0", { matches: [{ headers: [hdr("a", "1"), hdr("b", "2")] }], orderKey: "1" }),
      route("ns/q/0", {
        matches: [{ headers: [hdr("a", "1")], queryParams: [hdr("q", "1")] }],
        orderKey: "2",
      }),
    ];
    assert.equal(hit(factory, routes, req("h", "/", { headers: { a: "1", b: "2" } })), "ns/two/0");
    assert.equal(
      hit(factory, routes, req("h", "/?q=1", { headers: { a: "1", b: "2" } })),
      "ns/two/0",
    );
    assert.equal(hit(factory, routes, req("h", "/?q=1", { headers: { a: "1" } })), "ns/q/0");
    assert.equal(hit(factory, routes, req("h", "/?q=2", { headers: { a: "1" } })), "ns/one/0");
  });

  t("query params: exact, regex, first value wins, decoding, case-sensitive names", () => {
    const routes = [
      route("ns/q/0", { matches: [{ queryParams: [hdr("animal", "whale")] }], orderKey: "0" }),
      route("ns/re/0", { matches: [{ queryParams: [hdr("id", "[0-9]+", true)] }], orderKey: "1" }),
      route("ns/sp/0", { matches: [{ queryParams: [hdr("s", "a b")] }], orderKey: "2" }),
    ];
    assert.equal(hit(factory, routes, req("h", "/?animal=whale")), "ns/q/0");
    assert.equal(hit(factory, routes, req("h", "/?x=1&animal=whale&y")), "ns/q/0");
    assert.equal(hit(factory, routes, req("h", "/?animal=dolphin&animal=whale")), null);
    assert.equal(hit(factory, routes, req("h", "/?animal=whale&animal=dolphin")), "ns/q/0");
    assert.equal(hit(factory, routes, req("h", "/?Animal=whale")), null);
    assert.equal(hit(factory, routes, req("h", "/?id=42")), "ns/re/0");
    assert.equal(hit(factory, routes, req("h", "/?id=42a")), null);
    assert.equal(hit(factory, routes, req("h", "/?s=a%20b")), "ns/sp/0");
    assert.equal(hit(factory, routes, req("h", "/?s=a+b")), "ns/sp/0");
    assert.equal(hit(factory, routes, req("h", "/?%61nimal=whale")), "ns/q/0");
  });

  t("a query param match with an empty value needs the param present", () => {
    const routes = [route("ns/q/0", { matches: [{ queryParams: [hdr("flag", "")] }] })];
    assert.equal(hit(factory, routes, req("h", "/?flag")), "ns/q/0");
    assert.equal(hit(factory, routes, req("h", "/?flag=")), "ns/q/0");
    assert.equal(hit(factory, routes, req("h", "/?flags=")), null);
    assert.equal(hit(factory, routes, req("h", "/")), null);
  });

  t("all conditions of one match must hold (AND), any match of a rule may hold (OR)", () => {
    const routes = [route("ns/r/0", {
      matches: [
        { path: prefix("/a"), method: "GET", headers: [hdr("x", "1")] },
        { path: exact("/b") },
      ],
    })];
    const r = factory(routes);
    assert.equal(r.size, 2);
    assert.equal(r.match(req("h", "/a", { headers: { x: "1" } }))?.matchIndex, 0);
    assert.equal(r.match(req("h", "/a", { headers: { x: "2" } })), null);
    assert.equal(r.match(req("h", "/a", { method: "PUT", headers: { x: "1" } })), null);
    assert.equal(r.match(req("h", "/b"))?.matchIndex, 1);
  });

  t("older route (orderKey) wins ties regardless of input order", () => {
    const a = route("ns/a/0", { matches: [{ path: prefix("/") }], orderKey: "2024-02/ns/a" });
    const b = route("ns/b/0", { matches: [{ path: prefix("/") }], orderKey: "2024-01/ns/b" });
    assert.equal(hit(factory, [a, b], req("h", "/")), "ns/b/0");
    assert.equal(hit(factory, [b, a], req("h", "/")), "ns/b/0");
  });

  t("within one route, the lower rule index wins ties", () => {
    const r1 = route("ns/r/1", { orderKey: "k" });
    const r0 = route("ns/r/0", { orderKey: "k" });
    const r10 = route("ns/r/10", { orderKey: "k" });
    assert.equal(hit(factory, [r10, r1, r0], req("h", "/")), "ns/r/0");
    assert.equal(hit(factory, [r10, r1], req("h", "/")), "ns/r/1");
  });

  t("a route without matches behaves as PathPrefix /", () => {
    const routes = [
      route("ns/none/0", { orderKey: "0" }),
      route("ns/p/0", { matches: [{ path: prefix("/x") }], orderKey: "1" }),
    ];
    const r = factory(routes);
    const m = r.match(req("h", "/y"));
    assert.equal(m?.route.name, "ns/none/0");
    assert.equal(m?.matchIndex, -1);
    assert.equal(m?.matchedPrefix, "/");
    assert.equal(r.match(req("h", "/x/1"))?.route.name, "ns/p/0");
  });

  t("a match without a path behaves as PathPrefix /", () => {
    const routes = [route("ns/m/0", { matches: [{ method: "DELETE" }] })];
    const m = factory(routes).match(req("h", "/any/thing", { method: "DELETE" }));
    assert.equal(m?.route.name, "ns/m/0");
    assert.equal(m?.matchedPrefix, "/");
  });

  t("L4 routes are ignored", () => {
    const routes = [route("ns/tcp/0", { l4Protocol: "TCP" })];
    const r = factory(routes);
    assert.equal(r.size, 0);
    assert.equal(r.match(req("h", "/")), null);
  });

  t("an invalid regular expression fails compilation", () => {
    assert.throws(() => factory([route("ns/bad/0", { matches: [{ path: regex("/(") }] })]));
    assert.throws(() =>
      factory([route("ns/bad/0", { matches: [{ headers: [hdr("a", "[", true)] }] })])
    );
  });

  t("the result carries the route object itself", () => {
    const routes = [route("ns/a/0")];
    assert.equal(factory(routes).match(req("h", "/"))?.route, routes[0]);
  });

  // Gateway API conformance HTTPRouteMatchingAcrossRoutes (current manifest and cases).
  t("Gateway API conformance: matching across routes", () => {
    const routes = [
      route("gateway-conformance-infra/matching-part1/0", {
        hostnames: ["example.com", "example.net"],
        matches: [{ path: prefix("/") }, { headers: [hdr("version", "one")] }],
        orderKey: "2024-01-01T00:00:00Z/gateway-conformance-infra/matching-part1",
      }),
      route("gateway-conformance-infra/matching-part2/0", {
        hostnames: ["example.com"],
        matches: [{ path: prefix("/v2") }, { headers: [hdr("version", "two")] }],
        orderKey: "2024-01-01T00:00:00Z/gateway-conformance-infra/matching-part2",
      }),
    ];
    const p1 = "gateway-conformance-infra/matching-part1/0";
    const p2 = "gateway-conformance-infra/matching-part2/0";
    const cases: [string, string, Record<string, string>, string | null][] = [
      ["example.com", "/", {}, p1],
      ["example.com", "/example", {}, p1],
      ["example.net", "/example", {}, p1],
      ["example.com", "/example", { Version: "one" }, p1],
      ["example.com", "/v2", {}, p2],
      ["example.net", "/v2", {}, p1],
      ["example.com", "/v2/example", {}, p2],
      ["example.com", "/", { Version: "two" }, p2],
      ["example.org", "/", {}, null],
    ];
    for (const [host, path, headers, want] of cases) {
      assert.equal(hit(factory, routes, req(host, path, { headers })), want, `${host}${path}`);
    }
  });

  // Gateway API conformance HTTPRoutePathMatchOrder (one route, six rules).
  t("Gateway API conformance: path match order", () => {
    const rules: [string, "Exact" | "PathPrefix", string][] = [
      ["v1", "Exact", "/match"],
      ["v2", "Exact", "/match/exact"],
      ["v3", "Exact", "/match/exact/one"],
      ["v3", "PathPrefix", "/match/"],
      ["v1", "PathPrefix", "/match/prefix/"],
      ["v2", "PathPrefix", "/match/prefix/one"],
    ];
    const routes = rules.map(([, type, value], i) =>
      route(`gateway-conformance-infra/path-matching-order/${i}`, {
        matches: [{ path: { type, value } }],
        orderKey: "2024/gateway-conformance-infra/path-matching-order",
      })
    );
    const backend = (path: string) => {
      const m = factory(routes).match(req("gw", path));
      return m === null ? null : rules[Number(m.route.name.split("/").pop())][0];
    };
    assert.equal(backend("/match/exact/one"), "v3");
    assert.equal(backend("/match/exact"), "v2");
    assert.equal(backend("/match"), "v1");
    assert.equal(backend("/match/prefix/one/any"), "v2");
    assert.equal(backend("/match/prefix/any"), "v1");
    assert.equal(backend("/match/any"), "v3");
  });

  // Gateway API conformance HTTPRouteQueryParamMatching (one route, ten rules).
  t("Gateway API conformance: query param matching", () => {
    const q = (name: string, value: string) => hdr(name, value);
    const rules: [string, MatchSpec[]][] = [
      ["v1", [{ queryParams: [q("animal", "whale")] }]],
      ["v2", [{ queryParams: [q("animal", "dolphin")] }]],
      ["v3", [{ queryParams: [q("animal", "dolphin"), q("color", "blue")] }, {
        queryParams: [q("ANIMAL", "Whale")],
      }]],
      ["v1", [{ path: prefix("/path1"), queryParams: [q("animal", "whale")] }]],
      ["v2", [{ headers: [hdr("version", "one")], queryParams: [q("animal", "whale")] }]],
      ["v3", [{
        path: prefix("/path2"),
        headers: [hdr("version", "two")],
        queryParams: [q("animal", "whale")],
      }]],
      ["v1", [{ path: prefix("/path3"), queryParams: [q("animal", "shark")] }, {
        path: prefix("/path4"),
        headers: [hdr("version", "three")],
        queryParams: [q("animal", "kraken")],
      }]],
      ["v1", [{ path: prefix("/path5") }]],
      ["v2", [{ queryParams: [q("animal", "hydra")] }]],
      ["v3", [{ headers: [hdr("version", "four")] }]],
    ];
    const routes = rules.map(([, matches], i) =>
      route(`gw-conf-infra/query-param-matching/${i}`, { matches, orderKey: "k" })
    );
    const router = factory(routes);
    const backend = (target: string, headers: Record<string, string> = {}) => {
      const m = router.match(req("gw", target, { headers }));
      return m === null ? 404 : rules[Number(m.route.name.split("/").pop())][0];
    };
    const cases: [string, Record<string, string>, string | number][] = [
      ["/?animal=whale", {}, "v1"],
      ["/?animal=dolphin", {}, "v2"],
      ["/?animal=dolphin&color=blue", {}, "v3"],
      ["/?ANIMAL=Whale", {}, "v3"],
      ["/?animal=whale&otherparam=irrelevant", {}, "v1"],
      ["/?animal=dolphin&color=yellow", {}, "v2"],
      ["/?color=blue", {}, 404],
      ["/?animal=dog", {}, 404],
      ["/?animal=whaledolphin", {}, 404],
      ["/", {}, 404],
      ["/path1?animal=whale", {}, "v1"],
      ["/?animal=whale", { version: "one" }, "v2"],
      ["/path2?animal=whale", { version: "two" }, "v3"],
      ["/path3?animal=shark", {}, "v1"],
      ["/path4?animal=kraken", { version: "three" }, "v1"],
      ["/?animal=shark", {}, 404],
      ["/path4?animal=kraken", {}, 404],
      ["/path5?animal=hydra", {}, "v1"],
      ["/?animal=hydra", { version: "four" }, "v3"],
    ];
    for (const [target, headers, want] of cases) {
      assert.equal(backend(target, headers), want, `${target} ${JSON.stringify(headers)}`);
    }
  });

  // Gateway API conformance HTTPRouteMethodMatching (one route, nine rules).
  t("Gateway API conformance: method matching", () => {
    const v4 = hdr("version", "four");
    const rules: [string, MatchSpec[]][] = [
      ["v1", [{ method: "POST" }]],
      ["v2", [{ method: "GET" }]],
      ["v1", [{ path: prefix("/path1"), method: "GET" }]],
      ["v2", [{ headers: [hdr("version", "one")], method: "PUT" }]],
      ["v3", [{ path: prefix("/path2"), headers: [hdr("version", "two")], method: "POST" }]],
      ["v1", [{ path: prefix("/path3"), method: "PATCH" }, {
        path: prefix("/path4"),
        headers: [hdr("version", "three")],
        method: "DELETE",
      }]],
      ["v1", [{ path: prefix("/path5") }]],
      ["v2", [{ method: "PATCH" }]],
      ["v3", [{ headers: [v4] }]],
    ];
    const routes = rules.map(([, matches], i) =>
      route(`gw-conf-infra/method-matching/${i}`, { matches, orderKey: "k" })
    );
    const router = factory(routes);
    const cases: [string, string, Record<string, string>, string | number][] = [
      ["POST", "/", {}, "v1"],
      ["GET", "/", {}, "v2"],
      ["HEAD", "/", {}, 404],
      ["GET", "/path1", {}, "v1"],
      ["PUT", "/", { version: "one" }, "v2"],
      ["POST", "/path2", { version: "two" }, "v3"],
      ["PATCH", "/path3", {}, "v1"],
      ["DELETE", "/path4", { version: "three" }, "v1"],
      ["PUT", "/", {}, 404],
      ["DELETE", "/path4", {}, 404],
      ["PATCH", "/path5", {}, "v1"],
      ["PATCH", "/", { version: "four" }, "v2"],
    ];
    for (const [method, path, headers, want] of cases) {
      const m = router.match(req("gw", path, { method, headers }));
      const got = m === null ? 404 : rules[Number(m.route.name.split("/").pop())][0];
      assert.equal(got, want, `${method} ${path} ${JSON.stringify(headers)}`);
    }
  });
}
