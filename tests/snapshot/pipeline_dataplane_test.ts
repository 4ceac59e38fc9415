/**
 * runPipeline's output served by the real data plane: Gateway API objects in,
 * requests out. Covers what the builder had to learn for the translators:
 * hostless listeners of two Gateways merged on one port (routing by hostname),
 * a cross-namespace backend allowed by a ReferenceGrant naming HTTPRoute, and
 * an unresolvable backend whose share of requests fails with 500.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/store/types.ts";
import { freePort } from "../_support/agent.ts";
import { loopbackService } from "./_objects.ts";
import { runPipeline } from "../../src/snapshot/mod.ts";
import { DataPlane } from "../../src/proxy/mod.ts";
import { validateSnapshot } from "../../src/snapshot/mod.ts";

const G = "gateway.networking.k8s.io/v1";

function backend(name: string): { port: number; close: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ backend: name }),
  );
  return { port: server.addr.port, close: () => server.shutdown() };
}

function service(ns: string, name: string, port: number): KubeObject[] {
  return loopbackService(ns, name, 80, port);
}

function gateway(name: string, port: number): KubeObject {
  return {
    apiVersion: G,
    kind: "Gateway",
    metadata: { name, namespace: "web", generation: 1 },
    spec: { gatewayClassName: "nova", listeners: [{ name: "http", port, protocol: "HTTP" }] },
  };
}

function route(name: string, gw: string, host: string, backendRefs: unknown[]): KubeObject {
  return {
    apiVersion: G,
    kind: "HTTPRoute",
    metadata: { name, namespace: "web", generation: 1 },
    spec: { parentRefs: [{ name: gw }], hostnames: [host], rules: [{ backendRefs }] },
  };
}

Deno.test("pipeline → data plane: merged gateways, ReferenceGrant, 500 share of an unresolved backend", async () => {
  const a = backend("a"), b = backend("b"), shared = backend("shared");
  const port = freePort();
  const objects: KubeObject[] = [
    {
      apiVersion: G,
      kind: "GatewayClass",
      metadata: { name: "nova", generation: 1 },
      spec: { controllerName: "novaedge.io/gateway-controller" },
    },
    gateway("one", port),
    gateway("two", port),
    route("ra", "one", "a.test", [{ name: "a", port: 80 }]),
    route("rb", "two", "b.test", [{ name: "b", port: 80 }]),
    route("rx", "one", "x.test", [
      { name: "shared", namespace: "platform", port: 80 },
    ]),
    route("rhalf", "two", "half.test", [
      { name: "a", port: 80, weight: 1 },
      { name: "ghost", port: 80, weight: 1 },
    ]),
    {
      apiVersion: "gateway.networking.k8s.io/v1beta1",
      kind: "ReferenceGrant",
      metadata: { name: "web-routes", namespace: "platform" },
      spec: {
        from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "web" }],
        to: [{ group: "", kind: "Service" }],
      },
    },
    ...service("web", "a", a.port),
    ...service("web", "b", b.port),
    ...service("platform", "shared", shared.port),
  ];
  const p = runPipeline(objects);
  const errors = p.diagnostics.filter((d) => d.severity === "error");
  // Only the unresolved backend is an error.
  assert.ok(
    errors.every((d) =>
      d.message.includes("httproute-rhalf-unresolved") &&
      d.message.endsWith("(generated from HTTPRoute/web/rhalf)")
    ) && errors.length === 1,
    JSON.stringify(errors),
  );
  validateSnapshot(JSON.parse(JSON.stringify(p.snapshot)), { checkVersion: true });
  assert.deepEqual(
    p.snapshot.listeners.map((l) => `${l.gateway}@${l.port}`).sort(),
    [`web/gw-one@${port}`, `web/gw-two@${port}`],
  );
  const routeStatus = (n: string) =>
    p.statuses.find((s) => s.ref.kind === "HTTPRoute" && s.ref.name === n)!;
  const resolved = (n: string) =>
    (routeStatus(n).status.parents as { conditions: { type: string; status: string }[] }[])[0]
      .conditions.find((c) => c.type === "ResolvedRefs")!.status;
  assert.equal(resolved("rx"), "True");
  assert.equal(resolved("rhalf"), "False");

  const dp = new DataPlane({ workers: 1, accessLog: false });
  const client = Deno.createHttpClient({ allowHost: true });
  try {
    await dp.apply(p.snapshot);
    const get = async (host: string) => {
      const r = await fetch(`http://127.0.0.1:${port}/`, { headers: { host }, client });
      const text = await r.text();
      return { status: r.status, backend: r.status === 200 ? JSON.parse(text).backend : "" };
    };
    assert.deepEqual(await get("a.test"), { status: 200, backend: "a" });
    assert.deepEqual(await get("b.test"), { status: 200, backend: "b" });
    assert.deepEqual(await get("x.test"), { status: 200, backend: "shared" });
    assert.equal((await get("nobody.test")).status, 404);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const r = await get("half.test");
      const k = `${r.status}:${r.backend}`;
      counts[k] = (counts[k] ?? 0) + 1;
    }
    // Half the requests go to a, the other half fail: never all to a.
    assert.deepEqual(Object.keys(counts).sort(), ["200:a", "500:"], JSON.stringify(counts));
    assert.ok(counts["500:"] >= 8 && counts["200:a"] >= 8, JSON.stringify(counts));
  } finally {
    client.close();
    await dp.close();
    await Promise.all([a.close(), b.close(), shared.close()]);
  }
});
