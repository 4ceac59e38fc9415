import assert from "node:assert/strict";
import {
  connectionTokens,
  HOP_BY_HOP,
  stripHopByHop,
  teHasTrailers,
} from "../../../src/proxy/filters/mod.ts";

Deno.test("HOP_BY_HOP: the RFC 9110 set plus proxy-connection", () => {
  assert.deepEqual([...HOP_BY_HOP].sort(), [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
  ]);
});

Deno.test("stripHopByHop: removes fixed hop-by-hop headers and those named in Connection", () => {
  const h = new Headers({
    connection: "keep-alive, X-Custom-Hop, Upgrade",
    "keep-alive": "timeout=5",
    "proxy-connection": "keep-alive",
    "transfer-encoding": "chunked",
    te: "trailers, deflate;q=0.5",
    trailer: "x-checksum",
    upgrade: "websocket",
    "proxy-authorization": "Basic Zm9v",
    "proxy-authenticate": "Basic",
    "x-custom-hop": "1",
    "x-end-to-end": "kept",
    host: "a.com",
    "content-length": "10",
  });
  const r = stripHopByHop(h);
  assert.deepEqual(r, { teTrailers: true, upgrade: "websocket" });
  assert.deepEqual([...h.keys()].sort(), ["content-length", "host", "x-end-to-end"]);
});

Deno.test("stripHopByHop: Connection cannot remove Host or Content-Length", () => {
  const h = new Headers({
    connection: "host, content-length, x-a",
    host: "a",
    "content-length": "1",
    "x-a": "1",
  });
  stripHopByHop(h);
  assert.equal(h.get("host"), "a");
  assert.equal(h.get("content-length"), "1");
  assert.equal(h.get("x-a"), null);
});

Deno.test("stripHopByHop: nothing to strip", () => {
  const h = new Headers({ accept: "*/*" });
  assert.deepEqual(stripHopByHop(h), { teTrailers: false, upgrade: null });
  assert.equal(h.get("accept"), "*/*");
});

Deno.test("connectionTokens / teHasTrailers: parsing", () => {
  assert.deepEqual(connectionTokens(" Close ,x-A,, x-a "), ["close", "x-a"]);
  assert.deepEqual(connectionTokens(null), []);
  assert.equal(teHasTrailers("trailers"), true);
  assert.equal(teHasTrailers("gzip, Trailers"), true);
  assert.equal(teHasTrailers("gzip;q=1, trailers;q=0.5"), true);
  assert.equal(teHasTrailers("gzip, x-trailers"), false);
  assert.equal(teHasTrailers(null), false);
});
