/**
 * The `novaedge.v1.AgentService` gRPC service definition for @grpc/grpc-js,
 * built from the hand codec in wire.ts (no proto-loader at run time). Shared by
 * the controller's server, the agent's client and `snapshot dump`.
 */
import { Buffer } from "node:buffer";
import type { ServiceDefinition } from "@grpc/grpc-js";
import {
  type AgentMessage,
  type ControllerMessage,
  decodeAgentMessage,
  decodeControllerMessage,
  decodeGetSnapshotRequest,
  decodeGetSnapshotResponse,
  encodeAgentMessage,
  encodeControllerMessage,
  encodeGetSnapshotRequest,
  encodeGetSnapshotResponse,
  type GetSnapshotRequest,
  type GetSnapshotResponse,
} from "./wire.ts";

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export const STREAM_SNAPSHOTS_PATH = "/novaedge.v1.AgentService/StreamSnapshots";
export const GET_SNAPSHOT_PATH = "/novaedge.v1.AgentService/GetSnapshot";

/** Default max message size both ways: a 10,000-route snapshot is several MiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export const serializeAgentMessage = (m: AgentMessage): Buffer => asBuffer(encodeAgentMessage(m));
export const serializeControllerMessage = (m: ControllerMessage): Buffer =>
  asBuffer(encodeControllerMessage(m));
export const serializeGetSnapshotRequest = (m: GetSnapshotRequest): Buffer =>
  asBuffer(encodeGetSnapshotRequest(m));
export const serializeGetSnapshotResponse = (m: GetSnapshotResponse): Buffer =>
  asBuffer(encodeGetSnapshotResponse(m));

export const agentServiceDefinition: ServiceDefinition = {
  StreamSnapshots: {
    path: STREAM_SNAPSHOTS_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: serializeAgentMessage,
    requestDeserialize: (b: Buffer) => decodeAgentMessage(b),
    responseSerialize: serializeControllerMessage,
    responseDeserialize: (b: Buffer) => decodeControllerMessage(b),
  },
  GetSnapshot: {
    path: GET_SNAPSHOT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: serializeGetSnapshotRequest,
    requestDeserialize: (b: Buffer) => decodeGetSnapshotRequest(b),
    responseSerialize: serializeGetSnapshotResponse,
    responseDeserialize: (b: Buffer) => decodeGetSnapshotResponse(b),
  },
};

/**
 * A DNS name every controller certificate carries, whatever its namespace or
 * address. Clients verify it when they dial an IP address: Deno's node:tls
 * refuses an IP as the TLS server name.
 */
export const CONTROLLER_TLS_NAME = "novaedge-controller";

/** The TLS name a client should verify for `address` ("host:port"), or undefined for the host. */
export function tlsNameFor(address: string, serverName?: string): string | undefined {
  if (serverName) return serverName;
  const host = address.startsWith("[")
    ? address.slice(1, address.indexOf("]"))
    : address.split(":")[0];
  const isIp = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
  return isIp ? CONTROLLER_TLS_NAME : undefined;
}

/**
 * A Buffer of `pem` that owns its whole ArrayBuffer. Deno's node:tls reads a
 * Buffer's backing store from offset 0, and `Buffer.from(string)` slices small
 * strings out of a shared pool: the CA then intermittently fails to parse
 * ("ignoring invalid CA certificate: BadEncoding").
 */
export function pemBuffer(pem: string): Buffer {
  const bytes = new TextEncoder().encode(pem);
  return Buffer.from(bytes.buffer, 0, bytes.byteLength);
}
