/**
 * Our HTTP/2 client against our HTTP/2 server over loopback: bodies and
 * trailers both ways, flow control on large bodies, the peer's stream limit,
 * cancellation and GOAWAY.
 */
import assert from "node:assert/strict";
import { H2ClientConn } from "../../../src/proxy/h2/client.ts";
import { H2ServerConn, type H2Stream, type RequestHead } from "../../../src/proxy/h2/conn.ts";
import * as F from "../../../src/proxy/h2/frames.ts";

interface Pair {
  client: H2ClientConn;
  server: Promise<H2ServerConn>;
  close(): Promise<void>;
}

async function pair(
  onStream: (s: H2Stream, h: RequestHead) => void,
  maxStreams = 100,
): Promise<Pair> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let serverClosed!: () => void;
  const sc = new Promise<void>((r) => (serverClosed = r));
  const server = l.accept().then((c) => {
    const s = new H2ServerConn(
      c,
      {
        maxConcurrentStreams: maxStreams,
        maxHeaderListSize: 16384,
        maxHeaders: 100,
        idleTimeoutMs: 60_000,
      },
      onStream,
      serverClosed,
    );
    s.run(null);
    return s;
  });
  const c = await Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port });
  let clientClosed!: () => void;
  const cc = new Promise<void>((r) => (clientClosed = r));
  const client = new H2ClientConn(c, 60_000, clientClosed);
  client.start();
  return {
    client,
    server,
    close: async () => {
      client.destroy("test over");
      await cc;
      await sc;
      l.close();
    },
  };
}

const REQ = (path: string, method = "GET") => [
  ":method",
  method,
  ":scheme",
  "http",
  ":authority",
  "x.test",
  ":path",
  path,
];

async function readAll(s: H2Stream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const c = await s.body.read();
    if (c === null) break;
    parts.push(c);
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("h2 client: 1 MiB each way with trailers, past the default windows", async () => {
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = i * 7;
  const p = await pair(async (s, h) => {
    assert.equal(h.method, "POST");
    const got = await readAll(s);
    s.respond(200, ["x-len", String(got.length)], false);
    // Echo back in 64 KiB pieces, waiting whenever asked.
    for (let o = 0; o < got.length; o += 65536) {
      const w = s.write(got.subarray(o, o + 65536));
      if (w) await w;
    }
    const w = s.end(["x-trailer", s.body.trailers()?.get("x-in") ?? "none"]);
    if (w) await w;
  });
  const st = p.client.open([...REQ("/up", "POST"), "content-length", String(big.length)], false);
  for (let o = 0; o < big.length; o += 50_000) {
    const w = st.write(big.subarray(o, o + 50_000));
    if (w) await w;
  }
  const w = st.end(["x-in", "t1"]);
  if (w) await w;
  const head = await st.head;
  assert.equal(head.status, 200);
  assert.deepEqual(head.headers, ["x-len", String(big.length)]);
  const back = await readAll(st);
  assert.equal(back.length, big.length);
  assert.ok(back.every((v, i) => v === big[i]));
  assert.deepEqual(st.body.trailers()?.kv, ["x-trailer", "t1"]);
  await p.close();
});

Deno.test("h2 client: the server's stream limit makes requests wait for a slot", async () => {
  const open: H2Stream[] = [];
  const p = await pair((s) => open.push(s), 2);
  // Let the server's SETTINGS arrive.
  const first = p.client.open(REQ("/0"), true);
  open.length === 0 && await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.client.full, false);
  const second = p.client.open(REQ("/1"), true);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.client.full, true);
  let waited = false;
  const slot = p.client.slot().then(() => (waited = true));
  assert.equal(waited, false);
  open[0].respond(204, [], true);
  await slot;
  assert.equal((await first.head).status, 204);
  assert.equal(p.client.full, false);
  open[1].respond(200, [], true);
  assert.equal((await second.head).status, 200);
  await p.close();
});

Deno.test("h2 client: a reset reaches the server; a server reset fails the head", async () => {
  let aborted = "";
  let gotOne!: () => void;
  const got = new Promise<void>((r) => (gotOne = r));
  const p = await pair((s, h) => {
    if (h.path === "/hang") {
      s.onAbort = (why) => (aborted = why);
      gotOne();
    } else s.reset(F.REFUSED_STREAM, "no");
  });
  const st = p.client.open(REQ("/hang"), true);
  await got;
  st.reset(F.CANCEL, "client gave up");
  for (let i = 0; i < 100 && aborted === ""; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(aborted, "client reset the stream");
  await assert.rejects(st.head);
  const r = p.client.open(REQ("/refuse"), true);
  await assert.rejects(r.head, /upstream reset the stream \(code 7\)/);
  assert.equal(r.refused, true);
  await p.close();
});

Deno.test("h2 client: GOAWAY lets open streams finish and stops new ones", async () => {
  const open: H2Stream[] = [];
  const p = await pair((s) => open.push(s));
  const a = p.client.open(REQ("/a"), true);
  for (let i = 0; i < 100 && open.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  (await p.server).shutdown();
  for (let i = 0; i < 100 && p.client.usable; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(p.client.usable, false);
  open[0].respond(200, ["content-type", "text/plain"], false);
  open[0].writeEnd(new TextEncoder().encode("bye"));
  assert.equal((await a.head).status, 200);
  assert.equal(new TextDecoder().decode(await readAll(a)), "bye");
  await p.close();
});

Deno.test("h2 client: a complete response followed by RST_STREAM(NO_ERROR) stays readable", async () => {
  const p = await pair((s) => {
    // Answer at once, before the request body ends: the server then resets with NO_ERROR.
    s.respond(200, [], false);
    s.writeEnd(new TextEncoder().encode("early answer"));
  });
  const st = p.client.open(REQ("/early", "POST"), false);
  const w = st.write(new Uint8Array(10));
  if (w) await w;
  const head = await st.head;
  assert.equal(head.status, 200);
  for (let i = 0; i < 100 && !st.aborted; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(st.aborted, true, "the server's RST_STREAM(NO_ERROR) arrived");
  assert.equal(new TextDecoder().decode(await readAll(st)), "early answer");
  await p.close();
});
