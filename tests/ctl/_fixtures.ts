/** Gateway API objects as the API server returns them, for the ctl view tests. */
import type { ApiObject } from "../../src/ctl/gateway_api.ts";

export const NOW = new Date("2026-11-23T12:00:00Z");
const T = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000).toISOString();

export const gatewayClass: ApiObject = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "GatewayClass",
  metadata: { name: "novaedge", creationTimestamp: T(3 * 24 * 60) },
  spec: { controllerName: "novaedge.io/gateway-controller" },
  status: {
    conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "ok" }],
    supportedFeatures: [{ name: "Gateway" }, { name: "HTTPRoute" }, { name: "ReferenceGrant" }],
  },
};

export const otherClass: ApiObject = {
  kind: "GatewayClass",
  metadata: { name: "acme", creationTimestamp: T(5) },
  spec: { controllerName: "acme.io/gw" },
};

export const gateway: ApiObject = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "web", namespace: "shop", creationTimestamp: T(90) },
  spec: {
    gatewayClassName: "novaedge",
    listeners: [
      { name: "http", protocol: "HTTP", port: 80 },
      { name: "https", protocol: "HTTPS", port: 443, hostname: "*.example.test" },
    ],
  },
  status: {
    addresses: [{ type: "IPAddress", value: "192.0.2.10" }, {
      type: "Hostname",
      value: "lb.example.test",
    }],
    conditions: [
      {
        type: "Accepted",
        status: "True",
        reason: "Accepted",
        message: "Gateway is accepted",
        lastTransitionTime: T(80),
      },
      {
        type: "Programmed",
        status: "False",
        reason: "Invalid",
        message: "listener https is not programmed",
        lastTransitionTime: T(10),
      },
    ],
    listeners: [
      {
        name: "http",
        attachedRoutes: 2,
        conditions: [
          { type: "Accepted", status: "True", reason: "Accepted", message: "ok" },
          { type: "Conflicted", status: "False", reason: "NoConflicts", message: "none" },
          { type: "Programmed", status: "True", reason: "Programmed", message: "ok" },
        ],
      },
      {
        name: "https",
        attachedRoutes: 0,
        conditions: [
          {
            type: "ResolvedRefs",
            status: "False",
            reason: "InvalidCertificateRef",
            message: "Secret shop/missing does not exist",
            lastTransitionTime: T(12),
          },
          {
            type: "Conflicted",
            status: "True",
            reason: "HostnameConflict",
            message: "another listener has the hostname",
            lastTransitionTime: T(2),
          },
        ],
      },
    ],
  },
};

export const otherGateway: ApiObject = {
  kind: "Gateway",
  metadata: { name: "api", namespace: "apps", creationTimestamp: T(30) },
  spec: { gatewayClassName: "novaedge" },
  status: { conditions: [{ type: "Programmed", status: "True", reason: "Programmed" }] },
};

const parentStatus = (
  ref: Record<string, unknown>,
  accepted: string,
  resolved: string,
  reason = "Accepted",
) => ({
  parentRef: ref,
  controllerName: "novaedge.io/gateway-controller",
  conditions: [
    { type: "Accepted", status: accepted, reason, message: `Accepted ${accepted}` },
    { type: "ResolvedRefs", status: resolved, reason: "BackendNotFound", message: "svc gone" },
  ],
});

/** Attached to web (same namespace) and to apps/api by listener. */
export const storeRoute: ApiObject = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "store", namespace: "shop", creationTimestamp: T(60) },
  spec: {
    hostnames: ["store.example.test", "www.example.test"],
    parentRefs: [{ name: "web" }, { name: "api", namespace: "apps", sectionName: "http" }],
  },
  status: {
    parents: [
      {
        ...parentStatus({ name: "web" }, "True", "True"),
        conditions: [
          ...parentStatus({ name: "web" }, "True", "True").conditions,
          {
            type: "PartiallyInvalid",
            status: "True",
            reason: "UnsupportedValue",
            message: "Dropped Rule(s): 1",
            lastTransitionTime: T(20),
          },
        ],
      },
      parentStatus(
        {
          group: "gateway.networking.k8s.io",
          kind: "Gateway",
          name: "api",
          namespace: "apps",
          sectionName: "http",
        },
        "False",
        "False",
        "NotAllowedByListeners",
      ),
    ],
  },
};

/** In another namespace, attached to shop/web by listener; nobody answered yet. */
export const crossRoute: ApiObject = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name: "docs", namespace: "docs", creationTimestamp: T(1) },
  spec: { parentRefs: [{ name: "web", namespace: "shop", sectionName: "http" }] },
};

/** Not attached to shop/web (same name, other namespace). */
export const unrelatedRoute: ApiObject = {
  kind: "HTTPRoute",
  metadata: { name: "elsewhere", namespace: "apps" },
  spec: { parentRefs: [{ name: "web" }] },
};

export const generatedGateway: ApiObject = {
  kind: "ProxyGateway",
  metadata: {
    name: "gw-web",
    namespace: "shop",
    labels: { "novaedge.io/gateway-api-owner": "gateway.web" },
    annotations: { "novaedge.io/source": "Gateway/shop/web" },
  },
  status: { conditions: [{ type: "Accepted", status: "True", reason: "Accepted" }] },
};

export const generatedRoute: ApiObject = {
  kind: "ProxyRoute",
  metadata: {
    name: "httproute-store",
    namespace: "shop",
    labels: { "novaedge.io/gateway-api-owner": "httproute.store" },
    annotations: { "novaedge.io/source": "HTTPRoute/shop/store" },
  },
};

export const generatedUnrelated: ApiObject = {
  kind: "ProxyRoute",
  metadata: {
    name: "httproute-elsewhere",
    namespace: "apps",
    annotations: { "novaedge.io/source": "HTTPRoute/apps/elsewhere" },
  },
};
