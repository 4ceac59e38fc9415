import assert from "node:assert/strict";
import { encodeHeadInto, latin1 } from "../../../src/proxy/io/transport.ts";

Deno.test("latin1: ASCII and bytes >= 0x80 decode one character per byte", () => {
  assert.equal(latin1(new Uint8Array([72, 0, 126])), "H\u0000~");
  assert.equal(latin1(new Uint8Array([0x63, 0xe9, 0x80, 0xff])), "c\u00e9\u0080\u00ff");
  const long = new Uint8Array(20000).fill(0xe9);
  assert.equal(latin1(long), "\u00e9".repeat(20000));
  // A UTF-8 BOM is three bytes, not a byte-order mark to drop.
  assert.equal(latin1(new Uint8Array([0xef, 0xbb, 0xbf, 65])).length, 4);
});

Deno.test("encodeHeadInto: round-trips through latin1; room for a coalesced body", () => {
  const scratch = new Uint8Array(64);
  const s = "HTTP/1.1 200 OK\r\nx-latin: caf\u00e9\r\n\r\n";
  const out = encodeHeadInto(s, scratch, 2);
  assert.equal(out.length, s.length + 2);
  assert.equal(latin1(out.subarray(0, s.length)), s);
  assert.equal(out.buffer, scratch.buffer);
});
