import assert from "node:assert/strict";
import {
  HttpError,
  parseResponseHead,
  RawResponseHead,
  scanResponseHead,
} from "../../../src/proxy/http1/parser.ts";
import { stripHopByHop } from "../../../src/proxy/core/headers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const head = (s: string) => enc.encode(s);

/** What the strict parser makes of a head: headers minus hop-by-hop and framing, or its refusal. */
function strict(
  s: string,
  maxHeaders = 100,
): { kv: string[]; status: number; cl: number; keepAlive: boolean } | null {
  try {
    const r = parseResponseHead(head(s), maxHeaders);
    stripHopByHop(r.headers);
    const kv = r.headers.kv.slice();
    for (let i = kv.length - 2; i >= 0; i -= 2) if (kv[i] === "content-length") kv.splice(i, 2);
    return { kv, status: r.status, cl: r.contentLength, keepAlive: r.keepAlive };
  } catch (e) {
    assert.ok(e instanceof HttpError);
    return null;
  }
}

Deno.test("scanResponseHead: the common head passes raw, framing and hop-by-hop lines dropped", () => {
  const s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\n" +
    "Keep-Alive: timeout=5\r\nvary: Accept-Encoding\r\ncontent-length: 33\r\n" +
    "date: Tue, 24 Nov 2026 00:00:00 GMT\r\n\r\n";
  const r = scanResponseHead(head(s), 100);
  assert.ok(r instanceof RawResponseHead);
  assert.equal(r.status, 200);
  assert.equal(r.contentLength, 33);
  assert.equal(r.keepAlive, true);
  assert.equal(
    dec.decode(r.lines),
    "Content-Type: text/plain\r\nvary: Accept-Encoding\r\ndate: Tue, 24 Nov 2026 00:00:00 GMT\r\n",
  );
  // Parsed on demand, the same list the strict parser gives (names lowercased).
  assert.deepEqual(r.headers.kv, strict(s)!.kv);
});

Deno.test("scanResponseHead: Connection: close ends keep-alive; first and last lines dropped", () => {
  const r = scanResponseHead(
    head(
      "HTTP/1.1 503 Service Unavailable\r\nconnection: Close\r\nx-a: 1\r\nContent-Length: 0\r\n\r\n",
    ),
    100,
  );
  assert.ok(r);
  assert.equal(r.keepAlive, false);
  assert.equal(r.status, 503);
  assert.equal(dec.decode(r.lines), "x-a: 1\r\n");
  const only = scanResponseHead(head("HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"), 100);
  assert.ok(only);
  assert.equal(only.lines.length, 0);
  assert.equal(only.headers.size, 0);
});

Deno.test("scanResponseHead: anything unusual goes to the strict parser (null)", () => {
  for (
    const s of [
      "HTTP/1.1 100 Continue\r\n\r\n",
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
      "HTTP/1.1 200 OK\r\nx: 1\r\n\r\n", // no Content-Length: read until close
      "HTTP/1.1 200 OK\r\nConnection: close, x-secret\r\nx-secret: 1\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTrailer: x\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nProxy-Connection: keep-alive\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
      "HTTP/1.1 200 OK\r\nx: a\r\n b\r\nContent-Length: 1\r\n\r\n", // obs-fold
      "HTTP/1.1 200 OK\r\nx : a\r\nContent-Length: 1\r\n\r\n", // space before colon
      "HTTP/1.1 200 OK\r\nx: a\rb\r\nContent-Length: 1\r\n\r\n", // bare CR
      "HTTP/1.1 200 OK\r\nx: a\nb\r\nContent-Length: 1\r\n\r\n", // bare LF
      "HTTP/1.1 200 OK\r\nx: caf\u00e9\r\nContent-Length: 1\r\n\r\n", // obs-text
      "HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200OK\r\nContent-Length: 1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nnocolon\r\nContent-Length: 1\r\n\r\n",
    ]
  ) {
    const b = s.includes("\u00e9") ? Uint8Array.from([...s].map((c) => c.charCodeAt(0))) : head(s);
    assert.equal(scanResponseHead(b, 100), null, JSON.stringify(s));
  }
});

Deno.test("scanResponseHead: never accepts what the strict parser refuses, and agrees when it accepts", () => {
  // Generated heads: every combination of a few lines, some malformed.
  const lines = [
    "Content-Length: 5\r\n",
    "content-length: 7\r\n",
    "Connection: close\r\n",
    "connection: keep-alive\r\n",
    "Keep-Alive: timeout=5\r\n",
    "Transfer-Encoding: chunked\r\n",
    "X-Ok: fine value\r\n",
    "X-Tab:\tv\t\r\n",
    "Bad Name: v\r\n",
    "x-ctl: a\u0001b\r\n",
    ": empty\r\n",
    "Set-Cookie: a=b\r\n",
  ];
  let accepted = 0;
  for (let mask = 0; mask < 1 << lines.length; mask++) {
    if (mask.toString(2).replace(/0/g, "").length > 4) continue;
    let s = "HTTP/1.1 200 OK\r\n";
    for (let i = 0; i < lines.length; i++) if (mask & (1 << i)) s += lines[i];
    s += "\r\n";
    const fast = scanResponseHead(head(s), 3);
    if (fast === null) continue;
    accepted++;
    const slow = strict(s, 3);
    assert.ok(slow !== null, `scan accepted what the strict parser refuses: ${s}`);
    assert.equal(fast.status, slow.status);
    assert.equal(fast.contentLength, slow.cl, s);
    assert.equal(fast.keepAlive, slow.keepAlive, s);
    assert.deepEqual(fast.headers.kv, slow.kv, s);
  }
  assert.ok(accepted > 20, `only ${accepted} heads took the fast path`);
});
