/**
 * Protobuf codec for the Snapshot (novaedge.v1.Snapshot, via protobufjs and the
 * embedded proto text). `decodeSnapshot` is the agent's decode boundary: bytes
 * in, validated domain Snapshot out, or an error naming what is wrong.
 */
import protobuf from "protobufjs";
import { SNAPSHOT_PROTO } from "./proto_source.ts";
import type { Snapshot } from "./types.ts";
import { validateSnapshot } from "./validate.ts";

let snapshotType: protobuf.Type | undefined;

/** The reflected novaedge.v1.Snapshot type (parsed once). */
export function snapshotMessageType(): protobuf.Type {
  if (snapshotType) return snapshotType;
  const root = protobuf.parse(SNAPSHOT_PROTO, { keepCase: false }).root;
  // protobufjs leaves "consecutive_5xx" as is (no letter follows "_"); the domain
  // type calls it consecutive5xx. Same field number, so the wire is unchanged.
  const od = root.lookupType("novaedge.v1.OutlierDetection");
  const f = od.fields["consecutive_5xx"];
  if (f) {
    od.remove(f);
    od.add(new protobuf.Field("consecutive5xx", f.id, f.type));
  }
  snapshotType = root.lookupType("novaedge.v1.Snapshot");
  return snapshotType;
}

/** Encodes a snapshot to protobuf bytes. */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const T = snapshotMessageType();
  return T.encode(T.fromObject(s as unknown as Record<string, unknown>)).finish();
}

/**
 * Decodes protobuf bytes into a validated Snapshot. Throws (with the field and
 * reason) on malformed bytes or content that fails validation.
 */
export function decodeSnapshot(bytes: Uint8Array, opts: { checkVersion?: boolean } = {}): Snapshot {
  const T = snapshotMessageType();
  let msg: protobuf.Message;
  try {
    msg = T.decode(bytes);
  } catch (e) {
    throw new Error(`cannot decode snapshot: ${(e as Error).message}`);
  }
  const plain = T.toObject(msg, { longs: Number, enums: String, defaults: true, arrays: true });
  return validateSnapshot(plain, opts);
}
