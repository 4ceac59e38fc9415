/** HPACK: RFC 7541 Appendix C examples, Huffman coding, limits. */
import assert from "node:assert/strict";
import {
  BlockWriter,
  encodeField,
  encodeStatus,
  HpackDecoder,
  HpackEncoder,
  HpackError,
} from "../../../src/proxy/h2/hpack.ts";
import { huffmanDecode, huffmanEncode, huffmanLength } from "../../../src/proxy/h2/huffman.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

function decodeAll(d: HpackDecoder, h: string): string[] {
  const b = hex(h);
  const out: string[] = [];
  d.decode(b, 0, b.length, out);
  return out;
}

Deno.test("hpack: C.2 literal representations", () => {
  const d = new HpackDecoder();
  assert.deepEqual(
    decodeAll(d, "400a637573746f6d2d6b65790d637573746f6d2d686561646572"),
    ["custom-key", "custom-header"],
  );
  assert.equal(d.tableSize, 55);
  const d2 = new HpackDecoder();
  assert.deepEqual(decodeAll(d2, "040c2f73616d706c652f70617468"), [":path", "/sample/path"]);
  assert.equal(d2.tableSize, 0);
  assert.deepEqual(decodeAll(d2, "100870617373776f726406736563726574"), ["password", "secret"]);
  assert.equal(d2.tableSize, 0);
  assert.deepEqual(decodeAll(d2, "82"), [":method", "GET"]);
});

const REQ = [
  [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
  [
    ":method",
    "GET",
    ":scheme",
    "http",
    ":path",
    "/",
    ":authority",
    "www.example.com",
    "cache-control",
    "no-cache",
  ],
  [
    ":method",
    "GET",
    ":scheme",
    "https",
    ":path",
    "/index.html",
    ":authority",
    "www.example.com",
    "custom-key",
    "custom-value",
  ],
];

Deno.test("hpack: C.3 requests without Huffman share the dynamic table", () => {
  const d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, "828684410f7777772e6578616d706c652e636f6d"), REQ[0]);
  assert.equal(d.tableSize, 57);
  assert.deepEqual(decodeAll(d, "828684be58086e6f2d6361636865"), REQ[1]);
  assert.equal(d.tableSize, 110);
  assert.deepEqual(
    decodeAll(d, "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565"),
    REQ[2],
  );
  assert.equal(d.tableSize, 164);
  assert.deepEqual(d.entries(), [
    ["custom-key", "custom-value"],
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ]);
});

Deno.test("hpack: C.4 requests with Huffman", () => {
  const d = new HpackDecoder();
  assert.deepEqual(decodeAll(d, "828684418cf1e3c2e5f23a6ba0ab90f4ff"), REQ[0]);
  assert.deepEqual(decodeAll(d, "828684be5886a8eb10649cbf"), REQ[1]);
  assert.deepEqual(decodeAll(d, "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"), REQ[2]);
  assert.equal(d.tableSize, 164);
});

const RES1 = [
  ":status",
  "302",
  "cache-control",
  "private",
  "date",
  "Mon, 21 Oct 2013 20:13:21 GMT",
  "location",
  "https://www.example.com",
];
const RES2 = [...RES1];
RES2[1] = "307";
const RES3 = [
  ":status",
  "200",
  "cache-control",
  "private",
  "date",
  "Mon, 21 Oct 2013 20:13:22 GMT",
  "location",
  "https://www.example.com",
  "content-encoding",
  "gzip",
  "set-cookie",
  "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
];

Deno.test("hpack: C.5 responses evict from a 256-byte table", () => {
  const d = new HpackDecoder(256);
  assert.deepEqual(
    decodeAll(
      d,
      "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
    ),
    RES1,
  );
  assert.equal(d.tableSize, 222);
  assert.deepEqual(decodeAll(d, "4803333037c1c0bf"), RES2);
  assert.equal(d.tableSize, 222);
  assert.deepEqual(
    decodeAll(
      d,
      "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31",
    ),
    RES3,
  );
  assert.equal(d.tableSize, 215);
  assert.equal(d.entries().length, 3);
});

