/** `novaedge ctl` through the real CLI: role dispatch and exit codes (0 / 1 / 2). */
import assert from "node:assert/strict";

const main = new URL("../../src/main.ts", import.meta.url).pathname;
const report = new URL("../conformance/report.yaml", import.meta.url).pathname;

async function novaedge(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", main, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("novaedge usage lists ctl; ctl --help exits 0", async () => {
  const usage = await novaedge("--help");
  assert.match(usage.stdout, /^ {2}ctl\s+read-only views/m);
  const help = await novaedge("ctl", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /gateway-api describe-gateway NAME/);
});

Deno.test("novaedge ctl: usage problems exit 2 with the ctl usage", async () => {
  for (const args of [[], ["gateway-api", "nope"], ["gateway-api", "gateways", "-o", "wide"]]) {
    const r = await novaedge("ctl", ...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^novaedge ctl: /);
    assert.match(r.stderr, /usage: novaedge ctl <command>/);
  }
});

Deno.test("novaedge ctl: a problem the user can fix is one line on stderr, exit 1", async () => {
  const r = await novaedge("ctl", "gateway-api", "gateways", "--kubeconfig", "/nonexistent/kc");
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr.trim(),
    "novaedge ctl: kubeconfig /nonexistent/kc does not exist: pass the path of a readable kubeconfig to --kubeconfig",
  );
  assert.equal(r.stdout, "");
});

Deno.test("novaedge ctl conformance prints the report's per-profile table", async () => {
  const r = await novaedge("ctl", "conformance", "--report", report);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Gateway API v\d+\.\d+\.\d+ /);
  assert.match(r.stdout, /^PROFILE\s+LEVEL\s+RESULT\s+PASSED\s+FAILED\s+SKIPPED\s+FAILED TESTS$/m);
  assert.match(r.stdout, /^GATEWAY-HTTP\s+core\s+\S+\s+\d+/m);
});
