import assert from "node:assert/strict";
import {
  GENERATED_BY_LABEL,
  generatedByValue,
  GeneratedWriter,
  ownedView,
  upToDate,
} from "../../src/controller/generated_writer.ts";
import type { KubeClient } from "../../src/source/kube_client.ts";
import type { ResourceSpec } from "../../src/source/kube.ts";
import type { KubeObject } from "../../src/store/types.ts";
import { expandAddressRange, gatewayApiOptions } from "../../src/roles/controller.ts";
import { translateGatewayApi } from "../../src/translate/gateway_api/mod.ts";

const OWNER = "novaedge.io/gateway-api-owner";

function route(name: string, host: string, extraLabels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: "novaedge.io/v1alpha1",
    kind: "ProxyRoute",
    metadata: {
      name,
      namespace: "ns",
      labels: { [OWNER]: `httproute.${name}`, ...extraLabels },
      annotations: { "novaedge.io/source": `HTTPRoute/ns/${name}` },
      ownerReferences: [{
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        name,
        uid: `uid-${name}`,
        controller: true,
        blockOwnerDeletion: true,
      }],
    },
    spec: { hostnames: [host] },
  } as KubeObject;
}

/** Records the calls a writer makes, answering like the API server. */
class RecordingClient {
  calls: { method: string; path: string; body?: unknown; query?: string }[] = [];
  patch(path: string, body: unknown, type: string, query: string): Promise<unknown> {
    assert.equal(type, "apply");
    this.calls.push({ method: "APPLY", path, body, query });
    const b = body as KubeObject;
    return Promise.resolve({ ...b, metadata: { ...b.metadata, generation: 1 } });
  }
  request(method: string, path: string): Promise<unknown> {
    this.calls.push({ method, path });
    return Promise.resolve({});
  }
}

const spec: ResourceSpec = {
  group: "novaedge.io",
  version: "v1alpha1",
  plural: "proxyroutes",
  kind: "ProxyRoute",
};

Deno.test("generated writer: applies new objects with our label, skips up-to-date ones, prunes only ours", async () => {
  const me = generatedByValue("novaedge.io/gateway-controller");
  const client = new RecordingClient();
  const live: KubeObject[] = [
    // Up to date (API server added a label of its own and a status).
    { ...route("same", "same.test", { [GENERATED_BY_LABEL]: me, other: "x" }) },
    // Ours, no longer generated: pruned.
    route("stale", "stale.test", { [GENERATED_BY_LABEL]: me }),
    // Another controller's generated object: left alone.
    route("theirs", "theirs.test", { [GENERATED_BY_LABEL]: "someone-else" }),
    // Hand-written (no owner label): never pruned.
    {
      apiVersion: "novaedge.io/v1alpha1",
      kind: "ProxyRoute",
      metadata: { name: "hand", namespace: "ns" },
      spec: {},
    } as KubeObject,
  ];
  const w = new GeneratedWriter({
    client: client as unknown as KubeClient,
    live: () => live,
    resourceOf: (k) => (k === "ProxyRoute" ? spec : undefined),
    generatedBy: me,
  });
  const r = await w.sync([route("same", "same.test"), route("new", "new.test")]);
  assert.deepEqual(r, { applied: 1, unchanged: 1, deleted: 1, failed: 0 });
  const apply = client.calls.find((c) => c.method === "APPLY")!;
  assert.equal(apply.path, "/apis/novaedge.io/v1alpha1/namespaces/ns/proxyroutes/new");
  assert.equal(apply.query, "?fieldManager=novaedge-controller&force=true");
  const body = apply.body as KubeObject;
  assert.equal(body.metadata.labels?.[GENERATED_BY_LABEL], me);
  assert.equal(body.metadata.ownerReferences?.[0].uid, "uid-new");
  const del = client.calls.filter((c) => c.method === "DELETE").map((c) => c.path);
  assert.deepEqual(del, ["/apis/novaedge.io/v1alpha1/namespaces/ns/proxyroutes/stale"]);

  // A changed spec is applied again.
  client.calls = [];
  live[0] = route("same", "same.test", { [GENERATED_BY_LABEL]: me });
  await w.sync([route("same", "changed.test")]);
  assert.ok(client.calls.some((c) => c.method === "APPLY" && c.path.endsWith("/same")));
});

