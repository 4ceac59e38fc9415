/** `snapshot dump --agent URL` and the source-selection errors, through the real CLI. */
import assert from "node:assert/strict";
import { freePort, startAgent } from "../_support/agent.ts";

const root = new URL("../../", import.meta.url).pathname;
const main = `${root}src/main.ts`;
const dec = new TextDecoder();

async function novaedge(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", main, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("snapshot dump --agent prints the snapshot a running agent serves", async () => {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-dump-agent-" });
  const listen = freePort();
  await Deno.writeTextFile(
    `${dir}/gw.yaml`,
    `apiVersion: novaedge.io/v1alpha1
kind: ProxyGateway
metadata: { name: gw, namespace: default }
spec:
  listeners: [{ name: http, port: ${listen}, protocol: HTTP, address: 127.0.0.1 }]
`,
  );
  const agent = await startAgent(dir, ["--log-level", "warn"]);
  try {
    const version = (await (await fetch(`${agent.admin}/debug/snapshot`)).json()).version;
    assert.match(version, /^v[0-9a-f]+$/, "the agent applied a snapshot");
    const r = await novaedge(
      "snapshot",
      "dump",
      "--agent",
      agent.admin,
      "--format",
      "json",
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.snapshot.version, version);
    assert.equal(doc.snapshot.listeners[0].port, listen);
    assert.match(r.stderr, new RegExp(`snapshot ${version} served by the agent`));
  } finally {
    await agent.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("snapshot dump needs exactly one source, and --controller needs --node", async () => {
  const none = await novaedge("snapshot", "dump");
  assert.equal(none.code, 2);
  assert.match(none.stderr, /exactly one of --config-dir DIR, --controller ADDR or --agent URL/);
  const two = await novaedge("snapshot", "dump", "--config-dir", ".", "--agent", "http://x");
  assert.equal(two.code, 2);
  const noNode = await novaedge("snapshot", "dump", "--controller", "127.0.0.1:1");
  assert.equal(noNode.code, 2);
  assert.match(noNode.stderr, /--controller needs --node NAME/);
});