Deno.test("hpack: C.6 responses with Huffman", () => {
  const d = new HpackDecoder(256);
  assert.deepEqual(
    decodeAll(
      d,
      "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
    ),
    RES1,
  );
  assert.deepEqual(decodeAll(d, "4883640effc1c0bf"), RES2);
  assert.deepEqual(
    decodeAll(
      d,
      "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
    ),
    RES3,
  );
  assert.equal(d.tableSize, 215);
});

Deno.test("huffman: encodes the RFC examples and round-trips every byte", () => {
  const enc = (s: string) => {
    const out = new Uint8Array(huffmanLength(s));
    assert.equal(huffmanEncode(s, out, 0), out.length);
    return toHex(out);
  };
  assert.equal(enc("www.example.com"), "f1e3c2e5f23a6ba0ab90f4ff");
  assert.equal(enc("no-cache"), "a8eb10649cbf");
  assert.equal(enc("custom-key"), "25a849e95ba97d7f");
  assert.equal(enc("custom-value"), "25a849e95bb8e8b4bf");
  let all = "";
  for (let i = 0; i < 256; i++) all += String.fromCharCode(i);
  const b = new Uint8Array(huffmanLength(all));
  huffmanEncode(all, b, 0);
  assert.equal(huffmanDecode(b, 0, b.length), all);
});

Deno.test("huffman: bad padding and EOS are refused", () => {
  // "a" is 00011 + padding 111: 0x1f. Padding with a zero bit is invalid.
  assert.equal(huffmanDecode(Uint8Array.of(0x1f), 0, 1), "a");
  assert.throws(() => huffmanDecode(Uint8Array.of(0x1e), 0, 1));
  // More than 7 bits of padding (a whole 0xff byte) is invalid.
  assert.throws(() => huffmanDecode(Uint8Array.of(0x1f, 0xff), 0, 2));
  // EOS (30 ones) inside the string.
  assert.throws(() => huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4));
});

Deno.test("hpack: malformed blocks are compression errors", () => {
  const bad = (h: string, limit = 4096) => {
    const d = new HpackDecoder(limit);
    assert.throws(() => decodeAll(d, h), HpackError);
  };
  bad("80"); // index 0
  bad("be"); // dynamic index beyond an empty table
  bad("410f7777"); // string longer than the block
  bad("3fe21f", 4096); // table size update above the limit (5000)
  bad("82" + "20"); // size update after a field
  bad("ff80808080808080"); // integer overflow
});

Deno.test("hpack: table size update evicts; the encoder round-trips", () => {
  const d = new HpackDecoder();
  decodeAll(d, "400a637573746f6d2d6b65790d637573746f6d2d686561646572");
  assert.equal(d.tableSize, 55);
  assert.deepEqual(decodeAll(d, "20"), []); // size 0: table emptied
  assert.equal(d.tableSize, 0);

  const w = new BlockWriter(4);
  encodeStatus(w, 200);
  encodeStatus(w, 418);
  encodeField(w, "content-type", "text/plain");
  encodeField(w, "x-long", "v".repeat(300));
  const end = w.len;
  w.huff("x-huff");
  const out: string[] = [];
  const d2 = new HpackDecoder();
  // The trailing Huffman string alone is not a field: decode up to it.
  d2.decode(w.buf, 0, end, out);
  assert.deepEqual(out, [
    ":status",
    "200",
    ":status",
    "418",
    "content-type",
    "text/plain",
    "x-long",
    "v".repeat(300),
  ]);
  assert.equal(huffmanDecode(w.buf, end + 1, w.len), "x-huff");
});

