/**
 * examples/gateway-api and examples/ingress served by the real agent
 * (`novaedge agent --config-dir`), as a user runs them: the Gateway API /
 * Ingress objects are translated in memory, the snapshot built and applied,
 * and requests with a Host header reach the backend the route names. The
 * example's fixed ports (8080, 9001-9003) are swapped for free ones.
 */
import assert from "node:assert/strict";
import { freePort, jsonBackend as backend, startAgent } from "../_support/agent.ts";

const examples = new URL("../../examples/", import.meta.url).pathname;

/** Copies an example directory, replacing its fixed ports. */
async function copyExample(name: string, ports: Record<string, number>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `novaedge-example-${name}-` });
  for await (const e of Deno.readDir(`${examples}${name}`)) {
    if (!e.isFile || !e.name.endsWith(".yaml")) continue;
    let text = await Deno.readTextFile(`${examples}${name}/${e.name}`);
    for (const [from, to] of Object.entries(ports)) {
      text = text.replace(new RegExp(`\\b${from}\\b`, "g"), String(to));
    }
    await Deno.writeTextFile(`${dir}/${e.name}`, text);
  }
  return dir;
}

async function serveExample(name: string): Promise<void> {
  const app1 = backend("app-1"), app2 = backend("app-2"), api = backend("api");
  const listen = freePort();
  const dir = await copyExample(name, {
    "8080": listen,
    "9001": app1.port,
    "9002": app2.port,
    "9003": api.port,
  });
  const agent = await startAgent(dir);
  const admin = agent.admin;
  const client = Deno.createHttpClient({ allowHost: true });
  let code = -1;
  try {
    const get = async (host: string, path: string) => {
      const r = await fetch(`http://127.0.0.1:${listen}${path}`, { headers: { host }, client });
      const text = await r.text();
      return { status: r.status, body: r.status === 200 ? JSON.parse(text) : text };
    };
    const api1 = await get("app.example.test", "/api/v1/users");
    assert.equal(api1.status, 200, JSON.stringify(api1.body));
    assert.equal(api1.body.backend, "api");
    assert.equal(api1.body.path, "/api/v1/users");
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const r = await get("app.example.test", `/page/${i}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seen.add(r.body.backend);
    }
    // The app Service has two endpoints (two EndpointSlices): both serve.
    assert.deepEqual([...seen].sort(), ["app-1", "app-2"]);
    // No route for another host.
    assert.equal((await get("other.example.test", "/api/x")).status, 404);

    // The agent reports the source objects' statuses and the generated objects'.
    const st = await (await fetch(`${admin}/debug/status`)).json() as {
      statuses: { ref: { kind: string; name: string }; status: { conditions: unknown[] } }[];
    };
    const kinds = new Set(st.statuses.map((s) => s.ref.kind));
    for (const k of ["ProxyGateway", "ProxyRoute", "ProxyBackend"]) assert.ok(kinds.has(k), k);
    assert.ok(kinds.has(name === "ingress" ? "Ingress" : "HTTPRoute"));
  } finally {
    client.close();
    code = await agent.stop();
    await Promise.all([app1.close(), app2.close(), api.close()]);
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(code, 0, `agent exited with ${code}:\n${agent.logs()}`);
}

Deno.test("examples/gateway-api served by the agent: HTTPRoute matches by host and path", async () => {
  await serveExample("gateway-api");
});

Deno.test("examples/ingress served by the agent: Ingress paths by host", async () => {
  await serveExample("ingress");
});
