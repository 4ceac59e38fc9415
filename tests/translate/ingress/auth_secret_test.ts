import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import type { KubeObject } from "../../../src/store/types.ts";
import { authSecretProblems } from "../../../src/translate/ingress/auth_secret.ts";
import { HtpasswdVerifier } from "../../../src/proxy/policy/basic_auth.ts";

const sha = (pw: string) => `{SHA}${createHash("sha1").update(pw).digest("base64")}`;
const BCRYPT = bcrypt.hashSync("s3cret", 4);

function secret(body: { data?: Record<string, string>; stringData?: Record<string, string> }) {
  const o: KubeObject = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "auth", namespace: "shop" },
    ...body,
  };
  return new Map([["shop/auth", o]]);
}

Deno.test("auth secret: {SHA} and bcrypt users in key auth (stringData or base64 data) are usable", () => {
  const text = `# team\nalice:${sha("pw")}\n\nbob:${BCRYPT}\n`;
  assert.deepEqual(authSecretProblems("shop", "auth", secret({ stringData: { auth: text } })), []);
  const b64 = Buffer.from(text).toString("base64");
  assert.deepEqual(authSecretProblems("shop", "auth", secret({ data: { auth: b64 } })), []);
});

Deno.test("auth secret: what the check accepts, the proxy's verifier can check", () => {
  // Keeps this module's hash formats in step with src/proxy/policy/basic_auth.ts.
  const lines = [`alice:${sha("pw")}`, `bob:${BCRYPT}`, "carol:$apr1$abc$def", "dave:plain"];
  const v = new HtpasswdVerifier(lines);
  const problems = authSecretProblems(
    "shop",
    "auth",
    secret({ stringData: { auth: lines.join("\n") } }),
  );
  assert.equal(problems.length, 1);
  for (const u of v.unsupported) assert.ok(problems[0].message.includes(JSON.stringify(u)), u);
  assert.deepEqual(v.unsupported, ["carol", "dave"]);
});

Deno.test("auth secret: unusable Secrets are access-control problems naming the annotation and Secret", () => {
  const cases: [string, Map<string, KubeObject>, RegExp][] = [
    ["missing", new Map(), /Secret shop\/auth does not exist/],
    [
      "wrong key",
      secret({ stringData: { htpasswd: `a:${sha("x")}` } }),
      /has no key "auth" \(it has "htpasswd"\)/,
    ],
    ["no keys", secret({}), /has no key "auth" \(it has no keys\)/],
    [
      "bad base64",
      secret({ data: { auth: "***" } }),
      /cannot be read: data.auth: not valid base64/,
    ],
    ["only comments", secret({ stringData: { auth: "# none\n\n" } }), /has no usable user; /],
    [
      "no colon",
      secret({ stringData: { auth: "justaname\n" } }),
      /line\(s\) 1 are not "user:hash"/,
    ],
    ["empty user", secret({ stringData: { auth: `:${sha("x")}` } }), /line\(s\) 1 are not/],
    [
      "apr1 only",
      secret({ stringData: { auth: "admin:$apr1$abc$def" } }),
      /user\(s\) "admin" use a hash/,
    ],
  ];
  for (const [what, secrets, want] of cases) {
    const p = authSecretProblems("shop", "auth", secrets);
    assert.equal(p.length, 1, what);
    assert.equal(p[0].annotation, "nginx.ingress.kubernetes.io/auth-secret", what);
    assert.equal(p[0].security, true, `${what} must fail the Ingress closed`);
    assert.match(p[0].message, want, what);
    assert.match(p[0].message, /Secret shop\/auth/, what);
  }
});

Deno.test("auth secret: some unusable entries are reported (line numbers of the file) but not fatal", () => {
  const text = `alice:${sha("pw")}\n\nnocolon\nbob:$apr1$x$y\n`;
  const p = authSecretProblems("shop", "auth", secret({ stringData: { auth: text } }));
  assert.equal(p.length, 1);
  assert.notEqual(p[0].security, true);
  assert.match(p[0].message, /line\(s\) 3 are not "user:hash"; user\(s\) "bob" use a hash/);
});
