/**
 * `novaedge agent --config-dir` as a user runs it: a real process, real
 * backends, a real directory that changes under it.
 */
import assert from "node:assert/strict";
import { freePort, jsonBackend, startAgent, waitFor } from "../_support/agent.ts";

function config(listenPort: number, a: number, b: number, extra = ""): string {
  return `
apiVersion: novaedge.io/v1alpha1
kind: ProxyGateway
metadata: { name: gw, namespace: default }
spec:
  listeners: [{ name: http, port: ${listenPort}, protocol: HTTP, address: 127.0.0.1 }]
---
apiVersion: novaedge.io/v1alpha1
kind: ProxyBackend
metadata: { name: a, namespace: default }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${a} }]
---
apiVersion: novaedge.io/v1alpha1
kind: ProxyBackend
metadata: { name: b, namespace: default }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${b} }]
---
apiVersion: novaedge.io/v1alpha1
kind: ProxyRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [a.test]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /a } }]
      backendRefs: [{ name: a }]
${extra}`;
}

Deno.test("agent --config-dir serves, reloads on change, keeps the last good config, reports", async () => {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-agent-test-" });
  const a = jsonBackend("a");
  const b = jsonBackend("b");
  const listen = freePort();
  const proxy = `http://127.0.0.1:${listen}`;
  await Deno.writeTextFile(`${dir}/config.yaml`, config(listen, a.port, b.port));
  const agent = await startAgent(dir);
  const admin = agent.admin;
  const hostClient = Deno.createHttpClient({ allowHost: true });
  const get = async (host: string, path: string) => {
    const r = await fetch(`${proxy}${path}`, { headers: { host }, client: hostClient });
    return { status: r.status, body: await r.text() };
  };
  let code = -1;
  try {
    const r1 = await get("a.test", "/a/x");
    assert.equal(r1.status, 200);
    assert.equal(JSON.parse(r1.body).backend, "a");
    assert.equal(JSON.parse(r1.body).xff, "127.0.0.1");
    const miss = await get("a.test", "/b");
    assert.equal(miss.status, 404);

    // Metrics and the snapshot in use.
    const snap = await (await fetch(`${admin}/debug/snapshot`)).json();
    assert.match(snap.version, /\S+/);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /novaedge_http_requests_total\{[^}]*code="200"[^}]*\} \d+/);
    assert.match(metrics, new RegExp(`novaedge_snapshot_info\\{version="${snap.version}"\\} 1`));

    // A change to the directory is served without a restart.
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      config(
        listen,
        a.port,
        b.port,
        `    - matches: [{ path: { type: PathPrefix, value: /b } }]
      backendRefs: [{ name: b }]
`,
      ),
    );
    const r2 = await waitFor("the /b route", async () => {
      const r = await get("a.test", "/b/1");
      return r.status === 200 ? r : undefined;
    });
    assert.equal(JSON.parse(r2.body).backend, "b");
    const v2 = (await (await fetch(`${admin}/debug/snapshot`)).json()).version;
    assert.notEqual(v2, snap.version);

    // A broken file is reported and the last good configuration keeps serving.
    await Deno.writeTextFile(`${dir}/broken.yaml`, "kind: [unclosed\n");
    await waitFor("the broken file to be reported", async () => {
      const st = await (await fetch(`${admin}/debug/status`)).json();
      return JSON.stringify(st.diagnostics).includes("broken.yaml") ? true : undefined;
    });
    assert.equal((await get("a.test", "/b/2")).status, 200);
    assert.equal((await get("a.test", "/a/2")).status, 200);
  } finally {
    hostClient.close();
    code = await agent.stop();
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(code, 0, `agent exited with ${code}:\n${agent.logs()}`);
  assert.match(agent.logs(), /"component":"access"/, "one access-log line per request");
  assert.match(agent.logs(), /broken\.yaml/);
});