/** A Gateway's Service + EndpointSlice as the translator makes them. */
function gatewayInfrastructure(): KubeObject[] {
  const objects = [
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "GatewayClass",
      metadata: { name: "novaedge", generation: 1 },
      spec: { controllerName: "novaedge.io/gateway-controller" },
    },
    {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "gw", namespace: "infra", generation: 1, uid: "uid-gw" },
      spec: {
        gatewayClassName: "novaedge",
        addresses: [{ type: "IPAddress", value: "192.0.2.5" }],
        infrastructure: { labels: { key2: "value2" }, annotations: { key1: "value1" } },
        listeners: [{ name: "http", port: 80, protocol: "HTTP" }],
      },
    },
  ] as KubeObject[];
  return translateGatewayApi(objects).objects.filter((o) =>
    o.kind === "Service" || o.kind === "EndpointSlice"
  );
}

const coreSpecs: Record<string, ResourceSpec> = {
  Service: { group: "", version: "v1", plural: "services", kind: "Service" },
  EndpointSlice: {
    group: "discovery.k8s.io",
    version: "v1",
    plural: "endpointslices",
    kind: "EndpointSlice",
  },
};

Deno.test("generated writer: applies and prunes a Gateway's Service and EndpointSlice", async () => {
  const me = generatedByValue("novaedge.io/gateway-controller");
  const client = new RecordingClient();
  const infra = gatewayInfrastructure();
  assert.deepEqual(infra.map((o) => `${o.kind}/${o.metadata.name}`), [
    "EndpointSlice/gw-novaedge",
    "Service/gw-novaedge",
  ]);
  const svc = (name: string, labels: Record<string, string>): KubeObject => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "infra", labels },
    spec: { type: "ClusterIP", clusterIP: "10.96.0.9", ports: [{ port: 80 }] },
  });
  const live: KubeObject[] = [
    // Ours, its Gateway gone: pruned.
    svc("old-novaedge", { [OWNER]: "gateway.old", [GENERATED_BY_LABEL]: me }),
    // Another controller's, and a user's: left alone.
    svc("theirs-novaedge", { [OWNER]: "gateway.theirs", [GENERATED_BY_LABEL]: "other" }),
    svc("users", {}),
  ];
  const w = new GeneratedWriter({
    client: client as unknown as KubeClient,
    live: () => live,
    resourceOf: (k) => coreSpecs[k],
    generatedBy: me,
  });
  assert.deepEqual(await w.sync(infra), { applied: 2, unchanged: 0, deleted: 1, failed: 0 });
  const applies = client.calls.filter((c) => c.method === "APPLY");
  assert.deepEqual(applies.map((c) => c.path), [
    "/apis/discovery.k8s.io/v1/namespaces/infra/endpointslices/gw-novaedge",
    "/api/v1/namespaces/infra/services/gw-novaedge",
  ]);
  const slice = applies[0].body as KubeObject;
  assert.equal(slice.spec, undefined, "an EndpointSlice has no spec");
  assert.equal(slice.addressType, "IPv4");
  assert.deepEqual(slice.endpoints, [{ addresses: ["192.0.2.5"], conditions: { ready: true } }]);
  assert.deepEqual(slice.ports, [{ name: "tcp-80", port: 80, protocol: "TCP" }]);
  assert.equal(slice.metadata.labels?.["kubernetes.io/service-name"], "gw-novaedge");
  const service = applies[1].body as KubeObject;
  assert.equal(service.apiVersion, "v1");
  assert.equal(service.metadata.labels?.["gateway.networking.k8s.io/gateway-name"], "gw");
  assert.equal(service.metadata.labels?.key2, "value2");
  assert.equal(service.metadata.labels?.[GENERATED_BY_LABEL], me);
  assert.equal(service.metadata.annotations?.key1, "value1");
  assert.equal(service.metadata.ownerReferences?.[0].uid, "uid-gw");
  assert.deepEqual(
    client.calls.filter((c) => c.method === "DELETE").map((c) => c.path),
    ["/api/v1/namespaces/infra/services/old-novaedge"],
  );

  // Live copies as the (fake) server answered, a Service with its defaults: not re-applied.
  client.calls = [];
  live.splice(
    0,
    live.length,
    ...applies.map((c) => {
      const b = c.body as KubeObject;
      const defaulted = b.kind === "Service"
        ? { spec: { ...(b.spec as object), clusterIP: "10.96.0.10" } }
        : {};
      return { ...b, ...defaulted, metadata: { ...b.metadata, generation: 1 } };
    }),
  );
  assert.deepEqual(await w.sync(infra), { applied: 0, unchanged: 2, deleted: 0, failed: 0 });
  assert.deepEqual(client.calls, []);
});

