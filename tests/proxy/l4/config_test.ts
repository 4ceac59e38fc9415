/** Name lookup on TLS ports: listener first (Gateway API precedence), then its routes. */
import assert from "node:assert/strict";
import { HostTable, type L4Route, SniTable, type SniTarget } from "../../../src/proxy/l4/config.ts";
import type { Listener } from "../../../src/snapshot/types.ts";
import { listener } from "../_helpers.ts";

function target(name: string, l: Listener): SniTarget {
  const route: L4Route = { name, backends: [], listener: l };
  return { kind: "passthrough", route };
}

function routeOf(t: SniTarget | null): string | null {
  if (t === null) return null;
  return t.kind === "https" ? `https:${t.listener.name}` : t.route.name;
}

Deno.test("HostTable: exact, then the most specific wildcard (one or more labels), then hostless; first wins", () => {
  const t = new HostTable<string>();
  t.add(["*.example.com"], "wild");
  t.add(["*.b.example.com"], "wild-b");
  t.add(["A.b.example.com"], "exact");
  t.add(["a.b.example.com"], "later");
  assert.equal(t.lookup("a.b.example.com"), "exact");
  assert.equal(t.lookup("x.b.example.com"), "wild-b");
  assert.equal(t.lookup("x.y.example.com"), "wild", "a wildcard covers several labels");
  assert.equal(t.lookup("example.com"), null, "the wildcard needs at least one label");
  assert.equal(t.lookup(""), null);
  t.add([], "any");
  assert.equal(t.lookup("example.com"), "any");
  assert.equal(t.lookup(""), "any", "no name → only the hostless entry");
});

Deno.test("SniTable: the best listener is chosen first, then a route of that listener", () => {
  // The shape of Gateway API's TLSRouteHostnameIntersection with every listener on one port.
  const exact = listener("exact", 443, { protocol: "TLS", hostnames: ["abc.example.com"] });
  const wild = listener("wild", 443, { protocol: "TLS", hostnames: ["*.example.com"] });
  const com = listener("com", 443, { protocol: "TLS", hostnames: ["*.com"] });
  const any = listener("any", 443, { protocol: "TLS" });
  const web = listener("web", 443, { protocol: "HTTPS", hostnames: ["www.example.com"] });
  const t = new SniTable();
  for (const l of [exact, wild, com, any]) t.addListener(l, false);
  t.addListener(web, true);
  t.addRoute(exact, ["abc.example.com"], target("exact/abc", exact));
  t.addRoute(wild, ["abc.example.com"], target("wild/abc", wild));
  t.addRoute(wild, ["*.example.com"], target("wild/*", wild));
  t.addRoute(com, ["abc.example.com"], target("com/abc", com));
  t.addRoute(com, ["*.example.com"], target("com/*", com));
  t.addRoute(any, ["*.com"], target("any/*.com", any));
  assert.equal(routeOf(t.lookup("abc.example.com")), "exact/abc");
  assert.equal(routeOf(t.lookup("other.example.com")), "wild/*");
  assert.equal(routeOf(t.lookup("www.example.com")), "https:web");
  // *.com is the best listener; none of its routes takes the name: refused,
  // even though the hostless listener has a *.com route.
  assert.equal(routeOf(t.lookup("non.matching.com")), null);
  assert.equal(routeOf(t.lookup("non.matching.org")), null);
  assert.equal(routeOf(t.lookup("")), null);
});

Deno.test("SniTable: a route without hostnames takes every name its listener takes", () => {
  const l = listener("l", 443, { protocol: "TLS", hostnames: ["*.example.com"] });
  const t = new SniTable();
  t.addListener(l, false);
  t.addRoute(l, [], target("r", l));
  assert.equal(routeOf(t.lookup("a.example.com")), "r");
  assert.equal(routeOf(t.lookup("a.example.org")), null);
});
