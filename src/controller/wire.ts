/**
 * Wire codec for the messages of `proto/novaedge/v1/agent.proto`.
 *
 * Why by hand: the envelope messages are tiny, and the embedded Snapshot is
 * carried as the already-encoded bytes of `novaedge.v1.Snapshot` (an embedded
 * message and a `bytes` field are the same on the wire). The controller encodes
 * each snapshot version once and hands the same bytes to every agent; the agent
 * acks by version without decoding, and decodes the snapshot at exactly one
 * boundary (its apply path). No .proto file is read at run time, so a bundled
 * binary needs nothing beside itself. tests/controller/wire_test.ts checks these
 * encoders against protobufjs reading agent.proto itself.
 */
import protobuf from "protobufjs";

export interface Hello {
  readonly node: string;
  readonly agentVersion: string;
  readonly lastVersion: string;
  readonly token: string;
}

export interface Ack {
  readonly version: string;
}

export interface Nack {
  readonly version: string;
  readonly reason: string;
}

/** AgentMessage: exactly one of hello, ack, nack. */
export type AgentMessage =
  | { readonly hello: Hello }
  | { readonly ack: Ack }
  | { readonly nack: Nack };

export interface SnapshotUpdate {
  readonly version: string;
  /** Encoded `novaedge.v1.Snapshot`. */
  readonly snapshot: Uint8Array;
  readonly controller: string;
}

/** ControllerMessage: today only a snapshot update. */
export interface ControllerMessage {
  readonly snapshot?: SnapshotUpdate;
}

export interface GetSnapshotRequest {
  readonly node: string;
  readonly token: string;
}

export interface AgentState {
  readonly node: string;
  readonly peer: string;
  readonly agentVersion: string;
  readonly sentVersion: string;
  readonly ackedVersion: string;
  readonly nackedVersion: string;
  readonly nackReason: string;
  readonly connectedAt: string;
  readonly controller: string;
}

export interface GetSnapshotResponse {
  readonly version: string;
  /** Encoded `novaedge.v1.Snapshot` with private keys redacted. */
  readonly snapshot: Uint8Array;
  readonly agents: readonly AgentState[];
}

type Writer = protobuf.Writer;
type Reader = protobuf.Reader;

const LEN = 2;

function str(w: Writer, field: number, v: string): void {
  if (v !== "") w.uint32((field << 3) | LEN).string(v);
}

function bytes(w: Writer, field: number, v: Uint8Array): void {
  if (v.length > 0) w.uint32((field << 3) | LEN).bytes(v);
}

/** Write a sub-message (always present, even when empty: that is what selects a oneof arm). */
function sub(w: Writer, field: number, body: (w: Writer) => void): void {
  w.uint32((field << 3) | LEN).fork();
  body(w);
  w.ldelim();
}

/** Read a message's fields: `on(field, reader, wireType)` returns false to skip the field. */
function readFields(
  r: Reader,
  end: number,
  on: (field: number, r: Reader) => boolean,
): void {
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    if (wt !== LEN || !on(field, r)) r.skipType(wt);
  }
}

function subEnd(r: Reader): number {
  const len = r.uint32();
  return r.pos + len;
}

// ---------- AgentMessage ----------

export function encodeAgentMessage(m: AgentMessage): Uint8Array {
  const w = protobuf.Writer.create();
  if ("hello" in m) {
    sub(w, 1, (w) => {
      str(w, 1, m.hello.node);
      str(w, 2, m.hello.agentVersion);
      str(w, 3, m.hello.lastVersion);
      str(w, 4, m.hello.token);
    });
  } else if ("ack" in m) {
    sub(w, 2, (w) => str(w, 1, m.ack.version));
  } else {
    sub(w, 3, (w) => {
      str(w, 1, m.nack.version);
      str(w, 2, m.nack.reason);
    });
  }
  return w.finish();
}

