import assert from "node:assert/strict";
import { encodeHead, HeadWriter, latin1 } from "../../../src/proxy/io/transport.ts";

const text = (b: Uint8Array) => latin1(b);

Deno.test("HeadWriter: same bytes as encodeHead for ASCII, Latin-1, wider text and overflow", () => {
  const cases: string[][] = [
    ["GET ", "/a?b=1", " HTTP/1.1\r\n", "host: x\r\n\r\n"],
    ["x-latin: caf\u00e9\u00ff", "\r\n"],
    ["x-a: 1\r\n", "x-wide: \u20ac\u00e9", "\r\n"],
    ["x-long: ", "v".repeat(100), "\r\n"],
  ];
  for (const pieces of cases) {
    const w = new HeadWriter(new Uint8Array(64));
    for (const p of pieces) w.add(p);
    assert.deepEqual(w.finish(), encodeHead(pieces.join("")), JSON.stringify(pieces));
  }
});

Deno.test("HeadWriter: integers, reuse after reset, room for a coalesced body", () => {
  const buf = new Uint8Array(64);
  const w = new HeadWriter(buf);
  for (const n of [0, 7, 10, 33, 65536, 123456789012345, 1e15]) {
    assert.equal(text(w.reset().add("n=").int(n).finish()), `n=${n}`);
  }
  const out = w.reset().add("head\r\n").finish(3);
  assert.equal(out.length, 9);
  assert.equal(out.buffer, buf.buffer, "fits: the scratch buffer is used");
  out.set([97, 98, 99], 6);
  assert.equal(text(out), "head\r\nabc");
  const big = w.reset().add("x".repeat(60)).finish(10);
  assert.equal(big.length, 70);
  assert.notEqual(big.buffer, buf.buffer, "too big: a fresh buffer");
  assert.equal(text(big.subarray(0, 60)), "x".repeat(60));
});

Deno.test("latin1: ASCII and bytes >= 0x80 decode one character per byte", () => {
  assert.equal(latin1(new Uint8Array([72, 0, 126])), "H\u0000~");
  assert.equal(latin1(new Uint8Array([0x63, 0xe9, 0x80, 0xff])), "c\u00e9\u0080\u00ff");
  const long = new Uint8Array(20000).fill(0xe9);
  assert.equal(latin1(long), "\u00e9".repeat(20000));
  // A UTF-8 BOM is three bytes, not a byte-order mark to drop.
  assert.equal(latin1(new Uint8Array([0xef, 0xbb, 0xbf, 65])).length, 4);
});
