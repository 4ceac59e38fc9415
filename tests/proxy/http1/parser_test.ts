import assert from "node:assert/strict";
import { HttpError, parseRequestHead, parseResponseHead } from "../../../src/proxy/http1/parser.ts";
import {
  ChunkedBody,
  encodeChunk,
  encodeLastChunk,
  FixedBody,
} from "../../../src/proxy/http1/body.ts";
import { BufReader } from "../../../src/proxy/io/reader.ts";
import type { Transport } from "../../../src/proxy/io/transport.ts";

const enc = new TextEncoder();
const head = (s: string) => enc.encode(s);

function refused(s: string, status: number): void {
  assert.throws(() => parseRequestHead(head(s), 100), (e: unknown) => {
    assert.ok(e instanceof HttpError, `HttpError for ${JSON.stringify(s)}`);
    assert.equal(e.status, status, JSON.stringify(s));
    return true;
  });
}

Deno.test("parseRequestHead: a valid request", () => {
  const h = parseRequestHead(
    head(
      "POST /a?b=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nX-Multi: 1\r\nx-multi: 2\r\nConnection: keep-alive, Upgrade\r\nUpgrade: WebSocket\r\n\r\n",
    ),
    100,
  );
  assert.equal(h.method, "POST");
  assert.equal(h.target, "/a?b=1");
  assert.equal(h.version, 11);
  assert.equal(h.host, "example.com");
  assert.equal(h.contentLength, 5);
  assert.equal(h.chunked, false);
  assert.equal(h.keepAlive, true);
  assert.equal(h.upgrade, "websocket");
  assert.equal(h.headers.get("x-multi"), "1, 2");
});

