import assert from "node:assert/strict";
import { parseNovaEdgeObject } from "../../src/crds/mod.ts";
import type { NovaEdgeKind } from "../../src/crds/mod.ts";
import { durationMs, selectorMatches } from "../../src/crds/common.ts";
import { crdManifest } from "../../src/crds/gen_manifests.ts";
import { proxyPolicyCrd } from "../../src/crds/proxy_policy.ts";
import type { KubeObject } from "../../src/store/types.ts";

function obj(kind: NovaEdgeKind, spec: unknown): KubeObject {
  return {
    apiVersion: "novaedge.io/v1alpha1",
    kind,
    metadata: { name: "x", namespace: "ns" },
    spec,
  };
}

const gw = (l: Record<string, unknown>) => ({
  listeners: [{ name: "http", port: 8080, protocol: "HTTP", ...l }],
});
const route = (rule: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  parentRefs: [{ name: "gw" }],
  rules: [{ backendRefs: [{ name: "b" }], ...rule }],
  ...extra,
});

const jwtPolicy = (jwt: Record<string, unknown>) => ({
  targetRefs: [{ kind: "ProxyRoute", name: "r" }],
  jwt: { issuer: "https://idp.example.test", ...jwt },
});

interface Case {
  name: string;
  kind: NovaEdgeKind;
  spec: unknown;
  /** undefined = valid; otherwise [field, message substring]. */
  err?: [string, string];
}

