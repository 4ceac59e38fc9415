/**
 * The README's first command, end to end: run.sh --check starts the demo
 * backends and the agent on the quick start's fixed ports, sends the demo
 * requests and stops. Host routing, path routing, round robin and the 404
 * must all be visible in what the backends answered.
 */
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

Deno.test("quick start serves host and path routes with round robin", async () => {
  const out = await new Deno.Command("bash", {
    args: [`${root}examples/quickstart/run.sh`, "--check"],
    stdout: "piped",
    stderr: "piped",
    cwd: root,
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `run.sh --check failed:\n${stdout}\n${stderr}`);
  const docs = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const backends = docs.map((d) => d.backend);
  // Two requests to app.example.test "/" reach both app replicas (round robin).
  assert.deepEqual(new Set(backends.slice(0, 2)), new Set(["app-1", "app-2"]));
  assert.equal(docs[2].backend, "api");
  assert.equal(docs[2].path, "/v1/users");
  assert.equal(docs[3].backend, "api", "/api/health on app's host goes to api");
  assert.equal(docs[0].xForwardedFor, "127.0.0.1");
  assert.equal(docs[0].xForwardedProto, "http");
  assert.match(stdout, /no route/i, "the unknown host gets a 404 that says why");
});
