import assert from "node:assert/strict";
import { BufReader } from "../../../src/proxy/io/reader.ts";
import type { Transport } from "../../../src/proxy/io/transport.ts";

const none: Transport = {
  read: () => Promise.resolve(null),
  write: (p) => Promise.resolve(p.length),
  closeWrite: () => Promise.resolve(),
  close() {},
};

function naiveHeadEnd(b: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 3 < end; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}

Deno.test("BufReader.headEnd: same answer as a byte-by-byte scan on CR/LF-heavy input", () => {
  // Deterministic pseudo-random buffers over {CR, LF, 'A', ' '}.
  let seed = 12345;
  // High bits of an LCG (its low bits have short periods).
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) >>> 12;
  const alphabet = [13, 10, 65, 32];
  const r = new BufReader(none, 64);
  for (let t = 0; t < 20000; t++) {
    const len = next() % 24;
    for (let i = 0; i < len; i++) r.buf[i] = alphabet[next() % 4];
    r.start = next() % (len + 1);
    r.end = len;
    const from = next() % (len + 1);
    const want = naiveHeadEnd(r.buf, Math.max(from, r.start), len);
    assert.equal(r.headEnd(from), want, `buffer ${r.buf.subarray(0, len).join(",")} from ${from}`);
  }
  const head = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next");
  r.buf.set(head);
  r.start = 0;
  r.end = head.length;
  assert.equal(r.headEnd(0), 27);
});
