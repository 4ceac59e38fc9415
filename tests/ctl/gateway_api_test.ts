import assert from "node:assert/strict";
import {
  gatewayClassTable,
  gatewayTable,
  httpRouteTable,
  parentLabel,
  sameParent,
} from "../../src/ctl/gateway_api.ts";
import { renderTable } from "../../src/ctl/output.ts";
import * as fx from "./_fixtures.ts";

Deno.test("gatewayclasses: controller, Accepted, number of supported features, age (sorted by name)", () => {
  const t = gatewayClassTable([fx.gatewayClass, fx.otherClass], fx.NOW);
  assert.deepEqual(t.headers, ["NAME", "CONTROLLER", "ACCEPTED", "SUPPORTED FEATURES", "AGE"]);
  assert.deepEqual(t.rows, [
    ["acme", "acme.io/gw", "Unknown", "0", "5m"],
    ["novaedge", "novaedge.io/gateway-controller", "True", "3", "3d"],
  ]);
});

Deno.test("gateways: class, every address, Programmed; NAMESPACE column only with -A", () => {
  const one = gatewayTable([fx.gateway], fx.NOW, false);
  assert.deepEqual(one.headers, ["NAME", "CLASS", "ADDRESSES", "PROGRAMMED", "AGE"]);
  assert.deepEqual(one.rows, [["web", "novaedge", "192.0.2.10,lb.example.test", "False", "90m"]]);
  const all = gatewayTable([fx.gateway, fx.otherGateway], fx.NOW, true);
  assert.deepEqual(all.headers[0], "NAMESPACE");
  assert.deepEqual(all.rows, [
    ["apps", "api", "novaedge", "<none>", "True", "30m"],
    ["shop", "web", "novaedge", "192.0.2.10,lb.example.test", "False", "90m"],
  ]);
  assert.match(renderTable(all), /^NAMESPACE {3}NAME {3}CLASS {6}ADDRESSES\s+PROGRAMMED {3}AGE$/m);
});

Deno.test("httproutes: hostnames, parents, Accepted / ResolvedRefs per parent in parentRefs order", () => {
  const t = httpRouteTable([fx.storeRoute, fx.crossRoute], fx.NOW, false);
  assert.deepEqual(t.headers, ["NAME", "HOSTNAMES", "PARENTS", "ACCEPTED", "RESOLVED", "AGE"]);
  assert.deepEqual(t.rows, [
    // crossRoute: nobody answered for its parent; no hostnames means any.
    ["docs", "*", "shop/web:http", "Unknown", "Unknown", "60s"],
    [
      "store",
      "store.example.test,www.example.test",
      "web,apps/api:http",
      "True,False",
      "True,False",
      "60m",
    ],
  ]);
});

Deno.test("parent references compare with Gateway API defaults filled in", () => {
  assert.ok(
    sameParent({ name: "web" }, { kind: "Gateway", namespace: "shop", name: "web" }, "shop"),
  );
  assert.ok(!sameParent({ name: "web" }, { name: "web", namespace: "apps" }, "shop"));
  assert.ok(!sameParent({ name: "web" }, { name: "web", sectionName: "http" }, "shop"));
  assert.ok(!sameParent({ name: "web" }, { name: "web", kind: "ListenerSet" }, "shop"));
  assert.equal(parentLabel({ name: "web", port: 8080 }, "shop"), "web:8080");
  assert.equal(parentLabel({ name: "ls", kind: "ListenerSet" }, "shop"), "ListenerSet/ls");
});
