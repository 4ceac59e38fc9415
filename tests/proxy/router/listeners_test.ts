import assert from "node:assert/strict";
import { compileListenerRouter } from "../../../src/proxy/router/listeners.ts";
import type { Route } from "../../../src/snapshot/types.ts";
import { listener } from "../_helpers.ts";
import { exact, prefix, req, route } from "./helpers.ts";

/** A route attached to the given listeners only. */
function on(listeners: string[], r: Route): Route {
  return { ...r, listeners };
}

// The GatewayHTTPListenerIsolation shape: one port, a hostless listener, an
// exact one, a wildcard and a more specific wildcard, each with its own route.
const ls = [
  listener("empty-hostname", 80),
  listener("wildcard-example-com", 80, { hostnames: ["*.example.com"] }),
  listener("wildcard-foo-example-com", 80, { hostnames: ["*.foo.example.com"] }),
  listener("abc-foo-example-com", 80, { hostnames: ["abc.foo.example.com"] }),
];
const routes = [
  on(["empty-hostname"], route("ns/empty/0", { matches: [{ path: prefix("/empty-hostname") }] })),
  on(
    ["wildcard-example-com"],
    route("ns/wc/0", { matches: [{ path: prefix("/wildcard-example-com") }] }),
  ),
  on(
    ["wildcard-foo-example-com"],
    route("ns/wcfoo/0", { matches: [{ path: prefix("/wildcard-foo-example-com") }] }),
  ),
  on(
    ["abc-foo-example-com"],
    route("ns/abc/0", { matches: [{ path: prefix("/abc-foo-example-com") }] }),
  ),
];

function routeFor(host: string, path: string): string | null {
  return compileListenerRouter(ls, routes).match(req(host, path))?.route.name ?? null;
}

Deno.test("listener isolation: each host reaches only its own listener's routes", () => {
  assert.equal(routeFor("bar.com", "/empty-hostname"), "ns/empty/0");
  assert.equal(routeFor("bar.com", "/wildcard-example-com"), null);
  assert.equal(routeFor("bar.example.com", "/wildcard-example-com"), "ns/wc/0");
  // A more specific listener's host does not fall through to a less specific listener.
  assert.equal(routeFor("bar.example.com", "/empty-hostname"), null);
  assert.equal(routeFor("bar.foo.example.com", "/wildcard-foo-example-com"), "ns/wcfoo/0");
  assert.equal(routeFor("bar.foo.example.com", "/wildcard-example-com"), null);
  assert.equal(routeFor("abc.foo.example.com", "/abc-foo-example-com"), "ns/abc/0");
  assert.equal(routeFor("abc.foo.example.com", "/wildcard-foo-example-com"), null);
  assert.equal(routeFor("abc.foo.example.com", "/empty-hostname"), null);
});

Deno.test("listener isolation: a route naming no listener attaches to every listener", () => {
  const r = compileListenerRouter(ls, [route("ns/all/0", { matches: [{ path: exact("/x") }] })]);
  for (const host of ["a.com", "a.example.com", "abc.foo.example.com"]) {
    assert.equal(r.match(req(host, "/x"))?.route.name, "ns/all/0", host);
  }
  assert.equal(r.size, 4);
});

Deno.test("listener isolation: listeners with the same hostnames share one router (shared port)", () => {
  const r = compileListenerRouter(
    [listener("gw1-http", 80), listener("gw2-http", 80)],
    [
      on(["gw1-http"], route("ns/one/0", { matches: [{ path: exact("/one") }] })),
      on(["gw2-http"], route("ns/two/0", { matches: [{ path: exact("/two") }] })),
    ],
  );
  assert.equal(r.match(req("h", "/one"))?.route.name, "ns/one/0");
  assert.equal(r.match(req("h", "/two"))?.route.name, "ns/two/0");
  assert.equal(r.listenerFor("h"), "gw1-http,gw2-http");
});

Deno.test("misdirected: the server name and the host select different listeners", () => {
  const r = compileListenerRouter([
    listener("https", 443),
    listener("second", 443, { hostnames: ["second-example.org"] }),
    listener("wild", 443, { hostnames: ["*.wildcard.org"] }),
    listener("fourth", 443, { hostnames: ["fourth-example.wildcard.org"] }),
  ], []);
  const cases: [string, string, boolean][] = [
    ["example.org", "example.org", false],
    ["example.org", "second-example.org", true],
    ["example.org", "unknown-example.org", false],
    ["second-example.org", "example.org", true],
    ["third-example.wildcard.org", "fith-example.wildcard.org", false],
    ["third-example.wildcard.org", "fourth-example.wildcard.org", true],
    ["fourth-example.wildcard.org", "fith-example.wildcard.org", true],
    ["Unknown-Example.org", "example.org", false],
    ["", "second-example.org", false], // no SNI: nothing was negotiated for a name
  ];
  for (const [sni, host, want] of cases) {
    assert.equal(r.misdirected(sni, host), want, `${sni} ${host}`);
  }
});

Deno.test("misdirected: a host no listener serves is not misdirected; one listener never is", () => {
  const named = compileListenerRouter([
    listener("a", 443, { hostnames: ["a.test"] }),
    listener("b", 443, { hostnames: ["b.test"] }),
  ], []);
  assert.equal(named.misdirected("a.test", "b.test"), true);
  assert.equal(named.misdirected("a.test", "c.test"), false);
  const one = compileListenerRouter([listener("a", 443, { hostnames: ["a.test"] })], []);
  assert.equal(one.isolating, false);
  assert.equal(one.misdirected("a.test", "b.test"), false);
});

Deno.test("a listener whose routes do not compile is named in the error", () => {
  const bad = on(
    ["second"],
    route("ns/bad/0", { matches: [{ path: { type: "RegularExpression", value: "(" } }] }),
  );
  assert.throws(
    () =>
      compileListenerRouter(
        [listener("first", 80), listener("second", 80, { hostnames: ["a.b"] })],
        [bad],
      ),
    /routes of listener second do not compile/,
  );
});