Deno.test("parseRequestHead: keep-alive rules for HTTP/1.0 and 1.1", () => {
  assert.equal(parseRequestHead(head("GET / HTTP/1.0\r\n\r\n"), 100).keepAlive, false);
  assert.equal(
    parseRequestHead(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 100).keepAlive,
    true,
  );
  assert.equal(
    parseRequestHead(head("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 100).keepAlive,
    false,
  );
  assert.equal(
    parseRequestHead(head("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n"), 100)
      .expectContinue,
    true,
  );
});

Deno.test("parseRequestHead: refusals", () => {
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  );
  refused(
    "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
    400,
  );
  refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1e3\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501);
  refused("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501);
  refused("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
  refused("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  refused("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  refused("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
  refused("GET / HTTX/1.1\r\nHost: a\r\n\r\n", 400);
  let many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (let i = 0; i < 5; i++) many += `X-${i}: v\r\n`;
  assert.throws(
    () => parseRequestHead(head(many + "\r\n"), 3),
    (e: unknown) => e instanceof HttpError && e.status === 431,
  );
});

Deno.test("parseResponseHead: status, framing, malformed heads are 502", () => {
  const r = parseResponseHead(head("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n"), 100);
  assert.equal(r.status, 404);
  assert.equal(r.contentLength, 3);
  assert.equal(r.keepAlive, true);
  assert.equal(
    parseResponseHead(head("HTTP/1.1 200\r\nTransfer-Encoding: chunked\r\n\r\n"), 100).chunked,
    true,
  );
  assert.equal(parseResponseHead(head("HTTP/1.0 200 OK\r\n\r\n"), 100).keepAlive, false);
  for (
    const bad of [
      "HTTP/1.1 2x0 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      "FTP 200\r\n\r\n",
    ]
  ) {
    assert.throws(
      () => parseResponseHead(head(bad), 100),
      (e: unknown) => e instanceof HttpError && e.status === 502,
    );
  }
});

/** A Transport that yields the given pieces one read at a time. */
function pieces(parts: string[]): Transport {
  const q = parts.map((p) => enc.encode(p));
  return {
    read(p: Uint8Array) {
      const next = q.shift();
      if (!next) return Promise.resolve(null);
      p.set(next);
      return Promise.resolve(next.length);
    },
    write: (p: Uint8Array) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
}

async function readAll(b: { read(): Promise<Uint8Array | null> }): Promise<string> {
  let s = "";
  for (;;) {
    const c = await b.read();
    if (c === null) return s;
    s += new TextDecoder().decode(c);
  }
}

Deno.test("ChunkedBody: decodes across reads, with extensions and trailers", async () => {
  const r = new BufReader(
    pieces(["5;ext=1\r\nhel", "lo\r\n6\r\n wor", "ld\r\n0\r\nX-T: 1\r\n\r\nNEXT"]),
  );
  const b = new ChunkedBody(r, () => {});
  assert.equal(await readAll(b), "hello world");
  assert.equal(b.finished, true);
  assert.equal(b.trailers()?.get("x-t"), "1");
  assert.equal(new TextDecoder().decode(r.takeAll()), "NEXT", "bytes after the body stay buffered");
});

Deno.test("ChunkedBody: malformed framing is a 400", async () => {
  for (
    const bad of [["zz\r\nhello\r\n0\r\n\r\n"], ["5\r\nhelloXX0\r\n\r\n"], ["5\r\nhel"], [
      "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n",
    ]]
  ) {
    const b = new ChunkedBody(new BufReader(pieces(bad)), () => {});
    await assert.rejects(
      readAll(b),
      (e: unknown) => e instanceof HttpError && e.status === 400,
      bad.join(""),
    );
  }
});

Deno.test("FixedBody: exact length, early EOF is an error", async () => {
  const r = new BufReader(pieces(["abc", "defXYZ"]));
  assert.equal(await readAll(new FixedBody(r, 6, () => {})), "abcdef");
  assert.equal(new TextDecoder().decode(r.takeAll()), "XYZ");
  await assert.rejects(readAll(new FixedBody(new BufReader(pieces(["ab"])), 5, () => {})));
});

Deno.test("chunk encoder round-trips through the decoder", async () => {
  const data = enc.encode("x".repeat(70_000));
  const framed = new Uint8Array([
    ...encodeChunk(data),
    ...encodeChunk(enc.encode("!")),
    ...encodeLastChunk(null),
  ]);
  const t: Transport = {
    read: (() => {
      let sent = false;
      return (p: Uint8Array) => {
        if (sent) return Promise.resolve(null);
        sent = true;
        p.set(framed.subarray(0, Math.min(p.length, framed.length)));
        return Promise.resolve(Math.min(p.length, framed.length));
      };
    })(),
    write: (p: Uint8Array) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close() {},
  };
  const r = new BufReader(t, 200_000);
  const out = await readAll(new ChunkedBody(r, () => {}));
  assert.equal(out.length, 70_001);
});

Deno.test("parseRequestHead: common names in any case fold to lowercase; others still checked", () => {
  const h = parseRequestHead(
    head(
      "DELETE /x HTTP/1.1\r\nHOST: a\r\nContent-TYPE:\ttext/plain \r\nx-Forwarded-For:  1.2.3.4\r\n" +
        "X-Custom-Thing: v\r\nContent-Typo: w\r\n\r\n",
    ),
    100,
  );
  assert.equal(h.method, "DELETE");
  assert.deepEqual(h.headers.kv, [
    "host",
    "a",
    "content-type",
    "text/plain",
    "x-forwarded-for",
    "1.2.3.4",
    "x-custom-thing",
    "v",
    "content-typo",
    "w",
  ]);
  // A name with a known one's length but a non-token character is still refused.
  refused("GET / HTTP/1.1\r\nHost: a\r\nHos@: x\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\nHost : x\r\n\r\n", 400);
  refused("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", 400);
  refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
  refused("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
  assert.equal(parseRequestHead(head("PURGE / HTTP/1.0\r\n\r\n"), 100).method, "PURGE");
});

Deno.test("parseResponseHead: obs-text bytes in values decode one character per byte", () => {
  const bytes = new Uint8Array([
    ...head("HTTP/1.1 200 OK\r\nx-latin: caf"),
    0xe9,
    0xff,
    ...head("\r\ncontent-length: 0\r\n\r\n"),
  ]);
  const r = parseResponseHead(bytes, 100);
  assert.equal(r.headers.get("x-latin"), "caf\u00e9\u00ff");
  assert.equal(r.contentLength, 0);
});
