/** ClientHello parsing: SNI from real hellos, split records and segments, malformed input. */
import assert from "node:assert/strict";
import { parseClientHello } from "../../../src/proxy/l4/client_hello.ts";
import { captureClientHello } from "./_l4.ts";

Deno.test("ClientHello: the server name of a real node:tls hello, lower-cased", async () => {
  const hello = await captureClientHello("Db.Example.TEST");
  assert.deepEqual(parseClientHello(hello), { state: "ok", sni: "db.example.test" });
});

Deno.test("ClientHello: every strict prefix asks for more bytes", async () => {
  const hello = await captureClientHello("a.example.test");
  for (let n = 0; n < hello.length; n += 7) {
    assert.equal(parseClientHello(hello.subarray(0, n)).state, "more", `prefix ${n}`);
  }
});

Deno.test("ClientHello: a hello split over several TLS records is reassembled", async () => {
  const hello = await captureClientHello("split.example.test");
  const body = hello.subarray(5, 5 + ((hello[3] << 8) | hello[4]));
  // Re-frame the handshake message into records of at most 50 bytes.
  const parts: number[] = [];
  for (let o = 0; o < body.length; o += 50) {
    const chunk = body.subarray(o, Math.min(body.length, o + 50));
    parts.push(0x16, 0x03, 0x01, chunk.length >> 8, chunk.length & 0xff, ...chunk);
  }
  const framed = new Uint8Array(parts);
  assert.deepEqual(parseClientHello(framed), { state: "ok", sni: "split.example.test" });
  assert.equal(parseClientHello(framed.subarray(0, framed.length - 1)).state, "more");
});

Deno.test("ClientHello: not TLS, or not a ClientHello, is refused with a reason", () => {
  const http = new TextEncoder().encode("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  const r = parseClientHello(http);
  assert.equal(r.state, "bad");
  assert.match(r.state === "bad" ? r.reason : "", /not a TLS handshake/);
  // A handshake record carrying a ServerHello (type 2).
  const sh = new Uint8Array([0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00]);
  const r2 = parseClientHello(sh);
  assert.equal(r2.state, "bad");
});

Deno.test("ClientHello: no server_name extension → empty name", async () => {
  // node:tls sends no SNI when connecting to an IP address without a servername.
  const hello = await captureClientHello("");
  assert.deepEqual(parseClientHello(hello), { state: "ok", sni: "" });
});
