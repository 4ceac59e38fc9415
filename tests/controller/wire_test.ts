import assert from "node:assert/strict";
import {
  decodeAgentMessage,
  decodeControllerMessage,
  decodeGetSnapshotRequest,
  decodeGetSnapshotResponse,
  encodeAgentMessage,
  encodeControllerMessage,
  encodeGetSnapshotRequest,
  encodeGetSnapshotResponse,
} from "../../src/controller/wire.ts";
import { decodeTestSnapshot, encodeTestSnapshot, loadProto, testSnapshot } from "./_helpers.ts";

const root = loadProto("novaedge/v1/agent.proto");
const AgentMessage = root.lookupType("novaedge.v1.AgentMessage");
const ControllerMessage = root.lookupType("novaedge.v1.ControllerMessage");
const GetReq = root.lookupType("novaedge.v1.GetSnapshotRequest");
const GetResp = root.lookupType("novaedge.v1.GetSnapshotResponse");
const obj = (t: typeof AgentMessage, b: Uint8Array) =>
  t.toObject(t.decode(b), { defaults: false, arrays: true, oneofs: false });

Deno.test("encodeAgentMessage: agent.proto reads hello, ack and nack back", () => {
  const hello = { node: "n1", agentVersion: "0.1", lastVersion: "vabc", token: "t0k" };
  assert.deepEqual(obj(AgentMessage, encodeAgentMessage({ hello })), { hello });
  assert.deepEqual(obj(AgentMessage, encodeAgentMessage({ ack: { version: "v1" } })), {
    ack: { version: "v1" },
  });
  const nack = { version: "v2", reason: "listener 0.0.0.0:80: address in use" };
  assert.deepEqual(obj(AgentMessage, encodeAgentMessage({ nack })), { nack });
  // An ack for the empty version still selects the ack arm.
  assert.deepEqual(decodeAgentMessage(encodeAgentMessage({ ack: { version: "" } })), {
    ack: { version: "" },
  });
});

Deno.test("decodeAgentMessage reads what agent.proto writes and skips unknown fields", () => {
  const b = AgentMessage.encode(
    AgentMessage.fromObject({ nack: { version: "v9", reason: "bad" } }),
  ).finish();
  assert.deepEqual(decodeAgentMessage(b), { nack: { version: "v9", reason: "bad" } });
  // field 15 (varint) appended: unknown, skipped
  const withUnknown = new Uint8Array([...b, 15 << 3, 42]);
  assert.deepEqual(decodeAgentMessage(withUnknown), { nack: { version: "v9", reason: "bad" } });
  assert.throws(() => decodeAgentMessage(new Uint8Array()), /none of/);
});

Deno.test("encodeControllerMessage carries the snapshot as an embedded novaedge.v1.Snapshot", () => {
  const snap = testSnapshot("v1234", 3);
  const bytes = encodeTestSnapshot(snap);
  const wire = encodeControllerMessage({
    snapshot: { version: "v1234", snapshot: bytes, controller: "ctl-0" },
  });
  const decoded = ControllerMessage.toObject(ControllerMessage.decode(wire), {
    defaults: true,
    arrays: true,
    longs: Number,
  }) as { snapshot: { version: string; controller: string; snapshot: unknown } };
  assert.equal(decoded.snapshot.version, "v1234");
  assert.equal(decoded.snapshot.controller, "ctl-0");
  assert.deepEqual(decoded.snapshot.snapshot, decodeTestSnapshot(bytes));
  const back = decodeControllerMessage(wire);
  assert.deepEqual(decodeTestSnapshot(back.snapshot!.snapshot), decodeTestSnapshot(bytes));
  assert.deepEqual(decodeControllerMessage(new Uint8Array()), {});
});

Deno.test("GetSnapshot request and response round-trip through agent.proto", () => {
  const req = { node: "n2", token: "tok" };
  assert.deepEqual(obj(GetReq, encodeGetSnapshotRequest(req)), req);
  assert.deepEqual(decodeGetSnapshotRequest(GetReq.encode(GetReq.fromObject(req)).finish()), req);
  const agent = {
    node: "n2",
    peer: "127.0.0.1:5555",
    agentVersion: "0.1",
    sentVersion: "v2",
    ackedVersion: "v1",
    nackedVersion: "v2",
    nackReason: "nope",
    connectedAt: "2026-01-01T00:00:00.000Z",
    controller: "ctl-1",
  };
  const snapBytes = encodeTestSnapshot(testSnapshot("v2"));
  const resp = { version: "v2", snapshot: snapBytes, agents: [agent, { ...agent, node: "n3" }] };
  const wire = encodeGetSnapshotResponse(resp);
  const viaProto = GetResp.toObject(GetResp.decode(wire), { arrays: true }) as {
    agents: unknown[];
  };
  assert.deepEqual(viaProto.agents, resp.agents);
  const back = decodeGetSnapshotResponse(wire);
  assert.equal(back.version, "v2");
  assert.deepEqual(back.agents, resp.agents);
  assert.deepEqual([...back.snapshot], [...snapBytes]);
});