const cases: Case[] = [
  { name: "minimal gateway", kind: "ProxyGateway", spec: gw({}) },
  {
    name: "port 0",
    kind: "ProxyGateway",
    spec: gw({ port: 0 }),
    err: ["spec.listeners[0].port", ">= 1"],
  },
  {
    name: "port 70000",
    kind: "ProxyGateway",
    spec: gw({ port: 70000 }),
    err: ["spec.listeners[0].port", "<= 65535"],
  },
  {
    name: "unknown protocol",
    kind: "ProxyGateway",
    spec: gw({ protocol: "SPDY" }),
    err: ["spec.listeners[0].protocol", "one of"],
  },
  {
    name: "HTTPS without tls",
    kind: "ProxyGateway",
    spec: gw({ protocol: "HTTPS" }),
    err: ["spec.listeners[0]", "needs tls"],
  },
  {
    name: "clientValidation on a passthrough TLS listener",
    kind: "ProxyGateway",
    spec: gw({
      protocol: "TLS",
      tls: {
        mode: "Passthrough",
        clientValidation: { caCertificateRefs: [{ kind: "ConfigMap", name: "ca" }] },
      },
    }),
    err: ["spec.listeners[0]", "tls.clientValidation needs tls.mode Terminate"],
  },
  {
    name: "TLS listener in mode Terminate with clientValidation",
    kind: "ProxyGateway",
    spec: gw({
      protocol: "TLS",
      tls: {
        mode: "Terminate",
        certificateRefs: [{ name: "c" }],
        clientValidation: { caCertificateRefs: [{ kind: "ConfigMap", name: "ca" }] },
      },
    }),
  },
  {
    name: "clientValidation without CA references",
    kind: "ProxyGateway",
    spec: gw({
      protocol: "HTTPS",
      tls: { certificateRefs: [{ name: "c" }], clientValidation: { caCertificateRefs: [] } },
    }),
    err: ["spec.listeners[0].tls.clientValidation.caCertificateRefs", "at least 1"],
  },
  {
    name: "clientValidation with an unknown mode",
    kind: "ProxyGateway",
    spec: gw({
      protocol: "HTTPS",
      tls: {
        certificateRefs: [{ name: "c" }],
        clientValidation: { caCertificateRefs: [{ name: "ca" }], mode: "Maybe" },
      },
    }),
    err: ["spec.listeners[0].tls.clientValidation.mode", "one of"],
  },
  {
    name: "HTTPS listener with clientValidation",
    kind: "ProxyGateway",
    spec: gw({
      protocol: "HTTPS",
      tls: {
        certificateRefs: [{ name: "c" }],
        clientValidation: {
          caCertificateRefs: [{ kind: "ConfigMap", name: "ca" }],
          mode: "AllowInsecureFallback",
        },
      },
    }),
  },
  {
    name: "bad hostname",
    kind: "ProxyGateway",
    spec: gw({ hostname: "Foo_bar" }),
    err: ["spec.listeners[0].hostname", "hostname"],
  },
  {
    name: "unknown field",
    kind: "ProxyGateway",
    spec: gw({ hostnme: "a.test" }),
    err: ["spec.listeners[0].hostnme", "unknown field"],
  },
  {
    name: "duplicate listener names",
    kind: "ProxyGateway",
    spec: {
      listeners: [{ name: "a", port: 1, protocol: "HTTP" }, {
        name: "a",
        port: 2,
        protocol: "HTTP",
      }],
    },
    err: ["spec.listeners[1].name", "duplicate"],
  },
  {
    name: "gateway with no listeners",
    kind: "ProxyGateway",
    spec: { listeners: [] },
    err: ["spec.listeners", "at least 1"],
  },
  { name: "minimal route", kind: "ProxyRoute", spec: route({}) },
  {
    name: "regex path that does not compile",
    kind: "ProxyRoute",
    spec: route({ matches: [{ path: { type: "RegularExpression", value: "/a(" } }] }),
    err: ["spec.rules[0].matches[0].path", "does not compile"],
  },
  {
    name: "regex header that does not compile",
    kind: "ProxyRoute",
    spec: route({ matches: [{ headers: [{ type: "RegularExpression", name: "x", value: "[" }] }] }),
    err: ["spec.rules[0].matches[0].headers[0]", "does not compile"],
  },
  {
    name: "negative weight",
    kind: "ProxyRoute",
    spec: route({ backendRefs: [{ name: "b", weight: -1 }] }),
    err: ["spec.rules[0].backendRefs[0].weight", ">= 0"],
  },
  {
    name: "service ref without port",
    kind: "ProxyRoute",
    spec: route({ backendRefs: [{ kind: "Service", name: "s" }] }),
    err: ["spec.rules[0].backendRefs[0]", "port is required"],
  },
  {
    name: "filter without its member",
    kind: "ProxyRoute",
    spec: route({ filters: [{ type: "RequestRedirect" }] }),
    err: ["spec.rules[0].filters[0]", "needs requestRedirect"],
  },
  {
    name: "bad duration",
    kind: "ProxyRoute",
    spec: route({ timeouts: { request: "10 seconds" } }),
    err: ["spec.rules[0].timeouts.request", "duration"],
  },
  {
    name: "L4 route with matches",
    kind: "ProxyRoute",
    spec: route({ matches: [{ path: { value: "/" } }] }, { protocol: "TCP" }),
    err: ["spec", "not allowed for protocol TCP"],
  },
  {
    name: "backend with service",
    kind: "ProxyBackend",
    spec: { service: { name: "s", port: "http" } },
  },
  {
    name: "backend with both service and endpoints",
    kind: "ProxyBackend",
    spec: { service: { name: "s", port: 80 }, endpoints: [{ address: "127.0.0.1", port: 1 }] },
    err: ["spec", "only one of"],
  },
  {
    name: "backend with neither",
    kind: "ProxyBackend",
    spec: {},
    err: ["spec", "one of service, endpoints must be set"],
  },
  {
    name: "backend bad endpoint address",
    kind: "ProxyBackend",
    spec: { endpoints: [{ address: "not an ip!", port: 1 }] },
    err: ["spec.endpoints[0].address", "not an IP address"],
  },
  {
    name: "hashOn with round robin",
    kind: "ProxyBackend",
    spec: {
      endpoints: [{ address: "10.0.0.1", port: 1 }],
      loadBalancing: { hashOn: { header: "x" } },
    },
    err: ["spec.loadBalancing", "hashOn needs policy"],
  },
  {
    name: "policy bad cidr",
    kind: "ProxyPolicy",
    spec: { targetRefs: [{ kind: "ProxyRoute", name: "r" }], ipAllow: ["10.0.0.0/33"] },
    err: ["spec.ipAllow[0]", "prefix"],
  },
  {
    name: "policy ok",
    kind: "ProxyPolicy",
    spec: { targetRefs: [{ kind: "ProxyRoute", name: "r" }], rateLimit: { requestsPerSecond: 10 } },
  },
  {
    name: "jwt jwksUri with a CA Secret",
    kind: "ProxyPolicy",
    spec: jwtPolicy({
      jwksUri: "https://keycloak.identity.svc/certs",
      jwksCaCertificateRef: { name: "idp-ca" },
    }),
  },
  {
    name: "jwt jwksUri with a CA ConfigMap in another namespace",
    kind: "ProxyPolicy",
    spec: jwtPolicy({
      jwksUri: "https://dex.identity.svc/keys",
      jwksCaCertificateRef: { kind: "ConfigMap", name: "idp-ca", namespace: "identity" },
    }),
  },
  {
    name: "jwt CA with jwksSecretRef",
    kind: "ProxyPolicy",
    spec: jwtPolicy({ jwksSecretRef: { name: "jwks" }, jwksCaCertificateRef: { name: "idp-ca" } }),
    err: ["spec.jwt", "jwksCaCertificateRef applies only to an https:// jwksUri"],
  },
  {
    name: "jwt CA with an http jwksUri",
    kind: "ProxyPolicy",
    spec: jwtPolicy({
      jwksUri: "http://127.0.0.1:5556/keys",
      jwksCaCertificateRef: { name: "idp-ca" },
    }),
    err: ["spec.jwt", "not to jwksSecretRef or http://"],
  },
  {
    name: "jwt CA of an unknown kind",
    kind: "ProxyPolicy",
    spec: jwtPolicy({
      jwksUri: "https://dex.identity.svc/keys",
      jwksCaCertificateRef: { kind: "Service", name: "idp-ca" },
    }),
    err: ["spec.jwt.jwksCaCertificateRef.kind", "one of"],
  },
  {
    name: "jwt CA without a name",
    kind: "ProxyPolicy",
    spec: jwtPolicy({
      jwksUri: "https://dex.identity.svc/keys",
      jwksCaCertificateRef: { kind: "Secret" },
    }),
    err: ["spec.jwt.jwksCaCertificateRef.name", "is required"],
  },
  {
    name: "vip bgp without bgp",
    kind: "ProxyVIP",
    spec: { address: "192.0.2.1/32", mode: "BGP" },
    err: ["spec", "needs bgp"],
  },
  {
    name: "vip not a host address",
    kind: "ProxyVIP",
    spec: { address: "192.0.2.0/24", mode: "L2" },
    err: ["spec.address", "single address"],
  },
  { name: "vip ok", kind: "ProxyVIP", spec: { address: "2001:db8::1/128", mode: "L2" } },
];

