import assert from "node:assert/strict";
import { describeGateway, renderGatewayDescription } from "../../src/ctl/describe_gateway.ts";
import * as fx from "./_fixtures.ts";

const input = {
  gateway: fx.gateway,
  routes: [fx.storeRoute, fx.crossRoute, fx.unrelatedRoute],
  generated: [fx.generatedGateway, fx.generatedRoute, fx.generatedUnrelated],
};

Deno.test("describe-gateway: listeners with attached route counts, addresses, conditions", () => {
  const d = describeGateway(input);
  assert.equal(d.name, "web");
  assert.equal(d.namespace, "shop");
  assert.equal(d.className, "novaedge");
  assert.deepEqual(d.addresses, [
    { type: "IPAddress", value: "192.0.2.10" },
    { type: "Hostname", value: "lb.example.test" },
  ]);
  assert.deepEqual(
    d.listeners.map((l) => [l.name, l.protocol, l.port, l.hostname, l.attachedRoutes]),
    [["http", "HTTP", 80, "*", 2], ["https", "HTTPS", 443, "*.example.test", 0]],
  );
  assert.equal(d.listeners[0].conditions.length, 3);
});

Deno.test("describe-gateway: attached routes from any namespace with this parent's conditions only", () => {
  const d = describeGateway(input);
  assert.deepEqual(d.routes.map((r) => `${r.kind} ${r.namespace}/${r.name}`), [
    "HTTPRoute docs/docs",
    "HTTPRoute shop/store",
  ]);
  const store = d.routes[1];
  assert.deepEqual(store.parents.map((p) => p.parent), ["web"]);
  assert.equal(store.parents[0].controllerName, "novaedge.io/gateway-controller");
  assert.deepEqual(store.parents[0].conditions.map((c) => `${c.type}=${c.status}`), [
    "Accepted=True",
    "ResolvedRefs=True",
    "PartiallyInvalid=True",
  ]);
  assert.deepEqual(d.routes[0].parents, [{ parent: "shop/web:http", conditions: [] }]);
});

Deno.test("describe-gateway: generated objects of the Gateway and its routes, not of others", () => {
  const d = describeGateway(input);
  assert.deepEqual(d.generated, [
    { kind: "ProxyGateway", namespace: "shop", name: "gw-web", source: "Gateway/shop/web" },
    {
      kind: "ProxyRoute",
      namespace: "shop",
      name: "httproute-store",
      source: "HTTPRoute/shop/store",
    },
  ]);
});

Deno.test("describe-gateway: problems are unhealthy conditions (Conflicted / PartiallyInvalid=True count), newest first", () => {
  const d = describeGateway(input);
  assert.deepEqual(d.problems.map((p) => `${p.object}: ${p.type}=${p.status} ${p.reason}`), [
    "listener https: Conflicted=True HostnameConflict",
    "Gateway shop/web: Programmed=False Invalid",
    "listener https: ResolvedRefs=False InvalidCertificateRef",
    "HTTPRoute shop/store (parent web): PartiallyInvalid=True UnsupportedValue",
  ]);
  // The other parent's NotAllowedByListeners belongs to apps/api, not to this Gateway.
  assert.ok(!d.problems.some((p) => p.reason === "NotAllowedByListeners"));
});

Deno.test("describe-gateway text shows every section", () => {
  const text = renderGatewayDescription(describeGateway(input), fx.NOW);
  for (
    const want of [
      /^Name:\s+web$/m,
      /^Addresses:\s+192\.0\.2\.10 \(IPAddress\), lb\.example\.test \(Hostname\)$/m,
      /^Listeners:\n {2}http: HTTP port 80, hostname \*, attached routes 2$/m,
      /^ {4}TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE$/m,
      /^ {2}HTTPRoute shop\/store \(hostnames: store\.example\.test, www\.example\.test\)$/m,
      /^ {4}parent web \(controller novaedge\.io\/gateway-controller\):$/m,
      /^ {6}<no status from a controller>$/m,
      /^ {2}ProxyRoute\s+shop\s+httproute-store\s+HTTPRoute\/shop\/store$/m,
      /^ {2}listener https: Conflicted=True HostnameConflict \(2m ago\): another listener/m,
    ]
  ) {
    assert.match(text, want);
  }
});

Deno.test("describe-gateway of a bare Gateway says <none> instead of empty sections", () => {
  const text = renderGatewayDescription(
    describeGateway({ gateway: fx.otherGateway, routes: [], generated: [] }),
    fx.NOW,
  );
  assert.match(text, /^Addresses:\s+<none>$/m);
  assert.match(text, /^Listeners:\n {2}<none>$/m);
  assert.match(text, /^Attached routes:\n {2}<none>$/m);
  assert.match(text, /^Problems:\n {2}<none>$/m);
});
