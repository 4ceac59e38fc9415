import assert from "node:assert/strict";
import { parse } from "yaml";
import { decodeSnapshot, encodeSnapshot } from "../../src/snapshot/codec.ts";
import { snapshotVersion, validateSnapshot } from "../../src/snapshot/mod.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";
import { SNAPSHOT_PROTO } from "../../src/snapshot/proto_source.ts";
import { PROTO_PATH, protoSourceModule } from "../../src/snapshot/gen_proto_source.ts";

const goldenDir = new URL("../golden/", import.meta.url);

function goldenSnapshots(): [string, Snapshot][] {
  const out: [string, Snapshot][] = [];
  for (const e of Deno.readDirSync(goldenDir)) {
    if (!e.name.endsWith(".out.yaml")) continue;
    out.push([e.name, parse(Deno.readTextFileSync(new URL(e.name, goldenDir))).snapshot]);
  }
  return out.sort();
}

Deno.test("proto_source.ts matches proto/novaedge/v1/snapshot.proto (run `deno task gen:proto`)", () => {
  const text = Deno.readTextFileSync(PROTO_PATH);
  assert.equal(SNAPSHOT_PROTO, text);
  // The generated module parses back to the same text.
  assert.match(protoSourceModule(text), /^\/\/ deno-fmt-ignore-file\n/);
});

Deno.test("encodeSnapshot/decodeSnapshot: golden snapshots round-trip exactly, version still the content hash", () => {
  const all = goldenSnapshots();
  assert.ok(all.length >= 25);
  for (const [name, snap] of all) {
    const bytes = encodeSnapshot(snap);
    const back = decodeSnapshot(bytes, { checkVersion: true });
    assert.deepEqual(back, snap, name);
    assert.equal(snapshotVersion(back), snap.version, name);
  }
});

Deno.test("decodeSnapshot: garbage bytes are rejected with a clear error", () => {
  assert.throws(
    () => decodeSnapshot(new Uint8Array([0x0a, 0xff, 0xff, 0xff])),
    /cannot decode snapshot/,
  );
});

Deno.test("decodeSnapshot: a snapshot whose route names a missing cluster is rejected", () => {
  const [, snap] = goldenSnapshots().find(([n]) => n === "basic_http.out.yaml")!;
  const bad = {
    ...snap,
    routes: snap.routes.map((r) => ({
      ...r,
      backends: [{ cluster: "nope/x", weight: 1, filters: [] }],
    })),
  };
  assert.throws(
    () => decodeSnapshot(encodeSnapshot(bad)),
    /routes\[0\]\.backends\[0\]\.cluster: unknown cluster nope\/x/,
  );
});

Deno.test("decodeSnapshot: a tampered version fails checkVersion", () => {
  const [, snap] = goldenSnapshots().find(([n]) => n === "basic_http.out.yaml")!;
  const bytes = encodeSnapshot({ ...snap, version: "v0000000000000000" });
  assert.throws(() => decodeSnapshot(bytes, { checkVersion: true }), /version/);
  assert.equal(decodeSnapshot(bytes).version, "v0000000000000000");
});

Deno.test("validateSnapshot: fills proto3 defaults and reads nulls as unset", () => {
  const s = validateSnapshot({
    version: "v1",
    clusters: [{
      name: "a",
      endpoints: [{ address: "127.0.0.1", port: 1 }],
      tls: null,
      outlierDetection: { consecutive_5xx: 7 },
    }],
  });
  assert.deepEqual(s.listeners, []);
  assert.equal(s.clusters[0].protocol, "HTTP");
  assert.equal(s.clusters[0].lb.policy, "RoundRobin");
  assert.equal(s.clusters[0].tls, undefined);
  assert.equal(s.clusters[0].endpoints[0].weight, 0);
  assert.equal(s.clusters[0].outlierDetection?.consecutive5xx, 7);
});

Deno.test("validateSnapshot: rejects bad enums, ports, duplicate names and non-objects with field names", () => {
  assert.throws(() => validateSnapshot(42), /must be an object/);
  assert.throws(
    () => validateSnapshot({ listeners: [{ name: "l", port: 0, protocol: "HTTP" }] }),
    /listeners\[0\]\.port: must be >= 1/,
  );
  assert.throws(
    () => validateSnapshot({ listeners: [{ name: "l", port: 80, protocol: "SPDY" }] }),
    /listeners\[0\]\.protocol: must be one of/,
  );
  assert.throws(
    () => validateSnapshot({ clusters: [{ name: "a" }, { name: "a" }] }),
    /clusters\[1\]\.name: duplicate name/,
  );
  assert.throws(
    () =>
      validateSnapshot({
        routes: [{ name: "r", matches: [{ path: { type: "RegularExpression", value: "(" } }] }],
      }),
    /does not compile/,
  );
  assert.throws(
    () => validateSnapshot({ routes: [{ name: "r", filters: [{ type: "RequestRedirect" }] }] }),
    /lacks its settings/,
  );
});

Deno.test("validateSnapshot: uint64 as string or Long-like object", () => {
  const s = validateSnapshot({
    routes: [{ name: "r", maxBodyBytes: "1048576" }],
    listeners: [{
      name: "l",
      port: 1,
      protocol: "HTTP",
      limits: { maxBodyBytes: { low: 5, high: 1 } },
    }],
  });
  assert.equal(s.routes[0].maxBodyBytes, 1048576);
  assert.equal(s.listeners[0].limits?.maxBodyBytes, 4294967301);
});
