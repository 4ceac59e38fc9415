/**
 * BackendTLSPolicy end to end: the CA in a ConfigMap reaches the snapshot
 * (ProxyBackend spec.tls.caCertificateRef of kind ConfigMap → cluster caPem)
 * and the data plane verifies the upstream with it, using the policy's
 * hostname as SNI. A backend whose certificate another CA signed is refused
 * (never served unverified); one whose policy has no valid CA fails with 500.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/store/types.ts";
import { freePort } from "../_support/agent.ts";
import { loopbackService } from "./_objects.ts";
import { runPipeline } from "../../src/snapshot/mod.ts";
import { DataPlane } from "../../src/proxy/mod.ts";
import { makePki } from "../proxy/_tls.ts";

const G = "gateway.networking.k8s.io/v1";

function service(name: string, port: number): KubeObject[] {
  return loopbackService("web", name, 443, port);
}

function policy(name: string, caConfigMap: string): KubeObject {
  return {
    apiVersion: G,
    kind: "BackendTLSPolicy",
    metadata: { name, namespace: "web", generation: 1 },
    spec: {
      targetRefs: [{ group: "", kind: "Service", name }],
      validation: {
        caCertificateRefs: [{ group: "", kind: "ConfigMap", name: caConfigMap }],
        hostname: "backend.internal",
      },
    },
  };
}

Deno.test("BackendTLSPolicy with a ConfigMap CA: verified upstream TLS through the data plane", async () => {
  const pki = await makePki();
  const other = await makePki();
  const good = await pki.leaf("good", ["backend.internal"]);
  const forged = await other.leaf("forged", ["backend.internal"]);
  const serve = (cert: { certPem: string; keyPem: string }, name: string) =>
    Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      cert: cert.certPem,
      key: cert.keyPem,
      onListen: () => {},
      onError: () => new Response("tls error", { status: 599 }),
    }, () => Response.json({ backend: name }));
  const sGood = serve(good, "good"), sForged = serve(forged, "forged");
  const port = freePort();
  const objects: KubeObject[] = [
    {
      apiVersion: G,
      kind: "GatewayClass",
      metadata: { name: "nova", generation: 1 },
      spec: { controllerName: "novaedge.io/gateway-controller" },
    },
    {
      apiVersion: G,
      kind: "Gateway",
      metadata: { name: "gw", namespace: "web", generation: 1 },
      spec: { gatewayClassName: "nova", listeners: [{ name: "http", port, protocol: "HTTP" }] },
    },
    {
      apiVersion: G,
      kind: "HTTPRoute",
      metadata: { name: "r", namespace: "web", generation: 1 },
      spec: {
        parentRefs: [{ name: "gw" }],
        rules: ["good", "forged", "nocert"].map((n) => ({
          matches: [{ path: { type: "Exact", value: `/${n}` } }],
          backendRefs: [{ name: n, port: 443 }],
        })),
      },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ca", namespace: "web" },
      data: { "ca.crt": pki.caPem },
    },
    policy("good", "ca"),
    policy("forged", "ca"),
    policy("nocert", "no-such-configmap"),
    ...service("good", sGood.addr.port),
    ...service("forged", sForged.addr.port),
    ...service("nocert", sGood.addr.port),
  ];
  const p = runPipeline(objects);
  const cluster = p.snapshot.clusters.find((c) => c.name.includes("good"))!;
  assert.equal(cluster.tls?.caPem, pki.caPem);
  assert.equal(cluster.tls?.sni, "backend.internal");
  const dp = new DataPlane({ workers: 1, accessLog: false });
  try {
    await dp.apply(p.snapshot);
    const get = async (path: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: r.status, body: await r.text() };
    };
    const ok = await get("/good");
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).backend, "good");
    const forgedRes = await get("/forged");
    assert.ok(forgedRes.status >= 500 && forgedRes.status < 599, JSON.stringify(forgedRes));
    assert.ok(!forgedRes.body.includes('"forged"'));
    assert.equal((await get("/nocert")).status, 500);
  } finally {
    await dp.close();
    await Promise.all([sGood.shutdown(), sForged.shutdown()]);
    await Deno.remove(pki.dir, { recursive: true });
    await Deno.remove(other.dir, { recursive: true });
  }
});
