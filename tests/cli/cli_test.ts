import assert from "node:assert/strict";

const main = new URL("../../src/main.ts", import.meta.url).pathname;
const report = new URL("../conformance/report.yaml", import.meta.url).pathname;

async function novaedge(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", main, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("novaedge with no role prints usage and exits 2", async () => {
  const r = await novaedge();
  assert.equal(r.code, 2);
  assert.match(r.stdout, /usage: novaedge <role>/);
  for (const role of ["controller", "agent", "snapshot dump", "version"]) {
    assert.ok(r.stdout.includes(role), `usage lists ${role}`);
  }
});

Deno.test("novaedge unknown role names it, prints usage, exits 2", async () => {
  const r = await novaedge("frobnicate");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown role "frobnicate"/);
  assert.match(r.stderr, /usage: novaedge <role>/);
});

Deno.test("novaedge snapshot without dump says what it expected", async () => {
  const r = await novaedge("snapshot", "list");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /did you mean "snapshot dump"/);
});

Deno.test("novaedge version prints the version", async () => {
  const r = await novaedge("version");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^novaedge \d+\.\d+\.\d+/);
});

Deno.test("novaedge agent --help lists its flags and exits 0", async () => {
  const r = await novaedge("agent", "--help");
  assert.equal(r.code, 0);
  for (const f of ["--config-dir", "--controller", "--admin-address", "--log-level"]) {
    assert.ok(r.stdout.includes(f), `help lists ${f}`);
  }
});

Deno.test("novaedge agent with an unknown flag names it, prints the role usage, exits 2", async () => {
  const r = await novaedge("agent", "--confg-dir", "x");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown flag "--confg-dir"/);
  assert.match(r.stderr, /usage: novaedge agent/);
});

Deno.test("novaedge agent without a configuration source says how to give one", async () => {
  const r = await novaedge("agent");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--config-dir DIR or --controller ADDR/);
});

Deno.test("novaedge agent rejects a bad --log-level", async () => {
  const r = await novaedge("agent", "--config-dir", ".", "--log-level", "loud");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log-level must be/);
});

// novaedge ctl through the real CLI: role dispatch and exit codes (0 / 1 / 2).

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
