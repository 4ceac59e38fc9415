/**
 * Generated objects on a real API server: the translators' output is accepted
 * by the NovaEdge CRD schemas (server-side apply, CEL rules included), and
 * deleting a Gateway API object or an Ingress (or IngressClass) removes what
 * was generated from it — the cluster's garbage collector follows the owner
 * references. Uses the local cluster (tests/cluster).
 */
import assert from "node:assert/strict";
import { toYaml } from "../../src/source/yaml_out.ts";
import type { KubeObject } from "../../src/store/types.ts";
import { SOURCE_ANNOTATION, translateGatewayApi } from "../../src/translate/gateway_api/mod.ts";
import { translateIngress } from "../../src/translate/ingress/mod.ts";
import { clusterTest, waitFor } from "../cluster/mod.ts";
import type { Cluster } from "../cluster/mod.ts";

const G = "gateway.networking.k8s.io/v1";

async function get(c: Cluster, path: string): Promise<KubeObject> {
  return await c.api.get<KubeObject>(path);
}

/** Names of NovaEdge objects of `plural` in `ns` generated from `source` ("<Kind>/<ns>/<name>"). */
async function generatedFrom(c: Cluster, plural: string, ns: string, source: string) {
  const list = await c.api.get<{ items: KubeObject[] }>(
    `/apis/novaedge.io/v1alpha1/namespaces/${ns}/${plural}`,
  );
  return list.items.filter((o) => o.metadata.annotations?.[SOURCE_ANNOTATION] === source)
    .map((o) => o.metadata.name).sort();
}

