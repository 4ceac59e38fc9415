/**
 * src/translate/mod.ts: the seam itself (generated objects dropped from the
 * input, sources consumed, Ingress options from IngressClass parameters).
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/store/types.ts";
import { translate } from "../../src/translate/mod.ts";

const N = "networking.k8s.io/v1";

function objects(
  data: Record<string, unknown>,
  parameters?: Record<string, unknown>,
): KubeObject[] {
  return [
    {
      apiVersion: N,
      kind: "IngressClass",
      metadata: { name: "nova" },
      spec: { controller: "novaedge.io/ingress-controller", ...(parameters ? { parameters } : {}) },
    },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "params", namespace: "ops" }, data },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "svc", namespace: "app" },
      spec: { ports: [{ port: 80 }] },
    },
    {
      apiVersion: N,
      kind: "Ingress",
      metadata: { name: "web", namespace: "app", generation: 1 },
      spec: {
        ingressClassName: "nova",
        rules: [{
          host: "web.test",
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "svc", port: { number: 80 } } },
            }],
          },
        }],
      },
    },
  ];
}

const ref = { apiGroup: "", kind: "ConfigMap", namespace: "ops", name: "params" };
const ports = (t: ReturnType<typeof translate>) =>
  t.generated.filter((o) => o.kind === "ProxyGateway").flatMap((o) =>
    (o.spec as { listeners: { port: number; address?: string }[] }).listeners.map((l) =>
      `${l.address ?? "*"}:${l.port}`
    )
  );

Deno.test("translate: Ingress ports and address from the IngressClass parameters ConfigMap", () => {
  const t = translate(objects({ httpPort: "8081", ingressAddress: "127.0.0.5" }, ref));
  assert.deepEqual(ports(t), ["127.0.0.5:8081"]);
  assert.deepEqual(t.diagnostics, []);
  // Sources are consumed: the builder never sees Ingress / IngressClass.
  assert.ok(!t.objects.some((o) => o.kind === "Ingress" || o.kind === "IngressClass"));
  assert.ok(t.objects.some((o) => o.kind === "ConfigMap"));
});

Deno.test("translate: caller options win over the parameters; no parameters = defaults", () => {
  const t = translate(objects({ httpPort: "8081" }, ref), { ingress: { httpPort: 9090 } });
  assert.deepEqual(ports(t), ["*:9090"]);
  assert.deepEqual(ports(translate(objects({ httpPort: "8081" }))), ["*:80"]);
});

Deno.test("translate: bad parameters are reported and ignored", () => {
  const bad = translate(objects({ httpPort: "eighty" }, ref));
  assert.deepEqual(ports(bad), ["*:80"]);
  assert.ok(bad.diagnostics.some((d) => d.severity === "error" && d.field === "data.httpPort"));
  const missing = translate(objects({}, { ...ref, name: "nope" }));
  assert.ok(missing.diagnostics.some((d) => d.message.includes("ConfigMap ops/nope not found")));
  const kind = translate(objects({}, { apiGroup: "example.com", kind: "Params", name: "x" }));
  assert.ok(kind.diagnostics.some((d) => d.field === "spec.parameters"));
});

Deno.test("translate: previously generated objects in the input are dropped and regenerated", () => {
  const first = translate(objects({}));
  const second = translate([...objects({}), ...first.generated]);
  assert.deepEqual(second.generated, first.generated);
  assert.equal(second.objects.length, first.objects.length);
});

Deno.test("translate: a Gateway's written Service and EndpointSlice are dropped and regenerated", () => {
  const gw: KubeObject[] = [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "novaedge", generation: 1 },
      spec: { controllerName: "novaedge.io/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra", generation: 1 },
      spec: {
        gatewayClassName: "novaedge",
        listeners: [{ name: "h", port: 80, protocol: "HTTP" }],
      },
    },
  ];
  const first = translate(gw);
  const core = first.generated.filter((o) => o.kind === "Service" || o.kind === "EndpointSlice");
  assert.deepEqual(core.map((o) => `${o.kind}/${o.metadata.name}`), [
    "EndpointSlice/gw-novaedge",
    "Service/gw-novaedge",
  ]);
  // As the store holds them after the controller wrote them (API server defaults added).
  const written = core.map((o) =>
    o.kind === "Service" ? { ...o, spec: { ...(o.spec as object), clusterIP: "10.96.0.7" } } : o
  );
  const second = translate([...gw, ...written]);
  assert.deepEqual(second.generated, first.generated);
  assert.deepEqual(
    second.objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name),
    ["gw-novaedge"],
    "one Service, not the written copy as well (nor a renamed one)",
  );
});
