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
