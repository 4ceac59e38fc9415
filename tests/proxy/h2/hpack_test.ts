/** HPACK: RFC 7541 Appendix C examples, Huffman coding, limits. */
import assert from "node:assert/strict";
import {
  BlockWriter,
  encodeField,
  encodeStatus,
  HpackDecoder,
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