Deno.test("hpack: random blocks fail only with HpackError, and the table stays within its size", () => {
  // Deterministic xorshift so a failure reproduces.
  let x = 0x9e3779b9;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  const d = new HpackDecoder(4096);
  let ok = 0;
  for (let round = 0; round < 3000; round++) {
    const b = new Uint8Array(1 + Math.floor(rnd() * 64));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    try {
      d.decode(b, 0, b.length, []);
      ok++;
    } catch (e) {
      assert.ok(e instanceof HpackError, `round ${round}: ${(e as Error).stack}`);
    }
    assert.ok(d.tableSize <= 4096);
  }
  assert.ok(ok > 0, "some random blocks decode");
});

// ---- encoder with the dynamic table ----------------------------------------

/** Encodes one block; returns its bytes (copied: the writer is reused). */
function block(e: HpackEncoder, kv: readonly string[], status?: number): Uint8Array {
  e.begin();
  if (status !== undefined) e.status(status);
  for (let i = 0; i < kv.length; i += 2) e.field(kv[i], kv[i + 1]);
  return e.w.buf.slice(0, e.w.len);
}

function decodeBytes(d: HpackDecoder, b: Uint8Array): string[] {
  const out: string[] = [];
  d.decode(b, 0, b.length, out);
  return out;
}

Deno.test("hpack encoder: RFC 7541 C.4 requests byte for byte (indexing, Huffman)", () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const want = [
    "828684418cf1e3c2e5f23a6ba0ab90f4ff",
    "828684be5886a8eb10649cbf",
    "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf",
  ];
  for (let i = 0; i < 3; i++) {
    const b = block(e, REQ[i]);
    assert.equal(toHex(b), want[i], `C.4.${i + 1}`);
    assert.deepEqual(decodeBytes(d, b), REQ[i]);
  }
  assert.equal(e.tableSize, 164);
  assert.deepEqual(e.entries(), d.entries());
});

Deno.test("hpack encoder: C.6 responses on a 256-byte table, set-cookie never indexed", () => {
  const e = new HpackEncoder(256);
  const d = new HpackDecoder(256);
  // C.6.1 exactly.
  let b = block(e, RES1.slice(2), 302);
  assert.equal(
    toHex(b),
    "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
  );
  assert.deepEqual(decodeBytes(d, b), RES1);
  assert.equal(e.tableSize, 222);
  // C.6.2: "307" is no shorter in Huffman, so it goes raw — the C.5.2 bytes;
  // :status 302 is evicted, the other three are one-byte indexes.
  b = block(e, RES2.slice(2), 307);
  assert.equal(toHex(b), "4803333037c1c0bf");
  assert.deepEqual(decodeBytes(d, b), RES2);
  assert.equal(e.tableSize, 222);
  // C.6.3 except set-cookie: never indexed (0001 prefix, static name 55 = 0x1f 0x28).
  b = block(e, RES3.slice(2), 200);
  assert.equal(
    toHex(b),
    "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab" +
      "1f28ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
  );
  assert.deepEqual(decodeBytes(d, b), RES3);
  assert.deepEqual(e.entries(), d.entries());
  assert.ok(!e.entries().some(([n]) => n === "set-cookie"));
  assert.equal(e.tableSize, d.tableSize);
});

