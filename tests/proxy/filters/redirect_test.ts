import assert from "node:assert/strict";
import type { Redirect } from "../../../src/snapshot/types.ts";
import { type RedirectInput, redirectLocation } from "../../../src/proxy/filters/mod.ts";

const r = (x: Partial<Redirect>): Redirect => ({
  scheme: x.scheme ?? "",
  hostname: x.hostname ?? "",
  port: x.port ?? 0,
  path: x.path,
  statusCode: x.statusCode ?? 0,
});
const req = (x: Partial<RedirectInput> = {}): RedirectInput => ({
  scheme: x.scheme ?? "http",
  host: x.host ?? "example.com",
  port: x.port === undefined ? 80 : x.port,
  path: x.path ?? "/",
  query: x.query ?? "",
  matchedPrefix: x.matchedPrefix,
});

const CASES: [string, Redirect, RedirectInput, number, string][] = [
  ["defaults: 302, same URL", r({}), req({ path: "/a" }), 302, "http://example.com/a"],
  [
    "query is kept",
    r({ hostname: "b.com" }),
    req({ path: "/a", query: "x=1&y" }),
    302,
    "http://b.com/a?x=1&y",
  ],
  ["status 301", r({ statusCode: 301 }), req(), 301, "http://example.com/"],
  ["status 303", r({ statusCode: 303 }), req(), 303, "http://example.com/"],
  ["status 307", r({ statusCode: 307 }), req(), 307, "http://example.com/"],
  ["status 308", r({ statusCode: 308 }), req(), 308, "http://example.com/"],
  [
    "unsupported status falls back to 302",
    r({ statusCode: 200 }),
    req(),
    302,
    "http://example.com/",
  ],
  // Port rules.
  [
    "scheme http→https drops the listener port",
    r({ scheme: "https" }),
    req({ port: 8080, path: "/p" }),
    302,
    "https://example.com/p",
  ],
  [
    "scheme https→http drops the listener port",
    r({ scheme: "http" }),
    req({ scheme: "https", port: 8443 }),
    302,
    "http://example.com/",
  ],
  [
    "no scheme: the listener port is kept",
    r({ hostname: "b.com" }),
    req({ port: 8080 }),
    302,
    "http://b.com:8080/",
  ],
  [
    "no scheme on :80 http: no port written",
    r({ hostname: "b.com" }),
    req({ port: 80 }),
    302,
    "http://b.com/",
  ],
  [
    "no scheme on :443 https: no port written",
    r({}),
    req({ scheme: "https", port: 443 }),
    302,
    "https://example.com/",
  ],
  [
    "https on :80 listener keeps :80 (not its default)",
    r({}),
    req({ scheme: "https", port: 80 }),
    302,
    "https://example.com:80/",
  ],
  ["explicit port is written", r({ port: 8083 }), req(), 302, "http://example.com:8083/"],
  [
    "explicit port and hostname (conformance redirect-port-and-host)",
    r({ hostname: "example.org", port: 8083 }),
    req({ path: "/port-and-host" }),
    302,
    "http://example.org:8083/port-and-host",
  ],
  [
    "explicit default port is omitted",
    r({ scheme: "https", port: 443 }),
    req(),
    302,
    "https://example.com/",
  ],
  [
    "scheme and explicit port",
    r({ scheme: "https", port: 8443 }),
    req(),
    302,
    "https://example.com:8443/",
  ],
  [
    "unknown listener port: nothing written",
    r({}),
    req({ port: null }),
    302,
    "http://example.com/",
  ],
  // Paths.
  [
    "ReplaceFullPath",
    r({ path: { type: "ReplaceFullPath", value: "/full" } }),
    req({ path: "/a/b", query: "q=1" }),
    302,
    "http://example.com/full?q=1",
  ],
  [
    "ReplacePrefixMatch",
    r({ path: { type: "ReplacePrefixMatch", value: "/new" } }),
    req({ path: "/old/x", matchedPrefix: "/old" }),
    302,
    "http://example.com/new/x",
  ],
  [
    "ReplacePrefixMatch to /",
    r({ path: { type: "ReplacePrefixMatch", value: "/" } }),
    req({ path: "/old", matchedPrefix: "/old" }),
    302,
    "http://example.com/",
  ],
  [
    "IPv6 hostname is bracketed",
    r({ hostname: "fd00::1", port: 8080 }),
    req(),
    302,
    "http://[fd00::1]:8080/",
  ],
];

for (const [name, rd, input, status, location] of CASES) {
  Deno.test(`redirectLocation: ${name}`, () => {
    assert.deepEqual(redirectLocation(rd, input), { status, location });
  });
}

// Gateway API conformance HTTPRouteRedirectPortAndScheme: [listener scheme, listener port,
// filter scheme, filter port, expected Location].
const PORT_AND_SCHEME: [string, number, string, number, string][] = [
  ["http", 80, "", 0, "http://example.org/"],
  ["http", 80, "", 80, "http://example.org/"],
  ["http", 80, "", 8080, "http://example.org:8080/"],
  ["http", 80, "https", 0, "https://example.org/"],
  ["http", 80, "https", 443, "https://example.org/"],
  ["http", 80, "https", 8443, "https://example.org:8443/"],
  ["http", 8080, "", 0, "http://example.org:8080/"],
  ["http", 8080, "", 80, "http://example.org/"],
  ["http", 8080, "https", 0, "https://example.org/"],
  ["https", 443, "", 0, "https://example.org/"],
  ["https", 443, "", 443, "https://example.org/"],
  ["https", 443, "", 8443, "https://example.org:8443/"],
  ["https", 443, "http", 0, "http://example.org/"],
  ["https", 443, "http", 80, "http://example.org/"],
  ["https", 443, "http", 8080, "http://example.org:8080/"],
];

for (const [ls, lp, scheme, port, want] of PORT_AND_SCHEME) {
  Deno.test(`redirectLocation: conformance port/scheme ${ls}:${lp} scheme=${scheme || "nil"} port=${port || "nil"}`, () => {
    const out = redirectLocation(
      r({ scheme, port, hostname: "example.org" }),
      req({ scheme: ls, port: lp, host: "gw.local" }),
    );
    assert.deepEqual(out, { status: 302, location: want });
  });
}
