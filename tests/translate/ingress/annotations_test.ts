import assert from "node:assert/strict";
import {
  NGINX_PREFIX,
  parseAnnotations,
  parseSize,
  secondsToDuration,
  SUPPORTED_ANNOTATIONS,
} from "../../../src/translate/ingress/annotations.ts";
import { DURATION_PATTERN } from "../../../src/crds/common.ts";

Deno.test("secondsToDuration gives valid Gateway API durations", () => {
  const re = new RegExp(DURATION_PATTERN);
  for (
    const [s, want] of [[0, "0s"], [5, "5s"], [90, "1m30s"], [3600, "1h"], [1728000, "480h"], [
      3661,
      "1h1m1s",
    ]] as const
  ) {
    assert.equal(secondsToDuration(s), want);
    assert.ok(re.test(want));
  }
});

Deno.test("parseSize understands nginx units", () => {
  assert.equal(parseSize("100"), 100);
  assert.equal(parseSize("8k"), 8192);
  assert.equal(parseSize("8m"), 8 * 1024 * 1024);
  assert.equal(parseSize("1G"), 1024 ** 3);
  assert.equal(parseSize("1t"), undefined);
  assert.equal(parseSize("lots"), undefined);
});

Deno.test("parseAnnotations reports every unknown nginx annotation and ignores other prefixes", () => {
  const { problems } = parseAnnotations({
    [`${NGINX_PREFIX}server-snippet`]: "x",
    [`${NGINX_PREFIX}auth-url`]: "http://auth",
    "example.com/other": "y",
  }, "ns");
  assert.deepEqual(problems.map((p) => p.annotation).sort(), [
    `${NGINX_PREFIX}auth-url`,
    `${NGINX_PREFIX}server-snippet`,
  ]);
  // An access-control annotation NovaEdge cannot apply must make the Ingress fail closed.
  assert.equal(problems.find((p) => p.annotation.endsWith("auth-url"))!.security, true);
  assert.notEqual(problems.find((p) => p.annotation.endsWith("server-snippet"))!.security, true);
});

Deno.test("docs table lists exactly the supported annotations", () => {
  const doc = Deno.readTextFileSync(
    new URL("../../../docs/ingress-nginx-annotations.md", import.meta.url),
  );
  const listed = [...doc.matchAll(/^\| `nginx\.ingress\.kubernetes\.io\/([a-z0-9-]+)` +\|/gm)].map((
    m,
  ) => m[1]).sort();
  assert.deepEqual(listed, Object.keys(SUPPORTED_ANNOTATIONS).sort());
  // The "Maps to" column says what the code says (a stale row misleads migrating users).
  const rows = [
    ...doc.matchAll(
      /^\| `nginx\.ingress\.kubernetes\.io\/([a-z0-9-]+)` +\| *\S+ *\| *(.*?) *\|$/gm,
    ),
  ];
  assert.equal(rows.length, listed.length, "every table row has a Maps to column");
  for (const [, name, mapsTo] of rows) {
    assert.equal(mapsTo.replaceAll("\\|", "|"), SUPPORTED_ANNOTATIONS[name], `row ${name}`);
  }
});

Deno.test("redirect targets are checked and split up once, in parseAnnotations", () => {
  const r = (annotations: Record<string, string>) => parseAnnotations(annotations, "ns");
  const p = r({ [`${NGINX_PREFIX}permanent-redirect`]: "https://example.com:8443/new?q=1#f" });
  assert.deepEqual(p.config.redirect, {
    scheme: "https",
    hostname: "example.com",
    port: 8443,
    path: "/new",
    code: 301,
  });
  assert.deepEqual(p.problems.map((x) => x.annotation), [`${NGINX_PREFIX}permanent-redirect`]);
  // The default port is not spelled out; an empty path is "/".
  assert.deepEqual(
    r({ [`${NGINX_PREFIX}temporal-redirect`]: "http://example.com:80" }).config.redirect,
    {
      scheme: "http",
      hostname: "example.com",
      port: undefined,
      path: "/",
      code: 302,
    },
  );
  for (const bad of ["/relative", "ftp://example.com/x"]) {
    const q = r({ [`${NGINX_PREFIX}temporal-redirect`]: bad });
    assert.equal(q.config.redirect, undefined, bad);
    assert.equal(q.problems.length, 1, bad);
  }
});

Deno.test("limit-connections becomes a per-client connection limit; 0 is off; too large reported", () => {
  const r = (v: string) => parseAnnotations({ [`${NGINX_PREFIX}limit-connections`]: v }, "ns");
  const ok = r("10");
  assert.equal(ok.config.limitConnections, 10);
  assert.deepEqual(ok.problems, []);
  const off = r("0");
  assert.equal(off.config.limitConnections, undefined);
  assert.deepEqual(off.problems, []);
  for (const bad of ["2000000", "-1", "ten"]) {
    const p = r(bad);
    assert.equal(p.config.limitConnections, undefined, bad);
    assert.deepEqual(p.problems.map((x) => x.annotation), [`${NGINX_PREFIX}limit-connections`]);
  }
});
