/**
 * HPACK "literal never indexed" (RFC 7541 §6.2.3) carried per message: the
 * decoder reports which names arrived so, and the encoder writes the names of
 * a per-message set as never-indexed literals without touching its table —
 * for that block only.
 */
import assert from "node:assert/strict";
import { BlockWriter, HpackDecoder, HpackEncoder } from "../../../src/proxy/h2/hpack.ts";

/** Decodes `enc`'s current block with `d`; returns the fields and the never-indexed names. */
function roundTrip(enc: HpackEncoder, d: HpackDecoder): { kv: string[]; never: string[] | null } {
  const kv: string[] = [];
  d.decode(enc.w.buf, 0, enc.w.len, kv);
  return { kv, never: d.neverIndexed ? [...d.neverIndexed].sort() : null };
}

/** The representation prefix of each field in a block (no size updates, no Huffman checks). */
function reprs(b: Uint8Array, len: number): string[] {
  // Walks the block: the first byte of each field gives its representation.
  const out: string[] = [];
  let p = 0;
  const int = (prefix: number): number => {
    const mask = (1 << prefix) - 1;
    let v = b[p++] & mask;
    if (v < mask) return v;
    let m = 1;
    for (;;) {
      const c = b[p++];
      v += (c & 0x7f) * m;
      m *= 128;
      if ((c & 0x80) === 0) return v;
    }
  };
  const str = () => {
    const n = int(7);
    p += n;
  };
  while (p < len) {
    const c = b[p];
    if (c & 0x80) {
      int(7);
      out.push("indexed");
    } else if (c & 0x40) {
      if (int(6) === 0) str();
      str();
      out.push("incremental");
    } else if (c & 0x20) {
      int(5);
    } else {
      const never = (c & 0x10) !== 0;
      if (int(4) === 0) str();
      str();
      out.push(never ? "never" : "without");
    }
  }
  return out;
}

Deno.test("hpack never-indexed: the decoder reports names sent as 0001 literals, per block", () => {
  const w = new BlockWriter();
  // 0001 literal, new name.
  w.int(0, 4, 0x10);
  w.str("x-secret-token");
  w.str("s3cr3t");
  // 0000 literal, new name.
  w.int(0, 4, 0);
  w.str("x-plain");
  w.str("p");
  // 0001 literal with a static name index (accept = 19).
  w.int(19, 4, 0x10);
  w.huff("text/html");
  // 01 literal with incremental indexing.
  w.int(0, 6, 0x40);
  w.str("x-indexed");
  w.str("v");
  const d = new HpackDecoder();
  const kv: string[] = [];
  d.decode(w.buf, 0, w.len, kv);
  assert.deepEqual(kv, [
    "x-secret-token",
    "s3cr3t",
    "x-plain",
    "p",
    "accept",
    "text/html",
    "x-indexed",
    "v",
  ]);
  assert.deepEqual([...d.neverIndexed!].sort(), ["accept", "x-secret-token"]);
  // Never-indexed fields stay out of the table.
  assert.deepEqual(d.entries(), [["x-indexed", "v"]]);

  // The next block has none: the report does not carry over.
  const w2 = new BlockWriter();
  w2.int(0, 4, 0);
  w2.str("x-secret-token");
  w2.str("s3cr3t");
  w2.int(62, 7, 0x80); // the dynamic entry x-indexed: v
  const kv2: string[] = [];
  d.decode(w2.buf, 0, w2.len, kv2);
  assert.deepEqual(kv2, ["x-secret-token", "s3cr3t", "x-indexed", "v"]);
  assert.equal(d.neverIndexed, null);
});

Deno.test("hpack never-indexed: the encoder writes a message's marked names as 0001 literals", () => {
  const enc = new HpackEncoder();
  const d = new HpackDecoder();
  const fields = [
    ":method",
    "GET",
    ":path",
    "/",
    "x-secret-token",
    "s3cr3t",
    "accept",
    "*/*",
    "x-plain",
    "p",
  ];

  // A message with a mark: the marked names are never indexed, the rest as usual.
  enc.begin();
  enc.fields(fields, new Set(["x-secret-token", "accept"]));
  assert.deepEqual(reprs(enc.w.buf, enc.w.len), [
    "indexed",
    "indexed",
    "never",
    "never",
    "incremental",
  ]);
  let r = roundTrip(enc, d);
  assert.deepEqual(r.kv, fields);
  assert.deepEqual(r.never, ["accept", "x-secret-token"]);
  // Neither table holds the marked fields; both hold the same entries.
  assert.deepEqual(enc.entries(), [["x-plain", "p"]]);
  assert.deepEqual(d.entries(), enc.entries());

  // The same fields in a message without marks: nothing is learned from the
  // previous one — x-secret-token is indexed like any other field now.
  enc.begin();
  enc.fields(fields, null);
  assert.deepEqual(reprs(enc.w.buf, enc.w.len), [
    "indexed",
    "indexed",
    "incremental",
    "incremental",
    "indexed",
  ]);
  r = roundTrip(enc, d);
  assert.deepEqual(r.kv, fields);
  assert.equal(r.never, null);
  assert.ok(enc.entries().some(([n]) => n === "x-secret-token"));

  // Marked again while the table holds that exact field: still a never-indexed
  // literal (no index reference), its name taken from the table.
  enc.begin();
  enc.fields(fields, new Set(["x-secret-token"]));
  assert.deepEqual(reprs(enc.w.buf, enc.w.len), [
    "indexed",
    "indexed",
    "never",
    "indexed",
    "indexed",
  ]);
  const before = enc.entries();
  r = roundTrip(enc, d);
  assert.deepEqual(r.kv, fields);
  assert.deepEqual(r.never, ["x-secret-token"]);
  assert.deepEqual(enc.entries(), before);
  assert.deepEqual(d.entries(), enc.entries());
});

Deno.test("hpack never-indexed: policy names stay never indexed; unmarked names are not reported", () => {
  const enc = new HpackEncoder();
  const d = new HpackDecoder();
  enc.begin();
  enc.fields(["authorization", "Bearer x", "x-other", "o"], null);
  const r = roundTrip(enc, d);
  assert.deepEqual(r.kv, ["authorization", "Bearer x", "x-other", "o"]);
  assert.deepEqual(r.never, ["authorization"]);
  assert.deepEqual(enc.entries(), [["x-other", "o"]]);
});
