import assert from "node:assert/strict";
import type { Cors } from "../../../src/snapshot/types.ts";
import {
  CORS_PREFLIGHT_STATUS,
  corsOriginAllowed,
  corsPreflight,
  corsResponseHeaders,
  isCorsPreflight,
} from "../../../src/proxy/filters/mod.ts";

const cors = (c: Partial<Cors>): Cors => ({
  allowOrigins: c.allowOrigins ?? [],
  allowMethods: c.allowMethods ?? [],
  allowHeaders: c.allowHeaders ?? [],
  exposeHeaders: c.exposeHeaders ?? [],
  allowCredentials: c.allowCredentials ?? false,
  maxAgeSeconds: c.maxAgeSeconds ?? 0,
});

const preflightReq = (origin: string, method = "PUT", headers?: string) => {
  const h = new Headers({ origin, "access-control-request-method": method });
  if (headers !== undefined) h.set("access-control-request-headers", headers);
  return h;
};

const ORIGINS: [string[], string, boolean][] = [
  [["https://www.foo.com"], "https://www.foo.com", true],
  [["https://www.foo.com"], "https://WWW.FOO.COM", true],
  [["https://www.foo.com"], "https://www.foo.com:443", true],
  [["https://www.foo.com"], "http://www.foo.com", false],
  [["https://www.foo.com"], "https://www.foo.com:8443", false],
  [["https://*.foo.com"], "https://a.foo.com", true],
  [["https://*.foo.com"], "https://a.b.foo.com", true],
  [["https://*.foo.com"], "https://foo.com", false],
  [["https://*.foo.com"], "http://a.foo.com", false],
  [["https://*.foo.com"], "https://a.foo.com.evil.net", false],
  [["https://*.foo.com"], "https://evil.net/.foo.com", false],
  [["http://*.foo.com:8080"], "http://a.foo.com:8080", true],
  [["http://*.foo.com:8080"], "http://a.foo.com", false],
  [["*.foo.com"], "https://x.foo.com", true],
  [["*"], "https://anything.example", true],
  [["*"], "null", true],
  [[], "https://www.foo.com", false],
];

for (const [allow, origin, want] of ORIGINS) {
  Deno.test(`corsOriginAllowed: ${JSON.stringify(allow)} ${origin} → ${want}`, () => {
    assert.equal(corsOriginAllowed(cors({ allowOrigins: allow }), origin), want);
  });
}

Deno.test("isCorsPreflight: needs OPTIONS, Origin and Access-Control-Request-Method", () => {
  assert.equal(isCorsPreflight("OPTIONS", preflightReq("https://a.com")), true);
  assert.equal(isCorsPreflight("GET", preflightReq("https://a.com")), false);
  assert.equal(isCorsPreflight("OPTIONS", new Headers({ origin: "https://a.com" })), false);
  assert.equal(
    isCorsPreflight("OPTIONS", new Headers({ "access-control-request-method": "GET" })),
    false,
  );
});

Deno.test("corsPreflight: not a preflight writes nothing and returns false", () => {
  const out = new Headers();
  assert.equal(
    corsPreflight(cors({ allowOrigins: ["*"] }), "GET", preflightReq("https://a"), out),
    false,
  );
  assert.equal([...out].length, 0);
});

// The Gateway API conformance suite's HTTPRouteCORS configuration ("cors-1").
const CONFORMANCE = cors({
  allowOrigins: ["https://www.foo.com", "https://*.bar.com"],
  allowMethods: ["GET", "OPTIONS"],
  allowHeaders: ["x-header-1", "x-header-2"],
  exposeHeaders: ["x-header-3", "x-header-4"],
  allowCredentials: true,
  maxAgeSeconds: 3600,
});

for (const origin of ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"]) {
  Deno.test(`corsPreflight: conformance cors-1 preflight from ${origin} is allowed`, () => {
    const out = new Headers();
    const h = preflightReq(origin, "GET", "x-header-1, x-header-2");
    assert.equal(corsPreflight(CONFORMANCE, "OPTIONS", h, out), true);
    assert.equal(out.get("access-control-allow-origin"), origin);
    assert.equal(out.get("access-control-allow-methods"), "GET, OPTIONS");
    assert.equal(out.get("access-control-allow-headers"), "x-header-1, x-header-2");
    assert.equal(out.get("access-control-expose-headers"), "x-header-3, x-header-4");
    assert.equal(out.get("access-control-allow-credentials"), "true");
    assert.equal(out.get("access-control-max-age"), "3600");
    assert.equal(out.get("vary"), "Origin");
  });
}

Deno.test("corsPreflight / corsResponseHeaders: conformance cors-1 non-matching origin", () => {
  const out = new Headers();
  assert.equal(
    corsPreflight(CONFORMANCE, "OPTIONS", preflightReq("https://foobar.com", "GET"), out),
    true,
  );
  assert.equal(out.get("access-control-allow-origin"), null);
  assert.equal(out.get("access-control-allow-methods"), null);
  assert.equal(out.get("vary"), "Origin");
  const resp = new Headers();
  corsResponseHeaders(CONFORMANCE, "https://foobar.com", resp);
  assert.equal(resp.get("access-control-allow-origin"), null);
});

