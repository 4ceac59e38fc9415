/**
 * `novaedge snapshot dump --config-dir examples/...` (a real process): the
 * Gateway API / Ingress objects are translated in memory, and the dump lists
 * the source objects' statuses and those of the objects generated from them.
 */
import assert from "node:assert/strict";

const main = new URL("../../src/main.ts", import.meta.url).pathname;
const examples = new URL("../../examples/", import.meta.url).pathname;

interface Dump {
  snapshot: { listeners: { name: string; port: number }[]; routes: unknown[]; clusters: unknown[] };
  statuses: {
    ref: { kind: string; namespace?: string; name: string };
    status: { conditions: { type: string; status: string }[]; parents?: unknown[] };
  }[];
  diagnostics: unknown[];
}

async function dump(dir: string): Promise<Dump> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "snapshot", "dump", "--config-dir", dir, "--format", "json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

function condition(d: Dump, kind: string, name: string, type: string): string | undefined {
  const s = d.statuses.find((x) => x.ref.kind === kind && x.ref.name === name);
  assert.ok(s, `no status for ${kind}/${name}`);
  return s.status.conditions.find((c) => c.type === type)?.status;
}

Deno.test("snapshot dump examples/gateway-api: Gateway API statuses and the generated objects", async () => {
  const d = await dump(`${examples}gateway-api`);
  assert.deepEqual(d.diagnostics, []);
  assert.equal(condition(d, "GatewayClass", "novaedge", "Accepted"), "True");
  assert.equal(condition(d, "Gateway", "edge", "Accepted"), "True");
  assert.equal(condition(d, "Gateway", "edge", "Programmed"), "True");
  const route = d.statuses.find((s) => s.ref.kind === "HTTPRoute" && s.ref.name === "app")!;
  const parent = (route.status.parents as { conditions: { type: string; status: string }[] }[])[0];
  assert.equal(parent.conditions.find((c) => c.type === "Accepted")!.status, "True");
  assert.equal(parent.conditions.find((c) => c.type === "ResolvedRefs")!.status, "True");
  // The generated objects, with the builder's statuses.
  assert.equal(condition(d, "ProxyGateway", "gw-edge", "Programmed"), "True");
  assert.equal(condition(d, "ProxyRoute", "httproute-app", "Accepted"), "True");
  const backends = d.statuses.filter((s) => s.ref.kind === "ProxyBackend").map((s) => s.ref.name);
  assert.deepEqual(backends.sort(), ["httproute-app-api-80", "httproute-app-app-80"]);
  assert.deepEqual(d.snapshot.listeners.map((l) => l.port), [8080]);
  assert.equal(d.snapshot.routes.length, 2);
  assert.equal(d.snapshot.clusters.length, 2);
});

Deno.test("snapshot dump examples/ingress: Ingress status, port from the IngressClass parameters", async () => {
  const d = await dump(`${examples}ingress`);
  assert.deepEqual(d.diagnostics, []);
  assert.equal(condition(d, "Ingress", "app", "Accepted"), "True");
  assert.equal(condition(d, "ProxyGateway", "ingress-novaedge", "Programmed"), "True");
  assert.deepEqual(d.snapshot.listeners.map((l) => l.port), [8080]);
  assert.equal(d.snapshot.routes.length, 2);
});

Deno.test("snapshot dump shows the objects generated from Gateway API objects", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      new URL("../../src/main.ts", import.meta.url).pathname,
      "snapshot",
      "dump",
      "--format",
      "json",
      "--config-dir",
      new URL("../../examples/gateway-api", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const doc = JSON.parse(new TextDecoder().decode(out.stdout));
  const kinds = new Set(
    (doc.generated as { kind: string }[]).map((o) => o.kind),
  );
  for (const k of ["ProxyGateway", "ProxyRoute", "ProxyBackend"]) {
    if (!kinds.has(k)) throw new Error(`generated lacks a ${k}: ${[...kinds].join(", ")}`);
  }
});
