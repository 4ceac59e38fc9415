/**
 * An Ingress with `nginx.ingress.kubernetes.io/limit-connections` all the way
 * through: translateIngress → buildSnapshot → DataPlane, with real clients.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../../src/store/types.ts";
import { translateIngress } from "../../../src/translate/ingress/mod.ts";
import { buildSnapshot } from "../../../src/snapshot/build.ts";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { freePort, gatedBackend } from "../../proxy/_helpers.ts";
import { waitFor } from "../../_support/agent.ts";

function objects(backendPort: number): KubeObject[] {
  return [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: "novaedge" },
      spec: { controller: "novaedge.io/ingress-controller" },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "shop" },
      spec: { ports: [{ name: "http", port: 80 }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "web-1",
        namespace: "shop",
        labels: { "kubernetes.io/service-name": "web" },
      },
      addressType: "IPv4",
      ports: [{ name: "http", port: backendPort }],
      endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
    } as KubeObject,
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: {
        name: "shop",
        namespace: "shop",
        generation: 1,
        annotations: { "nginx.ingress.kubernetes.io/limit-connections": "1" },
      },
      spec: {
        ingressClassName: "novaedge",
        rules: [{
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "web", port: { number: 80 } } },
            }],
          },
        }],
      },
    } as KubeObject,
  ];
}

Deno.test("ingress limit-connections: 1 → a second request in progress from the client gets 503", async () => {
  const b = gatedBackend();
  const port = freePort();
  const objs = objects(b.port);
  const t = translateIngress(objs, { httpPort: port });
  const policy = t.objects.find((o) => o.kind === "ProxyPolicy");
  assert.deepEqual((policy?.spec as { connectionLimit?: unknown }).connectionLimit, {
    perClientIp: 1,
  });
  const built = buildSnapshot([
    ...objs.filter((o) => o.kind === "Service" || o.kind === "EndpointSlice"),
    ...t.objects,
  ]);
  assert.deepEqual(built.diagnostics.filter((d) => d.severity === "error"), []);
  const dp = new DataPlane({});
  try {
    await dp.apply(built.snapshot);
    const url = `http://127.0.0.1:${port}/`;
    const first = fetch(url);
    await waitFor(
      "the first request upstream",
      () => Promise.resolve(b.arrived === 1 || undefined),
    );
    const second = await fetch(url);
    assert.equal(second.status, 503);
    assert.match(
      await second.text(),
      /^connection limit reached: 1 request already in progress from 127\.0\.0\.1$/m,
    );
    b.open();
    assert.equal(await (await first).text(), "done");
    const third = fetch(url);
    await waitFor("the next request upstream", () => Promise.resolve(b.arrived === 2 || undefined));
    b.open();
    assert.equal((await third).status, 200, "the slot came back with the first response");
    await (await third).body?.cancel();
  } finally {
    b.open();
    await dp.close();
    await b.close();
  }
});
