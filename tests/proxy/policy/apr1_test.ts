import assert from "node:assert/strict";
import { apr1Hash, apr1Salt } from "../../../src/proxy/policy/apr1.ts";
import { HtpasswdVerifier } from "../../../src/proxy/policy/basic_auth.ts";
import { htpasswdHashKind } from "../../../src/proxy/policy/htpasswd_hash.ts";

/** The reference implementation on this machine: `openssl passwd -apr1`. */
async function opensslApr1(password: string, salt: string): Promise<string> {
  const out = await new Deno.Command("openssl", {
    args: ["passwd", "-apr1", "-salt", salt, "-stdin"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(password + "\n"));
  await w.close();
  const r = await out.output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("apr1: same hashes as openssl passwd -apr1 for passwords of every length class", async () => {
  const cases: [string, string][] = [
    ["a", "x"],
    ["password", "saltsalt"],
    ["s3cret!", "AbC./12"],
    ["exactly-sixteen!", "12345678"],
    ["a much longer password that spans several md5 blocks, 60+ chars", "zz"],
    ["ünïcødé", "u8"],
  ];
  for (const [pw, salt] of cases) {
    const want = await opensslApr1(pw, salt);
    assert.equal(apr1Hash(pw, salt), want, `${pw} / ${salt}`);
    assert.equal(apr1Salt(want), salt);
    assert.equal(htpasswdHashKind(want), "apr1");
  }
});

Deno.test("apr1: the verifier accepts the right password and refuses others", async () => {
  const stored = await opensslApr1("hunter2", "q1w2e3r4");
  const v = new HtpasswdVerifier([`admin:${stored}`, "bad:$apr1$salt$tooshort"]);
  assert.deepEqual(v.unsupported, ["bad"]);
  assert.equal(v.verify({ user: "admin", password: "hunter2" }), true);
  assert.equal(v.verify({ user: "admin", password: "hunter3" }), false);
  assert.equal(v.verify({ user: "admin", password: "" }), false);
  assert.equal(v.verify({ user: "bad", password: "anything" }), false);
});
