import assert from "node:assert/strict";
import {
  nodeSignature,
  routeObjectKey,
  snapshotForNode,
} from "../../src/controller/node_filter.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { snapshotVersion } from "../../src/snapshot/version.ts";

function cluster(): Snapshot {
  const body: Omit<Snapshot, "version"> = {
    listeners: [
      {
        name: "ns/public/http",
        gateway: "ns/public",
        address: "0.0.0.0",
        port: 80,
        protocol: "HTTP",
        hostnames: [],
      },
      {
        name: "ns/edge/https",
        gateway: "ns/edge",
        address: "0.0.0.0",
        port: 443,
        protocol: "HTTPS",
        hostnames: [],
        tls: { mode: "Terminate", certificates: ["ns/edge-cert"], minVersion: "1.2", alpn: [] },
      },
    ],
    routes: [
      {
        name: "ns/pub/0",
        listeners: ["ns/public/http"],
        hostnames: [],
        matches: [],
        filters: [],
        backends: [{ cluster: "ns/a", weight: 1, filters: [] }],
        l4Protocol: "",
        maxBodyBytes: 0,
        policies: [],
        orderKey: "1",
      },
      {
        name: "ns/secure/0",
        listeners: ["ns/edge/https"],
        hostnames: [],
        matches: [],
        filters: [{ type: "RequestMirror", requestMirror: { cluster: "ns/mirror", percent: 10 } }],
        backends: [{ cluster: "ns/b", weight: 1, filters: [] }],
        l4Protocol: "",
        maxBodyBytes: 0,
        policies: ["ns/secure-policy"],
        orderKey: "2",
      },
    ],
    clusters: ["ns/a", "ns/b", "ns/mirror", "ns/unused"].map((name) => ({
      name,
      protocol: "HTTP" as const,
      lb: { policy: "RoundRobin" as const },
      endpoints: [],
      connectTimeoutMs: 0,
      requestTimeoutMs: 0,
      idleTimeoutMs: 0,
      hostRewrite: "",
      maxConnectionsPerEndpoint: 0,
      ...(name === "ns/b"
        ? { tls: { sni: "", caPem: "", insecureSkipVerify: false, clientCert: "ns/client-cert" } }
        : {}),
    })),
    vips: [{
      name: "ns/vip",
      address: "192.0.2.1/32",
      mode: "L2",
      nodes: ["edge-1"],
      gateways: ["ns/edge"],
      interface: "",
    }],
    policies: [
      { name: "ns/secure-policy", targets: [] },
      { name: "ns/pub-policy", targets: ["ProxyRoute/ns/pub"] },
    ],
    secrets: ["ns/edge-cert", "ns/client-cert", "ns/other"].map((name) => ({
      name,
      certPem: "c",
      keyPem: "k",
      dnsNames: [],
      caPem: "",
    })),
  };
  return { version: snapshotVersion(body), ...body };
}

Deno.test("snapshotForNode: a node eligible for every VIP serves the cluster snapshot itself", () => {
  const c = cluster();
  const s = snapshotForNode(c, "edge-1");
  assert.equal(s, c, "same snapshot, same version as --config-dir would build");
  assert.equal(nodeSignature(c, "edge-1"), "ns/vip");
  assert.equal(nodeSignature(c, "worker-7"), "");
});

Deno.test("snapshotForNode: a cut keeps only what the kept routes and listeners reference", () => {
  const c = cluster();
  // Two VIPs: edge-1 is eligible for only one of them, so its snapshot is cut.
  const withTwo: Snapshot = {
    ...c,
    vips: [...c.vips, {
      ...c.vips[0],
      name: "ns/vip2",
      nodes: ["edge-2"],
      gateways: ["ns/other-gw"],
    }],
  };
  const s = snapshotForNode(withTwo, "edge-1");
  assert.deepEqual(s.listeners.map((l) => l.name), ["ns/public/http", "ns/edge/https"]);
  assert.deepEqual(s.routes.map((r) => r.name), ["ns/pub/0", "ns/secure/0"]);
  assert.deepEqual(s.clusters.map((x) => x.name), ["ns/a", "ns/b", "ns/mirror"]);
  assert.deepEqual(s.secrets.map((e) => e.name), ["ns/edge-cert", "ns/client-cert"]);
  assert.deepEqual(s.vips.map((v) => v.name), ["ns/vip"]);
  assert.deepEqual(s.policies.map((p) => p.name), ["ns/secure-policy", "ns/pub-policy"]);
  assert.equal(s.version, snapshotVersion(s));
});

Deno.test("snapshotForNode: another node gets no VIP, no VIP-fronted gateway and none of its private keys", () => {
  const s = snapshotForNode(cluster(), "worker-7");
  assert.deepEqual(s.listeners.map((l) => l.name), ["ns/public/http"]);
  assert.deepEqual(s.routes.map((r) => r.name), ["ns/pub/0"]);
  assert.deepEqual(s.clusters.map((c) => c.name), ["ns/a"]);
  assert.deepEqual(s.secrets, []);
  assert.deepEqual(s.vips, []);
  assert.deepEqual(s.policies.map((p) => p.name), ["ns/pub-policy"]);
  assert.notEqual(s.version, cluster().version);
});

Deno.test("snapshotForNode is deterministic: same input, same version", () => {
  assert.equal(
    snapshotForNode(cluster(), "worker-7").version,
    snapshotForNode(cluster(), "worker-8").version,
  );
  assert.notEqual(
    snapshotForNode(cluster(), "worker-7").version,
    snapshotForNode(cluster(), "edge-1").version,
  );
});

Deno.test("routeObjectKey strips the rule index", () => {
  assert.equal(routeObjectKey("ns/app/3"), "ns/app");
});
