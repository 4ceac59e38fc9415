/**
 * The recipe for hooking the translators into src/translate/mod.ts and the
 * pipeline (as given to the lead), exercised end to end with the real builder:
 * idempotence when the store already holds previously generated objects
 * (cluster mode), hand-written names never taken, and builder decisions folded
 * back into Gateway API statuses.
 */
import assert from "node:assert/strict";
import type { KubeObject, ObjectStatus } from "../../src/store/types.ts";
import { buildSnapshot } from "../../src/snapshot/build.ts";
import { runPipeline } from "../../src/snapshot/mod.ts";
import { isGenerated } from "../../src/translate/gateway_api/mod.ts";
import { translate } from "../../src/translate/mod.ts";

/** translate → build → finalize, through the real `runPipeline` (t and b for inspection). */
function pipeline(objects: readonly KubeObject[]) {
  const t = translate(objects);
  const b = buildSnapshot(t.objects);
  const p = runPipeline(objects);
  assert.equal(p.snapshot.version, b.snapshot.version);
  return { t, b, statuses: p.statuses.filter((s) => !s.ref.apiVersion.startsWith("novaedge.io/")) };
}

const G = "gateway.networking.k8s.io/v1";
const base = (): KubeObject[] => [
  {
    apiVersion: G,
    kind: "GatewayClass",
    metadata: { name: "nova", generation: 1 },
    spec: { controllerName: "novaedge.io/gateway-controller" },
  },
  {
    apiVersion: G,
    kind: "Gateway",
    metadata: { name: "a", namespace: "ns", generation: 1, uid: "ua" },
    spec: { gatewayClassName: "nova", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  },
  {
    apiVersion: G,
    kind: "HTTPRoute",
    metadata: { name: "app", namespace: "ns", generation: 1, uid: "ur" },
    spec: { parentRefs: [{ name: "a" }], rules: [{ backendRefs: [{ name: "svc", port: 80 }] }] },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "svc", namespace: "ns" },
    spec: { ports: [{ port: 80 }] },
  },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "IngressClass",
    metadata: { name: "nova", uid: "uc" },
    spec: { controller: "novaedge.io/ingress-controller" },
  },
  {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "ns", generation: 1, uid: "ui" },
    spec: {
      ingressClassName: "nova",
      rules: [{
        host: "web.example.com",
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

const keys = (objs: readonly KubeObject[]) =>
  objs.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort();

Deno.test("hook: previously generated objects in the store are replaced, not duplicated", () => {
  const first = pipeline(base());
  // Cluster mode: the controller wrote the generated objects; informers now see them too.
  const generated = [...first.t.gatewayApi.objects, ...first.t.objects.filter(isGenerated)];
  const second = pipeline([...base(), ...generated]);
  assert.deepEqual(keys(second.t.objects), keys(first.t.objects));
  assert.equal(second.b.snapshot.version, first.b.snapshot.version);
  assert.equal(first.b.snapshot.routes.length, 2);
  assert.deepEqual(first.b.diagnostics.filter((d) => d.severity === "error"), []);
});

Deno.test("hook: a hand-written object keeps its name; the generated one gets another", () => {
  const handWritten: KubeObject = {
    apiVersion: "novaedge.io/v1alpha1",
    kind: "ProxyRoute",
    metadata: { name: "httproute-app", namespace: "ns" },
    spec: {
      parentRefs: [{ name: "gw-a" }],
      hostnames: ["hand.example.com"],
      rules: [{ backendRefs: [{ kind: "Service", name: "svc", port: 80 }] }],
    },
  };
  const p = pipeline([...base(), handWritten]);
  const routes = p.t.objects.filter((o) =>
    o.kind === "ProxyRoute" && o.metadata.namespace === "ns"
  );
  assert.ok(routes.includes(handWritten));
  const generated = routes.filter(isGenerated).map((o) => o.metadata.name);
  assert.ok(generated.length >= 1 && !generated.includes("httproute-app"), generated.join(","));
  assert.equal(p.b.snapshot.routes.length, 3);
});

Deno.test("hook: a listener the builder refuses shows Programmed=False on its Gateway", () => {
  // Gateway b wants port 80 on the same (unbound) address for TLS passthrough:
  // a protocol conflict with a's HTTP listener; a is older and keeps the port.
  const objs: KubeObject[] = [
    ...base(),
    {
      apiVersion: G,
      kind: "Gateway",
      metadata: {
        name: "b",
        namespace: "ns",
        generation: 3,
        creationTimestamp: "2030-01-01T00:00:00Z",
      },
      spec: {
        gatewayClassName: "nova",
        listeners: [{
          name: "tls",
          port: 80,
          protocol: "TLS",
          hostname: "b.example.com",
          tls: { mode: "Passthrough" },
        }],
      },
    },
  ];
  const p = pipeline(objs);
  const gw = (n: string) =>
    p.statuses.find((s: ObjectStatus) => s.ref.kind === "Gateway" && s.ref.name === n)!;
  const listenerProgrammed = (s: ObjectStatus) =>
    (s.status.listeners as { conditions: { type: string; status: string }[] }[])[0].conditions
      .find((c) => c.type === "Programmed")!.status;
  assert.equal(listenerProgrammed(gw("a")), "True");
  assert.equal(listenerProgrammed(gw("b")), "False");
  assert.equal(gw("b").status.conditions.find((c) => c.type === "Programmed")!.status, "False");
});

Deno.test("hook: hostless HTTP listeners of two Gateways on one port merge (routing by hostname)", () => {
  const objs: KubeObject[] = [
    ...base(),
    {
      apiVersion: G,
      kind: "Gateway",
      metadata: { name: "b", namespace: "ns", generation: 3 },
      spec: { gatewayClassName: "nova", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
    },
  ];
  const p = pipeline(objs);
  for (const n of ["a", "b"]) {
    const s = p.statuses.find((s) => s.ref.kind === "Gateway" && s.ref.name === n)!;
    assert.equal(s.status.conditions.find((c) => c.type === "Programmed")!.status, "True", n);
  }
  const ports = p.b.snapshot.listeners.filter((l) => l.port === 80);
  // The Ingress class gateway shares port 80 as well.
  assert.deepEqual(ports.map((l) => l.gateway).sort(), [
    "novaedge-system/ingress-nova",
    "ns/gw-a",
    "ns/gw-b",
  ]);
  assert.deepEqual(p.b.diagnostics.filter((d) => d.severity === "error"), []);
});

Deno.test("hook: route precedence follows the source HTTPRoute's age, not the generated object's", () => {
  const route = (name: string, ts: string): KubeObject => ({
    apiVersion: G,
    kind: "HTTPRoute",
    metadata: { name, namespace: "ns", generation: 1, creationTimestamp: ts },
    spec: {
      parentRefs: [{ name: "a" }],
      hostnames: ["same.example.com"],
      rules: [{ backendRefs: [{ name: "svc", port: 80 }] }],
    },
  });
  // "z-old" is older but sorts after "a-new" by name.
  const p = pipeline([
    ...base(),
    route("a-new", "2025-01-01T00:00:00Z"),
    route("z-old", "2020-01-01T00:00:00Z"),
  ]);
  const key = (n: string) => p.b.snapshot.routes.find((r) => r.name.includes(`httproute-${n}/`))!;
  assert.ok(key("z-old").orderKey < key("a-new").orderKey);
  const shadowed = p.b.diagnostics.filter((d) => d.message.includes("already served by older"));
  assert.equal(shadowed.length, 1);
  assert.match(shadowed[0].source, /httproute-a-new/);
});
