import assert from "node:assert/strict";
import { parse } from "yaml";

const root = new URL("../../", import.meta.url);
const dumpUrl = new URL("src/roles/snapshot_dump.ts", root).href;

/** Runs `snapshot dump` in a child process (it writes to stdout/stderr and returns an exit code). */
async function dump(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = `import { main } from ${JSON.stringify(dumpUrl)};\n` +
    `Deno.exit(await main(${JSON.stringify(args)}));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("deno.json", root).pathname, code],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function tmpDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-dump-" });
  for (const [n, t] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${n}`, t);
  return dir;
}

Deno.test("snapshot dump: manifests/samples is accepted (exit 0) and serves the quickstart hosts and ports", async () => {
  const r = await dump(["--config-dir", "manifests/samples", "--format", "json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const snap = out.snapshot;
  assert.match(snap.version, /^v[0-9a-f]{16}$/);
  assert.deepEqual(
    snap.listeners.map((l: { address: string; port: number }) => `${l.address}:${l.port}`),
    ["0.0.0.0:8080"],
  );
  const hosts = new Set(snap.routes.flatMap((rt: { hostnames: string[] }) => rt.hostnames));
  assert.deepEqual([...hosts].sort(), ["api.example.test", "app.example.test", "web.example.test"]);
  const eps = Object.fromEntries(
    snap.clusters.map((c: { name: string; endpoints: { address: string; port: number }[] }) => [
      c.name,
      c.endpoints.map((e) => `${e.address}:${e.port}`),
    ]),
  );
  assert.deepEqual(eps["default/app"], ["127.0.0.1:9001", "127.0.0.1:9002"]);
  assert.deepEqual(eps["default/api"], ["127.0.0.1:9003"]);
  assert.deepEqual(eps["default/Service/web:80"], ["127.0.0.1:9003"]);
  // Every NovaEdge object reports Accepted=True.
  for (const s of out.statuses) {
    const acc = s.status.conditions.find((c: { type: string }) => c.type === "Accepted");
    assert.equal(acc.status, "True", `${s.ref.kind}/${s.ref.name}: ${acc.message}`);
  }
  assert.match(r.stderr, /0 rejected, 0 error\(s\)/);
});

Deno.test("snapshot dump: a rejected object makes exit 1 and stderr names file, object, field and reason", async () => {
  const dir = await tmpDir({
    "gw.yaml":
      "apiVersion: novaedge.io/v1alpha1\nkind: ProxyGateway\nmetadata: {name: edge}\nspec:\n  listeners: [{name: http, port: 70000, protocol: HTTP}]\n",
    "broken.yaml": "kind: [\n",
  });
  try {
    const r = await dump(["--config-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `error: ${dir}/gw.yaml#1 ProxyGateway/default/edge spec.listeners\\[0\\].port: must be <= 65535, got 70000`,
      ),
    );
    assert.match(r.stderr, new RegExp(`error: ${dir}/broken.yaml#1: malformed YAML`));
    // The YAML output still carries the statuses.
    const out = parse(r.stdout);
    assert.equal(out.statuses[0].status.conditions[0].status, "False");
    assert.match(out.statuses[0].status.conditions[0].message, /spec\.listeners\[0\]\.port/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot dump: private keys are redacted", async () => {
  const golden = await Deno.readTextFile(new URL("tests/golden/tls_terminate.in.yaml", root));
  const dir = await tmpDir({ "tls.yaml": golden });
  try {
    const r = await dump(["--config-dir", dir, "--format", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.snapshot.secrets[0].keyPem, "<redacted>");
    assert.match(out.snapshot.secrets[0].certPem, /BEGIN CERTIFICATE/);
    assert.ok(!r.stdout.includes("PRIVATE KEY"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot dump: usage errors (missing --config-dir, bad --format, unknown flag)", async () => {
  for (const args of [[], ["--config-dir", "x", "--format", "xml"], ["--controller", "a:1"]]) {
    const r = await dump(args);
    assert.notEqual(r.code, 0, `args ${args.join(" ")}`);
  }
});