clusterTest(
  "translators: generated objects pass the CRDs and are garbage-collected with their sources",
  async (c) => {
    const ns = c.namespace;
    const cls = `nova-${ns}`.slice(0, 63);
    // The current CRDs (idempotent when the cluster already has them).
    for (const f of Deno.readDirSync(new URL("../../manifests/crds/", import.meta.url))) {
      if (!f.name.endsWith(".yaml")) continue;
      const yaml = Deno.readTextFileSync(
        new URL(`../../manifests/crds/${f.name}`, import.meta.url),
      );
      await c.kubectl([
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=novaedge-test",
        "-f",
        "-",
      ], { stdin: yaml });
    }
    await c.apply(`
apiVersion: ${G}
kind: GatewayClass
metadata: { name: ${cls} }
spec: { controllerName: novaedge.io/gateway-controller }
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: { name: ${cls} }
spec: { controller: novaedge.io/ingress-controller }
---
apiVersion: ${G}
kind: Gateway
metadata: { name: gw, namespace: ${ns} }
spec:
  gatewayClassName: ${cls}
  listeners: [{ name: http, port: 80, protocol: HTTP }]
---
apiVersion: ${G}
kind: HTTPRoute
metadata: { name: app, namespace: ${ns} }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [app.example.com]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { add: [{ name: x-a, value: b }] } }]
      backendRefs: [{ name: svc, port: 80, weight: 3 }, { name: svc2, port: 8080, weight: 1 }]
      timeouts: { request: 10s, backendRequest: 5s }
---
apiVersion: v1
kind: Service
metadata: { name: svc, namespace: ${ns} }
spec: { ports: [{ port: 80, targetPort: 3000 }] }
---
apiVersion: v1
kind: Service
metadata: { name: svc2, namespace: ${ns} }
spec: { ports: [{ port: 8080, targetPort: 3000, appProtocol: kubernetes.io/h2c }] }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: ${ns}
  annotations:
    nginx.ingress.kubernetes.io/limit-rps: "10"
    nginx.ingress.kubernetes.io/enable-cors: "true"
spec:
  ingressClassName: ${cls}
  rules:
    - host: web.example.com
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: svc, port: { number: 80 } } } }] }
`);
    try {
      // The sources as the API server holds them (uids, generations).
      const sources: KubeObject[] = [
        await get(c, `/apis/gateway.networking.k8s.io/v1/gatewayclasses/${cls}`),
        await get(c, `/apis/networking.k8s.io/v1/ingressclasses/${cls}`),
        await get(c, `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/gateways/gw`),
        await get(c, `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes/app`),
        await get(c, `/api/v1/namespaces/${ns}/services/svc`),
        await get(c, `/api/v1/namespaces/${ns}/services/svc2`),
        await get(c, `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/web`),
      ];
      for (const o of sources) {
        assert.ok(o.kind && o.apiVersion && o.metadata.uid, JSON.stringify(o.metadata));
      }
      const g = translateGatewayApi(sources);
      const i = translateIngress(sources, { ingressNamespace: ns });
      const generated = [...g.objects, ...i.objects];
      assert.ok(generated.length >= 7, `generated ${generated.length} objects`);
      for (const o of generated) {
        assert.ok(o.metadata.ownerReferences?.length, `${o.kind}/${o.metadata.name} has no owner`);
      }
      // Server-side apply, as the controller will: the CRD schemas (and CEL rules) must accept all.
      await c.kubectl(
        ["apply", "--server-side", "--field-manager=novaedge-controller", "-f", "-"],
        {
          stdin: generated.map((o) => toYaml(o)).join("---\n"),
        },
      );
      const routeSrc = `HTTPRoute/${ns}/app`;
      assert.deepEqual(await generatedFrom(c, "proxyroutes", ns, routeSrc), ["httproute-app"]);
      assert.equal((await generatedFrom(c, "proxybackends", ns, routeSrc)).length, 2);

      // Deleting the route: its ProxyRoute and ProxyBackends go, the ProxyGateway stays.
      await c.kubectl(["delete", "httproute", "app"]);
      await waitFor(
        "ProxyRoute/ProxyBackends of the deleted HTTPRoute collected",
        async () => {
          const left = [
            ...await generatedFrom(c, "proxyroutes", ns, routeSrc),
            ...await generatedFrom(c, "proxybackends", ns, routeSrc),
          ];
          return left.length === 0 ? true : undefined;
        },
        60_000,
        500,
      );
      assert.deepEqual(await generatedFrom(c, "proxygateways", ns, `Gateway/${ns}/gw`), ["gw-gw"]);

      // Deleting the Gateway: its ProxyGateway goes.
      await c.kubectl(["delete", "gateway", "gw"]);
      await waitFor(
        "ProxyGateway of the deleted Gateway collected",
        async () =>
          (await generatedFrom(c, "proxygateways", ns, `Gateway/${ns}/gw`)).length === 0
            ? true
            : undefined,
        60_000,
        500,
      );

      // Deleting the Ingress: its route, backend and policy go; the class's shared gateway stays.
      const ingSrc = `Ingress/${ns}/web`;
      assert.equal((await generatedFrom(c, "proxypolicies", ns, ingSrc)).length, 1);
      await c.kubectl(["delete", "ingress", "web"]);
      await waitFor(
        "objects of the deleted Ingress collected",
        async () => {
          const left = [
            ...await generatedFrom(c, "proxyroutes", ns, ingSrc),
            ...await generatedFrom(c, "proxybackends", ns, ingSrc),
            ...await generatedFrom(c, "proxypolicies", ns, ingSrc),
          ];
          return left.length === 0 ? true : undefined;
        },
        60_000,
        500,
      );
      const classSrc = `IngressClass//${cls}`;
      assert.equal((await generatedFrom(c, "proxygateways", ns, classSrc)).length, 1);
      // Deleting the IngressClass (cluster-scoped owner): the shared ProxyGateway goes.
      await c.kubectl(["delete", "ingressclass", cls]);
      await waitFor(
        "shared ProxyGateway of the deleted IngressClass collected",
        async () =>
          (await generatedFrom(c, "proxygateways", ns, classSrc)).length === 0 ? true : undefined,
        60_000,
        500,
      );
    } finally {
      await c.kubectl(["delete", "gatewayclass", cls, "--ignore-not-found"], { check: false });
      await c.kubectl(["delete", "ingressclass", cls, "--ignore-not-found"], { check: false });
    }
  },
);

clusterTest(
  "translators: every golden output is accepted by the CRDs on a real API server",
  async (c) => {
    const { parse } = await import("yaml");
    const root = new URL("../golden/translate/", import.meta.url);
    let count = 0;
    for (const tr of ["gateway_api", "ingress"]) {
      for (const f of [...Deno.readDirSync(new URL(`${tr}/`, root))].map((e) => e.name).sort()) {
        if (!f.endsWith(".out.yaml")) continue;
        const out = parse(Deno.readTextFileSync(new URL(`${tr}/${f}`, root))) as {
          objects: KubeObject[];
        };
        if (!out.objects.length) continue;
        // Same objects, moved into the test namespace (the schemas do not care where).
        const docs = out.objects.map((o) =>
          toYaml({
            ...o,
            metadata: { ...o.metadata, namespace: c.namespace, ownerReferences: undefined },
          })
        );
        const r = await c.kubectl(
          [
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=novaedge-test",
            "-f",
            "-",
          ],
          { stdin: docs.join("---\n"), check: false },
        );
        assert.equal(r.code, 0, `${tr}/${f}: ${r.stderr}`);
        count += out.objects.length;
      }
    }
    assert.ok(count > 100, `only ${count} objects checked`);
  },
);
