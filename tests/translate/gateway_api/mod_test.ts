/**
 * Properties of translateGatewayApi beyond the goldens: ownership (everything
 * generated is owned by a source, and removing a source removes exactly what it
 * generated), purity, and finalizeGatewayStatuses.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../../src/store/types.ts";
import {
  finalizeGatewayStatuses,
  GATEWAY_API_OWNER_LABEL,
  SOURCE_ANNOTATION,
  translateGatewayApi,
} from "../../../src/translate/gateway_api/mod.ts";

const G = "gateway.networking.k8s.io/v1";

function world(): KubeObject[] {
  return [
    {
      apiVersion: G,
      kind: "GatewayClass",
      metadata: { name: "nova", generation: 1 },
      spec: { controllerName: "novaedge.io/gateway-controller" },
    },
    {
      apiVersion: G,
      kind: "Gateway",
      metadata: { name: "gw", namespace: "ns", generation: 2, uid: "u-gw" },
      spec: {
        gatewayClassName: "nova",
        listeners: [
          { name: "a", port: 80, protocol: "HTTP" },
          { name: "b", port: 8080, protocol: "HTTP" },
        ],
      },
    },
    ...["r1", "r2"].map((n): KubeObject => ({
      apiVersion: G,
      kind: "HTTPRoute",
      metadata: { name: n, namespace: "ns", generation: 1, uid: `u-${n}` },
      spec: {
        parentRefs: [{ name: "gw" }],
        hostnames: [`${n}.example.com`],
        rules: [{ backendRefs: [{ name: "svc", port: 80 }] }],
      },
    })),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "svc", namespace: "ns" },
      spec: { ports: [{ port: 80 }] },
    },
  ];
}

Deno.test("translateGatewayApi: every generated object is owned, labelled and annotated with its source", () => {
  const t = translateGatewayApi(world());
  assert.ok(t.objects.length >= 5);
  const uids: Record<string, string> = {
    "Gateway/ns/gw": "u-gw",
    "HTTPRoute/ns/r1": "u-r1",
    "HTTPRoute/ns/r2": "u-r2",
  };
  for (const o of t.objects) {
    const src = o.metadata.annotations?.[SOURCE_ANNOTATION];
    assert.ok(src && uids[src], `${o.kind}/${o.metadata.name} has source ${src}`);
    assert.equal(o.metadata.ownerReferences?.length, 1);
    assert.equal(o.metadata.ownerReferences![0].uid, uids[src]);
    assert.equal(o.metadata.ownerReferences![0].controller, true);
    assert.ok(o.metadata.labels?.[GATEWAY_API_OWNER_LABEL]);
    assert.equal(o.metadata.namespace, "ns", "owner references need the owner's namespace");
  }
});

Deno.test("translateGatewayApi: deleting a route removes exactly what it generated and its attachment", () => {
  const all = translateGatewayApi(world());
  const without = translateGatewayApi(world().filter((o) => o.metadata.name !== "r2"));
  const names = (objs: readonly KubeObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`);
  const fromR2 = all.objects.filter((o) =>
    o.metadata.annotations?.[SOURCE_ANNOTATION] === "HTTPRoute/ns/r2"
  );
  assert.ok(fromR2.length >= 2);
  assert.deepEqual(
    names(without.objects),
    names(all.objects.filter((o) => !fromR2.includes(o))),
  );
  const gw = without.statuses.find((s) => s.ref.kind === "Gateway")!;
  const listeners = gw.status.listeners as { attachedRoutes: number }[];
  assert.deepEqual(listeners.map((l) => l.attachedRoutes), [1, 1]);
});

Deno.test("translateGatewayApi: does not mutate its input", () => {
  const input = world();
  const snapshot = JSON.stringify(input);
  translateGatewayApi(input);
  assert.equal(JSON.stringify(input), snapshot);
});

Deno.test("finalizeGatewayStatuses: unprogrammed listeners and rejected routes show in statuses", () => {
  const t = translateGatewayApi(world());
  const route = t.objects.find((o) =>
    o.kind === "ProxyRoute" && o.metadata.name === "httproute-r1"
  )!;
  const f = finalizeGatewayStatuses(t, {
    unprogrammedListeners: new Map([["ns/gw-gw/b", "port 8080 is in use on the node"]]),
    rejected: new Map([[`ProxyRoute/ns/${route.metadata.name}`, "regex too large"]]),
  });
  const gw = f.statuses.find((s) => s.ref.kind === "Gateway")!;
  const ls = gw.status.listeners as {
    name: string;
    conditions: { type: string; status: string; message: string }[];
  }[];
  const prog = (n: string) =>
    ls.find((l) => l.name === n)!.conditions.find((c) => c.type === "Programmed")!;
  assert.equal(prog("a").status, "True");
  assert.equal(prog("b").status, "False");
  assert.equal(prog("b").message, "port 8080 is in use on the node");
  assert.equal(gw.status.conditions.find((c) => c.type === "Programmed")!.status, "True");
  const r1 = f.statuses.find((s) => s.ref.name === "r1")!;
  const r2 = f.statuses.find((s) => s.ref.name === "r2")!;
  const accepted = (s: typeof r1) =>
    (s.status.parents as { conditions: { type: string; status: string; reason: string }[] }[])[0]
      .conditions.find((c) => c.type === "Accepted")!;
  assert.equal(accepted(r1).status, "False");
  assert.equal(accepted(r1).reason, "UnsupportedValue");
  assert.equal(accepted(r2).status, "True");
  // The input translation is untouched.
  assert.equal(accepted(t.statuses.find((s) => s.ref.name === "r1")!).status, "True");

  // With every listener unprogrammed, the Gateway is not Programmed either.
  const all = finalizeGatewayStatuses(t, {
    rejected: new Map([["ProxyGateway/ns/gw-gw", "invalid"]]),
  });
  const gw2 = all.statuses.find((s) => s.ref.kind === "Gateway")!;
  assert.equal(gw2.status.conditions.find((c) => c.type === "Programmed")!.status, "False");
});

Deno.test("finalizeGatewayStatuses: a ListenerSet listener the builder did not program shows on the ListenerSet", () => {
  const objs = world().map((o) =>
    o.kind === "Gateway"
      ? {
        ...o,
        spec: { ...(o.spec as object), allowedListeners: { namespaces: { from: "Same" } } },
      }
      : o
  );
  objs.push({
    apiVersion: G,
    kind: "ListenerSet",
    metadata: { name: "extra", namespace: "ns", generation: 3 },
    spec: {
      parentRef: { name: "gw" },
      listeners: [
        { name: "x", port: 9090, protocol: "HTTP" },
        { name: "y", port: 9091, protocol: "HTTP" },
      ],
    },
  });
  const t = translateGatewayApi(objs);
  const pg = t.objects.find((o) => o.kind === "ProxyGateway")!;
  const names = (pg.spec as { listeners: { name: string; port: number }[] }).listeners;
  const x = names.find((l) => l.port === 9090)!.name;
  const y = names.find((l) => l.port === 9091)!.name;
  assert.notEqual(x, "x"); // unique ProxyGateway listener names for ListenerSet listeners
  const lsStatus = (tr: typeof t) => tr.statuses.find((s) => s.ref.kind === "ListenerSet")!;
  const programmed = (tr: typeof t, n?: string) => {
    const st = lsStatus(tr).status;
    const conds = n === undefined
      ? st.conditions
      : (st.listeners as { name: string; conditions: typeof st.conditions }[])
        .find((l) => l.name === n)!.conditions;
    return conds.find((c) => c.type === "Programmed")!;
  };
  assert.equal(programmed(t, "x").status, "True");

  const one = finalizeGatewayStatuses(t, {
    unprogrammedListeners: new Map([[`ns/${pg.metadata.name}/${x}`, "port 9090 is in use"]]),
  });
  assert.equal(programmed(one, "x").status, "False");
  assert.equal(programmed(one, "x").message, "port 9090 is in use");
  assert.equal(programmed(one, "y").status, "True");
  assert.equal(programmed(one).status, "True");
  // The Gateway's own listeners are untouched.
  const gw = one.statuses.find((s) => s.ref.kind === "Gateway")!;
  assert.equal(gw.status.conditions.find((c) => c.type === "Programmed")!.status, "True");

  const both = finalizeGatewayStatuses(t, {
    unprogrammedListeners: new Map([
      [`ns/${pg.metadata.name}/${x}`, "port 9090 is in use"],
      [`ns/${pg.metadata.name}/${y}`, "port 9091 is in use"],
    ]),
  });
  assert.equal(programmed(both).status, "False");
});
