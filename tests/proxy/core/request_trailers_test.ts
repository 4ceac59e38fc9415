/**
 * HTTP/1.1 request trailers (a chunked request body with trailer fields) are
 * forwarded: in the last chunk to HTTP/1.1 upstreams, as a trailing HEADERS
 * frame to HTTP/2 (h2c) upstreams; framing, routing and auth fields dropped.
 */
import assert from "node:assert/strict";
import { forwardableTrailers } from "../../../src/proxy/core/trailers.ts";
import { Hdrs } from "../../../src/proxy/core/headers.ts";
import { cluster, rawExchange, simpleProxy } from "../_helpers.ts";

const REQUEST = "POST /t HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n" +
  "Connection: close\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc123\r\ncontent-length: 99\r\n" +
  "authorization: Bearer smuggled\r\nhost: evil.test\r\ngrpc-status: 0\r\n\r\n";

Deno.test("forwardableTrailers: unsafe and hop-by-hop fields dropped, the rest kept in order", () => {
  const t = new Hdrs([
    "x-checksum",
    "1",
    "transfer-encoding",
    "chunked",
    ":path",
    "/x",
    "cookie",
    "a=b",
    "grpc-status",
    "0",
    "x-checksum",
    "2",
  ]);
  assert.deepEqual(forwardableTrailers(t)?.kv, [
    "x-checksum",
    "1",
    "grpc-status",
    "0",
    "x-checksum",
    "2",
  ]);
  assert.equal(forwardableTrailers(new Hdrs(["host", "h", "te", "trailers"])), null);
  assert.equal(forwardableTrailers(null), null);
});

Deno.test("request trailers reach an HTTP/1.1 upstream in the last chunk", async () => {
  // A raw backend: records the request bytes up to the end of the chunked body.
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let seen = "";
  const serving = (async () => {
    for await (const c of ln) {
      const buf = new Uint8Array(65536);
      let text = "";
      for (;;) {
        const n = await c.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
        const body = text.indexOf("\r\n\r\n");
        if (body >= 0 && /\r\n0\r\n(?:[^\r\n]+\r\n)*\r\n$/.test(text.slice(body + 2))) break;
      }
      seen = text;
      await c.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"));
      c.close();
    }
  })();
  const { dp, port } = await simpleProxy([cluster("c", [ln.addr.port])]);
  try {
    const res = await rawExchange(port, REQUEST);
    assert.match(res, /^HTTP\/1\.1 200/);
    const tail = seen.slice(seen.indexOf("\r\n\r\n") + 4);
    assert.equal(tail, "5\r\nhello\r\n0\r\nx-checksum: abc123\r\ngrpc-status: 0\r\n\r\n");
  } finally {
    await dp.close();
    ln.close();
    await serving.catch(() => {});
  }
});

Deno.test("request trailers reach an h2c upstream as trailing HEADERS", async () => {
  const http2 = await import("node:http2");
  const srv = http2.createServer();
  let got: Record<string, unknown> | null = null;
  let body = "";
  srv.on("stream", (stream: import("node:http2").ServerHttp2Stream) => {
    stream.on("data", (d: Uint8Array) => (body += new TextDecoder().decode(d)));
    stream.on("trailers", (t: Record<string, unknown>) => (got = { ...t }));
    stream.on("end", () => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const up = (srv.address() as { port: number }).port;
  const { dp, port } = await simpleProxy([cluster("c", [up], { protocol: "H2C" })]);
  try {
    const res = await rawExchange(port, REQUEST);
    assert.match(res, /^HTTP\/1\.1 200/);
    assert.equal(body, "hello");
    assert.ok(got !== null, "trailers received");
    const t = got as Record<string, unknown>;
    assert.equal(t["x-checksum"], "abc123");
    assert.equal(t["grpc-status"], "0");
    for (const n of ["content-length", "authorization", "host"]) assert.equal(t[n], undefined, n);
  } finally {
    await dp.close();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