Deno.test("hpack encoder: repeats are indexed; credentials, ids and one-off values are not", () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  const kv = [
    "content-type",
    "application/json",
    "x-served-by",
    "pool-a",
    "date",
    "Mon, 23 Nov 2026 22:53:12 GMT",
    "authorization",
    "Bearer s3cr3t",
    "proxy-authorization",
    "Basic eDp5",
    "cookie",
    "session=abc",
    "set-cookie",
    "id=1; HttpOnly",
    "content-length",
    "1234",
    "x-request-id",
    "7c1d0b1c-8f5e-4a7e-9a53-5f3f2f7d1a10",
    "traceparent",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    ":path",
    "/search?q=1",
    "x-big",
    "b".repeat(3200),
  ];
  const first = block(e, kv, 200);
  assert.deepEqual(decodeBytes(d, first), [":status", "200", ...kv]);
  // Only the three ordinary fields went into the table.
  assert.deepEqual(e.entries().map(([n]) => n).sort(), ["content-type", "date", "x-served-by"]);
  assert.deepEqual(e.entries(), d.entries());
  // Representation of each sensitive field: the 0001 "never indexed" prefix.
  for (
    const [n, v] of [["authorization", "x"], ["cookie", "a=b"], ["set-cookie", "c=d"], [
      "x-api-key",
      "k1",
    ]]
  ) {
    const b = block(e, [n, v]);
    assert.equal(b[0] & 0xf0, 0x10, n);
    assert.deepEqual(decodeBytes(d, b), [n, v]);
  }
  // The same head again: the three indexed fields are one byte each.
  const again = block(e, kv.slice(0, 6), 200);
  assert.equal(toHex(again), "88c0bfbe");
  assert.deepEqual(decodeBytes(d, again), [":status", "200", ...kv.slice(0, 6)]);
  // A :path without a query string is indexed (gRPC methods repeat).
  const p1 = block(e, [":path", "/pkg.Svc/Call"]);
  const p2 = block(e, [":path", "/pkg.Svc/Call"]);
  assert.ok(p1.length > 10);
  assert.equal(toHex(p2), "be");
  assert.deepEqual(decodeBytes(d, p1), [":path", "/pkg.Svc/Call"]);
  assert.deepEqual(decodeBytes(d, p2), [":path", "/pkg.Svc/Call"]);
  // A new value for a name in the dynamic table reuses that entry's name.
  const v2 = block(e, ["x-served-by", "pool-b"]);
  // Incremental indexing (01), name = index 64 (third newest): 0x7f then 64 - 63.
  assert.equal(toHex(v2.subarray(0, 2)), "7f01");
  assert.deepEqual(decodeBytes(d, v2), ["x-served-by", "pool-b"]);
  assert.deepEqual(e.entries(), d.entries());
});

Deno.test("hpack encoder: peer table size 0, then larger: size updates, eviction, no indexing at 0", () => {
  const kv = ["x-a", "alpha", "x-b", "bravo", "server", "novaedge"];
  const d0 = new HpackDecoder(4096);
  const e0 = new HpackEncoder();
  decodeBytes(d0, block(e0, kv));
  assert.equal(e0.entries().length, 3);
  e0.setPeerLimit(0);
  assert.equal(e0.tableSize, 0, "shrinking evicts at once");
  let b = block(e0, kv);
  assert.equal(b[0], 0x20, "size update to 0 first");
  assert.deepEqual(decodeBytes(d0, b), kv);
  assert.equal(d0.tableSize, 0);
  assert.equal(e0.entries().length, 0, "nothing indexed in a zero table");
  // The next block carries no update and is the same size: still no table.
  const b2 = block(e0, kv);
  assert.equal(b2.length, b.length - 1);
  assert.deepEqual(decodeBytes(d0, b2), kv);
  // Back to 4096: update 4096 (3f e1 1f), indexing resumes.
  e0.setPeerLimit(4096);
  b = block(e0, kv);
  assert.equal(toHex(b.subarray(0, 3)), "3fe11f");
  assert.deepEqual(decodeBytes(d0, b), kv);
  assert.deepEqual(e0.entries(), d0.entries());
  assert.equal(toHex(block(e0, kv)), "c0bfbe");
  // Two changes between blocks: the smaller, then the final (§4.2).
  e0.setPeerLimit(100);
  e0.setPeerLimit(300);
  b = block(e0, ["x-a", "alpha"]);
  assert.equal(toHex(b.subarray(0, 5)), "3f453f8d02");
  assert.deepEqual(decodeBytes(d0, b), ["x-a", "alpha"]);
  assert.deepEqual(e0.entries(), d0.entries());
  // A peer limit above the encoder's cap changes nothing (no update).
  e0.setPeerLimit(300);
  e0.setPeerLimit(1 << 20);
  assert.equal(e0.maxTableSize, 4096);
  b = block(e0, []);
  assert.equal(toHex(b), "3fe11f");
  assert.equal(toHex(block(e0, [])), "");
  e0.setPeerLimit(1 << 20); // unchanged setting: nothing to signal
  assert.equal(toHex(block(e0, [])), "");
});

