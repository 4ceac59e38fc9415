/**
 * build.ts end to end: the bundle is built, runs from an empty directory, and
 * compile explains itself without a denort runtime.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;
const dec = new TextDecoder();

async function sh(args: string[], env: Record<string, string> = {}, cwd = root) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("build.ts bundles dist/novaedge.js, which runs on its own; compile says why it cannot run", async () => {
  const build = await sh(["run", "-A", "build.ts"], { DENORT_BIN: "" });
  assert.equal(build.code, 0, build.stderr);
  assert.match(build.stdout, /bundled .*dist\/novaedge\.js/);
  assert.match(build.stdout, /not compiling binaries: `deno compile` needs a denort runtime/);
  assert.match(build.stdout, /Set DENORT_BIN/);

  const empty = await Deno.makeTempDir({ prefix: "novaedge-bundle-" });
  try {
    const bundle = `${root}dist/novaedge.js`;
    const version = await sh(["run", "-A", "--unstable-net", bundle, "version"], {}, empty);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^novaedge \d/);
    const dump = await sh(
      [
        "run",
        "-A",
        "--unstable-net",
        bundle,
        "snapshot",
        "dump",
        "--config-dir",
        `${root}examples/quickstart/config`,
        "--format",
        "json",
      ],
      {},
      empty,
    );
    assert.equal(dump.code, 0, dump.stderr);
    const doc = JSON.parse(dump.stdout);
    assert.match(doc.snapshot.version, /^v[0-9a-f]+$/);
    assert.equal(doc.snapshot.listeners[0].port, 8080);
    const bad = await sh(["run", "-A", "--unstable-net", bundle, "nope"], {}, empty);
    assert.equal(bad.code, 2);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("build.ts refuses an unusable DENORT_BIN with a clear message", async () => {
  const r = await sh(["run", "-A", "build.ts"], { DENORT_BIN: "/nonexistent/denort" });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /DENORT_BIN=\/nonexistent\/denort cannot be used/);
});

Deno.test("build.ts --require-compile fails without DENORT_BIN", async () => {
  const r = await sh(["run", "-A", "build.ts", "--require-compile"], { DENORT_BIN: "" });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /Set DENORT_BIN/);
});

Deno.test("build.ts builds novactl: its entry fixes the ctl role", async () => {
  const { BINARIES, entrySource } = await import("../build.ts");
  assert.deepEqual(BINARIES["novactl"], ["ctl"]);
  assert.deepEqual(BINARIES["novaedge"], []);
  const dir = await Deno.makeTempDir({ prefix: "novaedge-entry-" });
  try {
    const entry = `${dir}/novactl.ts`;
    const main = new URL("../src/main.ts", import.meta.url).href;
    await Deno.writeTextFile(entry, entrySource(BINARIES["novactl"], main));
    // The entry lives outside the repository: name its deno.json (import map).
    const run = ["run", "-A", "--unstable-net", "--config", `${root}deno.json`];
    // No role word: the entry supplies "ctl", so these are ctl's own arguments.
    const help = await sh([...run, entry, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^usage: novaedge ctl <command>/);
    const report = `${root}tests/conformance/report.yaml`;
    const conf = await sh([...run, entry, "conformance", "--report", report]);
    assert.equal(conf.code, 0, conf.stderr);
    assert.match(conf.stdout, /^PROFILE\s+LEVEL\s+RESULT/m);
    const bad = await sh([...run, entry, "frobnicate"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown command "frobnicate"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
