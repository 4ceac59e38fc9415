/** The server-name table of TLS ports: precedence and first-registration-wins. */
import assert from "node:assert/strict";
import { type L4Route, SniTable, type SniTarget } from "../../../src/proxy/l4/config.ts";
import { listener } from "../_helpers.ts";

function target(name: string): SniTarget {
  const route: L4Route = { name, backends: [], listener: listener("l", 1) };
  return { kind: "passthrough", route };
}

function routeOf(t: SniTarget | null): string | null {
  return t && t.kind !== "https" ? t.route.name : null;
}

Deno.test("SniTable: exact, then the most specific wildcard (one or more labels), then hostless", () => {
  const t = new SniTable();
  t.add(["*.example.com"], target("wild"));
  t.add(["*.b.example.com"], target("wild-b"));
  t.add(["a.b.example.com"], target("exact"));
  assert.equal(routeOf(t.lookup("a.b.example.com")), "exact");
  assert.equal(routeOf(t.lookup("x.b.example.com")), "wild-b");
  assert.equal(routeOf(t.lookup("x.y.example.com")), "wild", "a wildcard covers several labels");
  assert.equal(routeOf(t.lookup("example.com")), null, "the wildcard needs at least one label");
  assert.equal(routeOf(t.lookup("")), null);
  t.add([], target("any"));
  assert.equal(routeOf(t.lookup("example.com")), "any");
  assert.equal(routeOf(t.lookup("")), "any", "no SNI → only the hostless entry");
});

Deno.test("SniTable: the first registration of a name wins; names are case-insensitive", () => {
  const t = new SniTable();
  t.add(["Db.Example.com"], target("older"));
  t.add(["db.example.com"], target("newer"));
  t.add(["*.example.com"], target("w1"));
  t.add(["*.EXAMPLE.com"], target("w2"));
  assert.equal(routeOf(t.lookup("db.example.com")), "older");
  assert.equal(routeOf(t.lookup("x.example.com")), "w1");
  assert.equal(t.hasL4, true);
});
