/**
 * Test helpers: a Snapshot encoder/decoder read straight from the .proto files
 * with protobufjs (independent of the production codec), and small snapshots.
 */
import protobuf from "protobufjs";
import type { Snapshot } from "../../src/snapshot/types.ts";

const PROTO_ROOT = new URL("../../proto/", import.meta.url).pathname;

export function loadProto(file: string): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => PROTO_ROOT + target;
  return root.loadSync(file, { keepCase: false });
}

const root = loadProto("novaedge/v1/agent.proto");
export const SnapshotType = root.lookupType("novaedge.v1.Snapshot");

export function encodeTestSnapshot(s: Snapshot): Uint8Array {
  return SnapshotType.encode(SnapshotType.fromObject(s as unknown as Record<string, unknown>))
    .finish();
}

export function decodeTestSnapshot(b: Uint8Array): Snapshot {
  return SnapshotType.toObject(SnapshotType.decode(b), {
    defaults: true,
    arrays: true,
    longs: Number,
  }) as unknown as Snapshot;
}

/** A snapshot with `routes` routes and a secret holding a private key. */
export function testSnapshot(version: string, routes = 1): Snapshot {
  return {
    version,
    listeners: [{
      name: "default/gw/http",
      gateway: "default/gw",
      address: "0.0.0.0",
      port: 8080,
      protocol: "HTTP",
      hostnames: [],
    }],
    routes: Array.from({ length: routes }, (_, i) => ({
      name: `default/r${i}/0`,
      listeners: ["default/gw/http"],
      hostnames: [`h${i}.example.com`],
      matches: [{
        path: { type: "PathPrefix", value: `/p${i}` },
        headers: [],
        queryParams: [],
        method: "",
      }],
      filters: [],
      backends: [{ cluster: "default/echo", weight: 1, filters: [] }],
      l4Protocol: "",
      maxBodyBytes: 0,
      policies: [],
      orderKey: `0/default/r${i}`,
    })),
    clusters: [],
    vips: [],
    policies: [],
    secrets: [{
      name: "default/tls",
      certPem: "CERT",
      keyPem: "-----BEGIN PRIVATE KEY-----secret",
      dnsNames: ["a.example.com"],
      caPem: "",
    }],
  };
}