export function decodeAgentMessage(buf: Uint8Array): AgentMessage {
  const r = protobuf.Reader.create(buf);
  let out: AgentMessage | undefined;
  readFields(r, buf.length, (field, r) => {
    if (field === 1) {
      const h = { node: "", agentVersion: "", lastVersion: "", token: "" };
      readFields(r, subEnd(r), (f, r) => {
        if (f === 1) h.node = r.string();
        else if (f === 2) h.agentVersion = r.string();
        else if (f === 3) h.lastVersion = r.string();
        else if (f === 4) h.token = r.string();
        else return false;
        return true;
      });
      out = { hello: h };
    } else if (field === 2) {
      const a = { version: "" };
      readFields(r, subEnd(r), (f, r) => f === 1 ? (a.version = r.string(), true) : false);
      out = { ack: a };
    } else if (field === 3) {
      const n = { version: "", reason: "" };
      readFields(r, subEnd(r), (f, r) => {
        if (f === 1) n.version = r.string();
        else if (f === 2) n.reason = r.string();
        else return false;
        return true;
      });
      out = { nack: n };
    } else return false;
    return true;
  });
  if (!out) throw new Error("AgentMessage carries none of hello, ack, nack");
  return out;
}

// ---------- ControllerMessage ----------

function writeUpdate(w: Writer, u: SnapshotUpdate): void {
  str(w, 1, u.version);
  bytes(w, 2, u.snapshot);
  str(w, 3, u.controller);
}

export function encodeControllerMessage(m: ControllerMessage): Uint8Array {
  const w = protobuf.Writer.create();
  if (m.snapshot) {
    const u = m.snapshot;
    sub(w, 1, (w) => writeUpdate(w, u));
  }
  return w.finish();
}

export function decodeControllerMessage(buf: Uint8Array): ControllerMessage {
  const r = protobuf.Reader.create(buf);
  let snapshot: SnapshotUpdate | undefined;
  readFields(r, buf.length, (field, r) => {
    if (field !== 1) return false;
    const u: { version: string; snapshot: Uint8Array; controller: string } = {
      version: "",
      snapshot: new Uint8Array(),
      controller: "",
    };
    readFields(r, subEnd(r), (f, r) => {
      if (f === 1) u.version = r.string();
      else if (f === 2) u.snapshot = r.bytes();
      else if (f === 3) u.controller = r.string();
      else return false;
      return true;
    });
    snapshot = u;
    return true;
  });
  return snapshot ? { snapshot } : {};
}

// ---------- GetSnapshot ----------

export function encodeGetSnapshotRequest(m: GetSnapshotRequest): Uint8Array {
  const w = protobuf.Writer.create();
  str(w, 1, m.node);
  str(w, 2, m.token);
  return w.finish();
}

export function decodeGetSnapshotRequest(buf: Uint8Array): GetSnapshotRequest {
  const r = protobuf.Reader.create(buf);
  const m = { node: "", token: "" };
  readFields(r, buf.length, (f, r) => {
    if (f === 1) m.node = r.string();
    else if (f === 2) m.token = r.string();
    else return false;
    return true;
  });
  return m;
}

const AGENT_STATE_FIELDS: readonly (keyof AgentState)[] = [
  "node",
  "peer",
  "agentVersion",
  "sentVersion",
  "ackedVersion",
  "nackedVersion",
  "nackReason",
  "connectedAt",
  "controller",
];

export function encodeGetSnapshotResponse(m: GetSnapshotResponse): Uint8Array {
  const w = protobuf.Writer.create();
  str(w, 1, m.version);
  bytes(w, 2, m.snapshot);
  for (const a of m.agents) {
    sub(w, 3, (w) => AGENT_STATE_FIELDS.forEach((k, i) => str(w, i + 1, a[k])));
  }
  return w.finish();
}

export function decodeGetSnapshotResponse(buf: Uint8Array): GetSnapshotResponse {
  const r = protobuf.Reader.create(buf);
  let version = "";
  let snapshot: Uint8Array = new Uint8Array();
  const agents: AgentState[] = [];
  readFields(r, buf.length, (f, r) => {
    if (f === 1) version = r.string();
    else if (f === 2) snapshot = r.bytes();
    else if (f === 3) {
      const a: Record<string, string> = {};
      for (const k of AGENT_STATE_FIELDS) a[k] = "";
      readFields(r, subEnd(r), (f, r) => {
        const k = AGENT_STATE_FIELDS[f - 1];
        if (!k) return false;
        a[k] = r.string();
        return true;
      });
      agents.push(a as unknown as AgentState);
    } else return false;
    return true;
  });
  return { version, snapshot, agents };
}
