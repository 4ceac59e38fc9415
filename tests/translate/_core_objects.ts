/**
 * The API server's rules for the core objects translators generate (a
 * Gateway's Service and EndpointSlice), checked without a cluster: what the
 * golden and robustness tests assert of every generated Service / EndpointSlice.
 */
import assert from "node:assert/strict";
import { isIP } from "node:net";
import type { KubeObject } from "../../src/store/types.ts";

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

interface Port {
  name?: string;
  port?: number;
  protocol?: string;
}

function assertPorts(where: string, ports: readonly Port[]): void {
  const names = new Set<string>();
  for (const p of ports) {
    assert.ok(p.name && p.name.length <= 15 && DNS1123_LABEL.test(p.name), `${where}: port name`);
    assert.ok(!names.has(p.name), `${where}: duplicate port name ${p.name}`);
    names.add(p.name);
    assert.ok(Number.isInteger(p.port) && p.port! >= 1 && p.port! <= 65535, `${where}: port`);
    assert.ok(p.protocol === "TCP" || p.protocol === "UDP", `${where}: protocol`);
  }
}

/** Fails unless `o` (a generated Service or EndpointSlice) would pass API validation. */
export function assertValidCoreObject(o: KubeObject): void {
  const where = `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
  assert.ok(o.metadata.namespace, `${where}: namespaced`);
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    assert.ok(v.length <= 63 && LABEL_VALUE.test(v), `${where}: label ${k}=${v}`);
  }
  if (o.kind === "Service") {
    assert.equal(o.apiVersion, "v1");
    assert.ok(o.metadata.name.length <= 63 && DNS1035.test(o.metadata.name), `${where}: name`);
    const spec = o.spec as { type?: string; selector?: unknown; ports?: Port[] };
    assert.equal(spec.type, "ClusterIP", `${where}: type`);
    assert.equal(spec.selector, undefined, `${where}: no selector (its EndpointSlice is ours)`);
    assert.ok((spec.ports ?? []).length > 0, `${where}: a ClusterIP Service needs a port`);
    assertPorts(where, spec.ports ?? []);
    return;
  }
  assert.equal(o.kind, "EndpointSlice");
  assert.equal(o.apiVersion, "discovery.k8s.io/v1");
  assert.ok(o.metadata.labels?.["kubernetes.io/service-name"], `${where}: service-name label`);
  assert.notEqual(
    o.metadata.labels?.["endpointslice.kubernetes.io/managed-by"],
    "endpointslice-controller.k8s.io",
    `${where}: must not claim the endpointslice controller`,
  );
  const family = o.addressType === "IPv4" ? 4 : o.addressType === "IPv6" ? 6 : 0;
  assert.ok(family, `${where}: addressType`);
  for (const e of o.endpoints as { addresses: string[] }[]) {
    assert.equal(e.addresses.length, 1, `${where}: one address per endpoint`);
    const ip = e.addresses[0];
    assert.equal(isIP(ip), family, `${where}: ${ip} is not ${o.addressType}`);
    assert.ok(!/^(127\.|0\.|169\.254\.)/.test(ip) && ip !== "::1", `${where}: ${ip} refused`);
  }
  assertPorts(where, o.ports as Port[]);
}
