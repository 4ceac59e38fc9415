/**
 * `novaedge agent --config-dir` as a user runs it: a real process, real
 * backends, a real directory that changes under it.
 */
import assert from "node:assert/strict";

const main = new URL("../../src/main.ts", import.meta.url).pathname;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function backend(name: string): { port: number; close: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    return Response.json({
      backend: name,
      path: url.pathname,
      host: req.headers.get("host"),
      xff: req.headers.get("x-forwarded-for"),
      connection: req.headers.get("x-hop"),
    });
  });
  return { port: server.addr.port, close: () => server.shutdown() };
}

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

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

Deno.test("agent --config-dir serves, reloads on change, keeps the last good config, reports", async () => {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-agent-test-" });
  const a = backend("a");
  const b = backend("b");
  const listen = freePort();
  const adminPort = freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  const proxy = `http://127.0.0.1:${listen}`;
  await Deno.writeTextFile(`${dir}/config.yaml`, config(listen, a.port, b.port));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      main,
      "agent",
      "--config-dir",
      dir,
      "--admin-address",
      `127.0.0.1:${adminPort}`,
      "--workers",
      "1",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const logs: string[] = [];
  const logDone = (async () => {
    const dec = new TextDecoderStream();
    for await (const chunk of child.stderr.pipeThrough(dec)) logs.push(chunk);
  })();
  try {
    await waitFor(
      "readyz",
      async () =>
        (await (await fetch(`${admin}/readyz`)).text()).startsWith("ready") ? true : undefined,
    );
    const get = async (host: string, path: string) => {
      const r = await fetch(`${proxy}${path}`, { headers: { host }, client: hostClient });
      return { status: r.status, body: await r.text() };
    };
    const hostClient = Deno.createHttpClient({ allowHost: true });
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
    hostClient.close();
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await logDone;
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
    assert.equal(status.code, 0, `agent exited with ${status.code}:\n${logs.join("")}`);
  }
  const joined = logs.join("");
  assert.match(joined, /"component":"access"/, "one access-log line per request");
  assert.match(joined, /broken\.yaml/);
});