for (const c of cases) {
  Deno.test(`parseNovaEdgeObject: ${c.kind} ${c.name}`, () => {
    const r = parseNovaEdgeObject(c.kind, obj(c.kind, c.spec));
    if (c.err === undefined) {
      assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.errors));
      return;
    }
    assert.ok(!r.ok, "expected rejection");
    const hit = r.errors.find((e) => e.field === c.err![0] && e.message.includes(c.err![1]));
    assert.ok(hit, `want ${c.err.join(": ")}, got ${JSON.stringify(r.errors)}`);
  });
}

Deno.test("parseNovaEdgeObject: defaults are filled (weight 1, path PathPrefix /)", () => {
  const r = parseNovaEdgeObject(
    "ProxyRoute",
    obj("ProxyRoute", route({ matches: [{ path: {} }] })),
  );
  assert.ok(r.ok);
  assert.equal(r.value.spec.rules[0].backendRefs?.[0].weight, 1);
  assert.deepEqual(r.value.spec.rules[0].matches?.[0].path, { type: "PathPrefix", value: "/" });
  assert.equal(r.value.spec.protocol, "HTTP");
});

Deno.test("parseNovaEdgeObject: wrong apiVersion is rejected", () => {
  const r = parseNovaEdgeObject("ProxyGateway", {
    ...obj("ProxyGateway", gw({})),
    apiVersion: "novaedge.io/v1",
  });
  assert.ok(!r.ok && r.errors[0].field === "apiVersion");
});

Deno.test("durationMs: converts Gateway API durations", () => {
  assert.equal(durationMs("10s"), 10000);
  assert.equal(durationMs("500ms"), 500);
  assert.equal(durationMs("1h2m3s4ms"), 3723004);
  assert.equal(durationMs(undefined), 0);
});

Deno.test("selectorMatches: labels and expressions", () => {
  assert.ok(selectorMatches({}, undefined));
  assert.ok(selectorMatches({ matchLabels: { a: "1" } }, { a: "1", b: "2" }));
  assert.ok(!selectorMatches({ matchLabels: { a: "1" } }, { a: "2" }));
  assert.ok(
    selectorMatches({ matchExpressions: [{ key: "z", operator: "In", values: ["a", "b"] }] }, {
      z: "b",
    }),
  );
  assert.ok(
    !selectorMatches({ matchExpressions: [{ key: "z", operator: "NotIn", values: ["b"] }] }, {
      z: "b",
    }),
  );
  assert.ok(selectorMatches({ matchExpressions: [{ key: "z", operator: "DoesNotExist" }] }, {}));
  assert.ok(!selectorMatches({ matchExpressions: [{ key: "z", operator: "Exists" }] }, {}));
});

Deno.test("ProxyPolicy manifest: the API server enforces jwksCaCertificateRef only with an https jwksUri (CEL)", () => {
  const m = crdManifest(proxyPolicyCrd) as {
    spec: { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
  };
  type Node = {
    properties?: Record<string, Node>;
    "x-kubernetes-validations"?: { rule: string; message: string }[];
  };
  const root = m.spec.versions[0].schema.openAPIV3Schema as Node;
  const jwt = root.properties!.spec.properties!.jwt;
  assert.deepEqual(Object.keys(jwt.properties!.jwksCaCertificateRef.properties!).sort(), [
    "group",
    "kind",
    "name",
    "namespace",
  ]);
  const rule = jwt["x-kubernetes-validations"]!.find((v) =>
    v.rule.includes("jwksCaCertificateRef")
  );
  assert.ok(rule, "a CEL rule names jwksCaCertificateRef");
  assert.equal(
    rule.rule,
    "!has(self.jwksCaCertificateRef) || (has(self.jwksUri) && self.jwksUri.startsWith('https://'))",
  );
  assert.match(rule.message, /only to an https:\/\/ jwksUri/);
});
