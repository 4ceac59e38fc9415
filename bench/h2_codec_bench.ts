/**
 * HTTP/2 codec costs per request head: HPACK decoding of a typical browser /
 * h2load request (first on a connection: literals with Huffman; later:
 * indexed from the dynamic table), request validation, and response head
 * encoding. Run: deno bench bench/h2_codec_bench.ts
 */
import { BlockWriter, encodeField, encodeStatus, HpackDecoder } from "../src/proxy/h2/hpack.ts";
import { validate } from "../src/proxy/h2/conn.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((x) => parseInt(x, 16)));
// RFC 7541 C.4.1 (Huffman literals, indexed into the table), C.4.2 and C.4.3.
const first = hex("828684418cf1e3c2e5f23a6ba0ab90f4ff");
const second = hex("828684be5886a8eb10649cbf");
const third = hex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf");

Deno.bench("hpack: decode a first request (Huffman literals)", { group: "decode" }, () => {
  const d = new HpackDecoder();
  d.decode(first, 0, first.length, []);
});

const warm = new HpackDecoder();
warm.decode(first, 0, first.length, []);
warm.decode(second, 0, second.length, []);
Deno.bench("hpack: decode a repeat request (indexed)", { group: "decode", baseline: true }, () => {
  // Indexed fields only: the table does not change.
  warm.decode(Uint8Array.of(0x82, 0x86, 0x84, 0xbe), 0, 4, []);
});

Deno.bench("hpack: decode C.4.1–C.4.3 on one table (3 requests)", { group: "decode" }, () => {
  const d = new HpackDecoder();
  d.decode(first, 0, first.length, []);
  d.decode(second, 0, second.length, []);
  d.decode(third, 0, third.length, []);
});

Deno.bench("validate: a request head with 8 fields", () => {
  validate([
    ":method",
    "GET",
    ":scheme",
    "https",
    ":path",
    "/index.html",
    ":authority",
    "www.example.com",
    "user-agent",
    "h2load nghttp2/1.52.0",
    "accept",
    "*/*",
    "accept-encoding",
    "gzip, deflate",
    "cookie",
    "a=1",
  ], true);
});

const w = new BlockWriter(1024);
Deno.bench("hpack: encode a response head (5 fields)", () => {
  w.len = 0;
  encodeStatus(w, 200);
  encodeField(w, "content-type", "text/plain");
  encodeField(w, "date", "Mon, 23 Nov 2026 22:53:12 GMT");
  encodeField(w, "content-length", "33");
  encodeField(w, "x-request-id", "7c1d0b1c-8f5e-4a7e-9a53-5f3f2f7d1a10");
});
