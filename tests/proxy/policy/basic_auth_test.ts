import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import bcrypt from "bcryptjs";
import { HtpasswdVerifier, parseBasicAuthorization } from "../../../src/proxy/policy/basic_auth.ts";

const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
const shaLine = (u: string, p: string) =>
  `${u}:{SHA}${createHash("sha1").update(p).digest("base64")}`;

Deno.test("parseBasicAuthorization: valid and malformed headers", () => {
  assert.deepEqual(parseBasicAuthorization(`Basic ${b64("alice:s3cret")}`), {
    user: "alice",
    password: "s3cret",
  });
  assert.deepEqual(parseBasicAuthorization(`basic   ${b64("bob:pa:ss")}  `), {
    user: "bob",
    password: "pa:ss",
  });
  assert.deepEqual(parseBasicAuthorization(`Basic ${b64("jürgen:päss")}`), {
    user: "jürgen",
    password: "päss",
  });
  assert.deepEqual(parseBasicAuthorization(`Basic ${b64("u:")}`), { user: "u", password: "" });
  const bad: (string | null)[] = [
    null,
    "",
    "Basic",
    "Basic ",
    "Bearer abc",
    "Basic !!!notbase64",
    `Basic ${b64("nocolon")}`,
    `Basic ${b64(":nouser")}`,
    "Basic " + btoa("\xff\xfe:x"), // invalid UTF-8
    "Basic abc", // wrong padding length
  ];
  for (const h of bad) assert.equal(parseBasicAuthorization(h), null, String(h));
});

Deno.test("htpasswd {SHA}: right and wrong passwords, unknown users", () => {
  const v = new HtpasswdVerifier([shaLine("alice", "s3cret"), shaLine("bob", "hunter2")]);
  assert.equal(v.verify({ user: "alice", password: "s3cret" }), true);
  assert.equal(v.verify({ user: "alice", password: "hunter2" }), false);
  assert.equal(v.verify({ user: "bob", password: "hunter2" }), true);
  assert.equal(v.verify({ user: "carol", password: "s3cret" }), false);
  assert.equal(v.verify({ user: "alice", password: "" }), false);
});

Deno.test("htpasswd bcrypt ($2a$, $2b$, $2y$): async verification, success cached", async () => {
  const h = bcrypt.hashSync("correct horse", 4); // $2b$ from bcryptjs
  const lines = [
    `b:${h}`,
    `a:$2a$${h.slice(4)}`,
    `y:$2y$${h.slice(4)}`,
  ];
  const v = new HtpasswdVerifier(lines);
  assert.deepEqual(v.unsupported, []);
  for (const user of ["a", "b", "y"]) {
    const first = v.check({ user, password: "correct horse" });
    assert.equal(typeof first, "function", "bcrypt needs the slow path the first time");
    assert.equal(await (first as () => Promise<boolean>)(), true, user);
    assert.equal(v.check({ user, password: "correct horse" }), true, "then it is cached");
    assert.equal(await v.verify({ user, password: "wrong" }), false);
  }
  assert.equal(v.cacheSize, 3, "failures are not cached");
});

Deno.test("htpasswd: bcrypt cache is bounded", async () => {
  const v = new HtpasswdVerifier(
    ["u1", "u2", "u3"].map((u) => `${u}:${bcrypt.hashSync("pw", 4)}`),
    2,
  );
  for (const u of ["u1", "u2", "u3"]) {
    assert.equal(await v.verify({ user: u, password: "pw" }), true);
  }
  assert.equal(v.cacheSize, 2);
  assert.equal(typeof v.check({ user: "u1", password: "pw" }), "function", "u1 was evicted");
  assert.equal(v.check({ user: "u3", password: "pw" }), true);
});

Deno.test("htpasswd: unsupported formats never match and are reported", () => {
  const v = new HtpasswdVerifier([
    "md5:$apr1$abc$def",
    "plain:password",
    "badsha:{SHA}short",
    "nocolonline",
    shaLine("ok", "pw"),
  ]);
  assert.deepEqual(v.unsupported, ["md5", "plain", "badsha"]);
  assert.equal(v.verify({ user: "plain", password: "password" }), false);
  assert.equal(v.verify({ user: "md5", password: "" }), false);
  assert.equal(v.verify({ user: "ok", password: "pw" }), true);
});

Deno.test("htpasswd: the first line for a user wins", () => {
  const v = new HtpasswdVerifier([shaLine("u", "one"), shaLine("u", "two")]);
  assert.equal(v.verify({ user: "u", password: "one" }), true);
  assert.equal(v.verify({ user: "u", password: "two" }), false);
});