Deno.test("hpack encoder: eviction keeps the encoder and decoder tables identical", () => {
  const e = new HpackEncoder(4096);
  const d = new HpackDecoder(4096);
  e.setPeerLimit(256);
  // 32 + 8 + 60 = 100 octets each: two fit in 256, the third evicts the oldest.
  const f = (i: number) => [`x-f${i}-abc`.slice(0, 8), `${i}`.padStart(60, "v")];
  for (let i = 0; i < 6; i++) {
    const b = block(e, f(i));
    assert.deepEqual(decodeBytes(d, b), f(i));
    assert.deepEqual(e.entries(), d.entries());
    assert.ok(e.tableSize <= 256);
    assert.equal(e.tableSize, d.tableSize);
  }
  assert.deepEqual(e.entries().map(([n]) => n), [f(5)[0], f(4)[0]]);
  // An evicted field goes out as a literal again; a live one is indexed.
  assert.equal(block(e, f(5))[0], 0xbe);
  const again = block(e, f(0));
  assert.ok(again.length > 60);
  assert.deepEqual(decodeBytes(d, again), f(0));
  assert.deepEqual(e.entries(), d.entries());
});

Deno.test("hpack encoder: random header lists and table sizes round-trip through our decoder", () => {
  let x = 0x1b873593;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const names = [
    ":status",
    ":path",
    ":authority",
    "content-type",
    "cache-control",
    "date",
    "x-custom",
    "x-other",
    "set-cookie",
    "cookie",
    "authorization",
    "content-length",
    "etag",
    "accept-encoding",
  ];
  const values = ["", "a", "gzip, deflate", "/", "/q?x=1", "text/html", "v".repeat(200), "é\u00ff"];
  const e = new HpackEncoder();
  const d = new HpackDecoder(65536);
  // The decoder starts at its advertised 65536; the encoder's first block tells it 4096.
  e.setPeerLimit(65536);
  let indexed = 0;
  for (let round = 0; round < 2000; round++) {
    if (rnd(50) === 0) e.setPeerLimit([0, 64, 256, 1000, 4096, 65536][rnd(6)]);
    if (rnd(200) === 0) e.setPeerLimit(rnd(5000));
    const kv: string[] = [];
    const n = rnd(12);
    for (let i = 0; i < n; i++) {
      const v = rnd(3) === 0 ? `v${rnd(40)}` : values[rnd(values.length)];
      kv.push(names[rnd(names.length)], v);
    }
    const b = block(e, kv);
    for (const c of b) if (c >= 0xbe) indexed++;
    assert.deepEqual(decodeBytes(d, b), kv, `round ${round}`);
    assert.ok(e.tableSize <= e.maxTableSize);
    assert.equal(e.tableSize, d.tableSize, `round ${round}`);
  }
  assert.deepEqual(e.entries(), d.entries());
  assert.ok(indexed > 500, `dynamic indexes used: ${indexed}`);
});

Deno.test("hpack encoder: thousands of distinct names stay in sync (bounded name records)", () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder();
  let x = 7;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  for (let round = 0; round < 3000; round++) {
    const kv: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Mostly fresh names; some repeat, some are static names with new values.
      const r = rnd(10);
      const name = r < 6 ? `x-gen-${rnd(5000)}` : r < 8 ? `x-hot-${rnd(8)}` : "content-type";
      kv.push(name, `v${rnd(r < 6 ? 1000 : 4)}`);
    }
    const b = block(e, kv);
    assert.deepEqual(decodeBytes(d, b), kv, `round ${round}`);
  }
  assert.deepEqual(e.entries(), d.entries());
  assert.equal(e.tableSize, d.tableSize);
});