Deno.test("upToDate: server defaults after our own apply do not cause re-applies", () => {
  const desired = route("r", "r.test");
  const defaulted = {
    ...desired,
    metadata: { ...desired.metadata, generation: 3 },
    spec: { hostnames: ["r.test"], defaulted: true },
  } as KubeObject;
  assert.equal(upToDate(defaulted, desired), false);
  assert.equal(
    upToDate(defaulted, desired, { view: "{}", generation: 3 }),
    false,
    "we applied something else",
  );
  assert.equal(upToDate(defaulted, desired, { view: ownedView(desired), generation: 3 }), true);
  assert.equal(
    upToDate(defaulted, desired, { view: ownedView(desired), generation: 2 }),
    false,
    "someone changed the spec since our apply",
  );
  assert.equal(upToDate(desired, desired), true);
});

Deno.test("generatedByValue: a valid label value", () => {
  assert.equal(
    generatedByValue("novaedge.io/gateway-controller"),
    "novaedge.io-gateway-controller",
  );
  const long = generatedByValue(`example.com/${"x".repeat(100)}`);
  assert.ok(long.length <= 63);
  assert.match(long, /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/);
  assert.notEqual(long, generatedByValue(`example.com/${"x".repeat(99)}`));
});

Deno.test("controller flags: gateway address pool ranges and translator options", () => {
  assert.deepEqual(expandAddressRange("127.0.1.1-127.0.1.3"), [
    "127.0.1.1",
    "127.0.1.2",
    "127.0.1.3",
  ]);
  assert.deepEqual(expandAddressRange("10.0.0.9-10"), ["10.0.0.9", "10.0.0.10"]);
  assert.throws(() => expandAddressRange("10.0.0.9-8"));
  assert.throws(() => expandAddressRange("10.0.0.9-10.0.1.3"));
  assert.deepEqual(
    gatewayApiOptions({
      "gateway-controller-name": "example.com/gw",
      "gateway-address": ["ns/gw=192.0.2.1", "*=192.0.2.9"],
      "gateway-address-pool": ["127.0.1.1-2,127.0.1.5"],
      "bind-gateway-addresses": true,
    }),
    {
      controllerName: "example.com/gw",
      gatewayAddresses: { "ns/gw": ["192.0.2.1"], "*": ["192.0.2.9"] },
      gatewayAddressPool: ["127.0.1.1", "127.0.1.2", "127.0.1.5"],
      bindGatewayAddresses: true,
    },
  );
  assert.deepEqual(gatewayApiOptions({}), {});
  assert.deepEqual(
    gatewayApiOptions({ "gateway-usable-address": ["127.0.6.253", "10.0.0.1-2"] }),
    { usableGatewayAddresses: ["127.0.6.253", "10.0.0.1", "10.0.0.2"] },
  );
  assert.deepEqual(
    gatewayApiOptions({ "gateway-supported-feature": ["Gateway,HTTPRoute", "HTTPRouteRetry"] }),
    { supportedFeatures: ["Gateway", "HTTPRoute", "HTTPRouteRetry"] },
  );
});