Deno.test("corsResponseHeaders: conformance cors-1 simple requests echo the origin", () => {
  for (const origin of ["https://www.foo.com", "https://www.bar.com"]) {
    const out = new Headers();
    corsResponseHeaders(CONFORMANCE, origin, out);
    assert.equal(out.get("access-control-allow-origin"), origin);
  }
});

Deno.test("corsPreflight: conformance cors-2 wildcard methods without credentials", () => {
  const c = cors({ allowOrigins: ["https://www.foo.com"], allowMethods: ["*"] });
  const out = new Headers();
  corsPreflight(c, "OPTIONS", preflightReq("https://www.foo.com", "POST"), out);
  assert.equal(out.get("access-control-allow-origin"), "https://www.foo.com");
  assert.equal(out.get("access-control-allow-methods"), "POST");
  assert.equal(out.get("access-control-allow-credentials"), null);
});

Deno.test("corsPreflight: '*' origin without credentials echoes origin, method and headers", () => {
  const out = new Headers();
  const c = cors({ allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"] });
  corsPreflight(c, "OPTIONS", preflightReq("https://foobar.com:12345", "PUT", "x-a, x-b"), out);
  assert.equal(out.get("access-control-allow-origin"), "https://foobar.com:12345");
  assert.equal(out.get("access-control-allow-methods"), "PUT");
  assert.equal(out.get("access-control-allow-headers"), "x-a, x-b");
  assert.equal(out.get("access-control-allow-credentials"), null);
  assert.equal(out.get("vary"), "Origin");
});

Deno.test("corsPreflight: '*' with credentials echoes origin, method and headers", () => {
  const out = new Headers();
  const c = cors({
    allowOrigins: ["*"],
    allowMethods: ["*"],
    allowHeaders: ["*"],
    allowCredentials: true,
  });
  corsPreflight(
    c,
    "OPTIONS",
    preflightReq("https://other.foo.com", "PUT", "x-header-1, x-header-2"),
    out,
  );
  assert.equal(out.get("access-control-allow-origin"), "https://other.foo.com");
  assert.equal(out.get("access-control-allow-methods"), "PUT");
  assert.equal(out.get("access-control-allow-headers"), "x-header-1, x-header-2");
  assert.equal(out.get("access-control-allow-credentials"), "true");
});

Deno.test("corsPreflight: '*' headers with nothing requested sets no Allow-Headers", () => {
  const out = new Headers();
  corsPreflight(
    cors({ allowOrigins: ["*"], allowHeaders: ["*"] }),
    "OPTIONS",
    preflightReq("https://a.com"),
    out,
  );
  assert.equal(out.get("access-control-allow-headers"), null);
});

Deno.test("corsResponseHeaders: actual request from an allowed origin", () => {
  const out = new Headers({
    "access-control-allow-origin": "https://upstream-says.com",
    vary: "Accept-Encoding",
  });
  const c = cors({
    allowOrigins: ["https://www.foo.com"],
    exposeHeaders: ["x-header-3", "x-header-4"],
    allowCredentials: true,
  });
  corsResponseHeaders(c, "https://www.foo.com", out);
  assert.equal(out.get("access-control-allow-origin"), "https://www.foo.com");
  assert.equal(out.get("access-control-allow-credentials"), "true");
  assert.equal(out.get("access-control-expose-headers"), "x-header-3, x-header-4");
  assert.equal(out.get("vary"), "Accept-Encoding, Origin");
});

Deno.test("corsResponseHeaders: no Origin or a disallowed one adds no Allow headers", () => {
  const c = cors({ allowOrigins: ["https://www.foo.com"] });
  const a = new Headers();
  corsResponseHeaders(c, null, a);
  assert.equal([...a].length, 0);
  const b = new Headers();
  corsResponseHeaders(c, "https://evil.com", b);
  assert.equal(b.get("access-control-allow-origin"), null);
});

Deno.test("corsResponseHeaders: '*' expose header is dropped when credentials are allowed", () => {
  const out = new Headers();
  const c = cors({ allowOrigins: ["*"], exposeHeaders: ["*", "x-a"], allowCredentials: true });
  corsResponseHeaders(c, "https://a.com", out);
  assert.equal(out.get("access-control-expose-headers"), "x-a");
  assert.equal(out.get("access-control-allow-origin"), "https://a.com");
  const out2 = new Headers();
  corsResponseHeaders(cors({ allowOrigins: ["*"], exposeHeaders: ["*"] }), "https://a.com", out2);
  assert.equal(out2.get("access-control-expose-headers"), "*");
  assert.equal(out2.get("access-control-allow-credentials"), null);
});

Deno.test("corsResponseHeaders: Vary: Origin is not duplicated", () => {
  const out = new Headers({ vary: "origin" });
  corsResponseHeaders(cors({ allowOrigins: ["https://a.com"] }), "https://a.com", out);
  assert.equal(out.get("vary"), "origin");
});

Deno.test("CORS_PREFLIGHT_STATUS is 200", () => {
  assert.equal(CORS_PREFLIGHT_STATUS, 200);
});
