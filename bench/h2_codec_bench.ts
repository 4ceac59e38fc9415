/**
 * HTTP/2 codec costs per request head: HPACK decoding of a typical browser /
 * h2load request (first on a connection: literals with Huffman; later:
 * indexed from the dynamic table), request validation, and response head
 * encoding — before (stateless literals without indexing, what the engine
 * sent until the indexing encoder) and after (`HpackEncoder` with the
 * per-connection dynamic table), in time and in bytes on the wire.
 * Run: deno bench bench/h2_codec_bench.ts
 */
import {
  BlockWriter,
  encodeField,
  encodeStatus,
  HpackDecoder,
  HpackEncoder,
} from "../src/proxy/h2/hpack.ts";
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

const warmDec = new HpackDecoder();
warmDec.decode(first, 0, first.length, []);
warmDec.decode(second, 0, second.length, []);
const repeat = Uint8Array.of(0x82, 0x86, 0x84, 0xbe);
Deno.bench("hpack: decode a repeat request (indexed)", { group: "decode", baseline: true }, () => {
  // Indexed fields only: the table does not change.
  warmDec.decode(repeat, 0, 4, []);
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

// A proxied response head: status + 7 fields, one of them (x-request-id)
// different on every response, content-length not indexed by policy.
const HEAD = [
  "content-type",
  "application/json; charset=utf-8",
  "date",
  "Mon, 23 Nov 2026 22:53:12 GMT",
  "content-length",
  "33",
  "cache-control",
  "no-store, max-age=0",
  "server",
  "backend-7/1.4",
  "vary",
  "accept-encoding",
  "x-request-id",
  "7c1d0b1c-8f5e-4a7e-9a53-5f3f2f7d1a10",
];
const IDS = Array.from(
  { length: 1024 },
  (_, i) => `7c1d0b1c-8f5e-4a7e-9a53-${String(i).padStart(12, "0")}`,
);
const DATES = Array.from(
  { length: 60 },
  (_, i) => `Mon, 23 Nov 2026 22:53:${String(i).padStart(2, "0")} GMT`,
);

const w = new BlockWriter(1024);
function literalHead(id: string, date: string): number {
  w.len = 0;
  encodeStatus(w, 200);
  for (let i = 0; i < HEAD.length; i += 2) {
    const n = HEAD[i];
    encodeField(w, n, n === "x-request-id" ? id : n === "date" ? date : HEAD[i + 1]);
  }
  return w.len;
}
function indexedHead(e: HpackEncoder, id: string, date: string): number {
  e.begin();
  e.status(200);
  for (let i = 0; i < HEAD.length; i += 2) {
    const n = HEAD[i];
    e.field(n, n === "x-request-id" ? id : n === "date" ? date : HEAD[i + 1]);
  }
  return e.w.len;
}

// Bytes per response head, printed once: first on a connection, then steady state.
{
  const e = new HpackEncoder();
  const lit = literalHead(IDS[0], DATES[0]);
  const first = indexedHead(e, IDS[0], DATES[0]);
  const next = indexedHead(e, IDS[1], DATES[0]);
  const newSecond = indexedHead(e, IDS[2], DATES[1]);
  console.log(
    `response head bytes: literal (before) ${lit}; indexed (after) first ${first}, ` +
      `repeat ${next}, repeat in a new second ${newSecond}`,
  );
}

let k = 0;
Deno.bench("encode response head: literals, no table (before)", {
  group: "encode",
  baseline: true,
}, () => {
  literalHead(IDS[k++ & 1023], DATES[0]);
});

const warm = new HpackEncoder();
Deno.bench(
  "encode response head: indexing encoder, warm table (after)",
  { group: "encode" },
  () => {
    indexedHead(warm, IDS[k++ & 1023], DATES[0]);
  },
);

const churn = new HpackEncoder();
Deno.bench("encode response head: indexing encoder, date changes every head", {
  group: "encode",
}, () => {
  k++;
  indexedHead(churn, IDS[k & 1023], DATES[k % 60]);
});

Deno.bench("encode response head: indexing encoder, first head on a new connection", {
  group: "encode",
}, () => {
  indexedHead(new HpackEncoder(), IDS[k++ & 1023], DATES[0]);
});
