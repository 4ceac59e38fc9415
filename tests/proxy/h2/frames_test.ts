/** Frame header serialization and the 31-bit fields (RFC 9113 §4.1). */
import assert from "node:assert/strict";
import * as F from "../../../src/proxy/h2/frames.ts";

Deno.test("frames: header round trip, reserved bit ignored, 32-bit values", () => {
  const b = new Uint8Array(13);
  F.frameHeader(b, 0, 0x123456, F.HEADERS, F.FLAG_END_HEADERS | F.FLAG_END_STREAM, 0x7fffffff);
  assert.deepEqual([...b.subarray(0, 9)], [0x12, 0x34, 0x56, 1, 5, 0x7f, 0xff, 0xff, 0xff]);
  assert.equal(b[0] << 16 | b[1] << 8 | b[2], 0x123456);
  assert.equal(F.u31(b, 5), 0x7fffffff);
  // A set reserved bit is ignored on receipt.
  b[5] = 0xff;
  assert.equal(F.u31(b, 5), 0x7fffffff);
  F.put32(b, 9, 0xdeadbeef);
  assert.equal(F.u32(b, 9), 0xdeadbeef);
  assert.equal(F.u31(b, 9), 0x5eadbeef);
  // Stream ids never set the reserved bit when written.
  F.frameHeader(b, 0, 0, F.DATA, 0, 0xffffffff);
  assert.equal(b[5] & 0x80, 0);
  assert.equal(F.CONNECTION_SPECIFIC.has("transfer-encoding"), true);
  assert.equal(F.CONNECTION_SPECIFIC.has("te"), false);
});
