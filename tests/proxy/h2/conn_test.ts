/**
 * The HTTP/2 server connection driven frame by frame over an in-memory
 * transport: settings, requests, flow control, trailers, validation and the
 * flood / reset defences.
 */
import assert from "node:assert/strict";
import { H2ServerConn, type H2Stream, type RequestHead } from "../../../src/proxy/h2/conn.ts";
import * as F from "../../../src/proxy/h2/frames.ts";
import { BlockWriter, encodeField, HpackDecoder } from "../../../src/proxy/h2/hpack.ts";
import type { Transport } from "../../../src/proxy/io/transport.ts";

interface Frame {
  type: number;
  flags: number;
  sid: number;
  payload: Uint8Array;
}

/** A client end: feeds bytes to the server connection and parses what it writes. */
class Peer implements Transport {
  private inq: Uint8Array[] = [];
  private wake: (() => void) | null = null;
  private eof = false;
  private out = new Uint8Array(0);
  frames: Frame[] = [];
  closed = false;
  private dec = new HpackDecoder();
  private frameWake: (() => void) | null = null;

  read(p: Uint8Array): Promise<number | null> {
    const take = (): number | null => {
      const c = this.inq.shift();
      if (!c) return null;
      const n = Math.min(c.length, p.length);
      p.set(c.subarray(0, n));
      if (n < c.length) this.inq.unshift(c.subarray(n));
      return n;
    };
    if (this.inq.length) return Promise.resolve(take());
    if (this.eof) return Promise.resolve(null);
    return new Promise((r) => (this.wake = () => r(this.inq.length ? take() : null)));
  }
  write(p: Uint8Array): Promise<number> {
    const b = new Uint8Array(this.out.length + p.length);
    b.set(this.out);
    b.set(p, this.out.length);
    this.out = b;
    while (this.out.length >= 9) {
      const len = this.out[0] << 16 | this.out[1] << 8 | this.out[2];
      if (this.out.length < 9 + len) break;
      this.frames.push({
        type: this.out[3],
        flags: this.out[4],
        sid: F.u31(this.out, 5),
        payload: this.out.slice(9, 9 + len),
      });
      this.out = this.out.slice(9 + len);
    }
    const w = this.frameWake;
    this.frameWake = null;
    if (w) w();
    return Promise.resolve(p.length);
  }
  closeWrite(): Promise<void> {
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
    this.end();
  }
  send(b: Uint8Array): void {
    this.inq.push(b);
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }
  end(): void {
    this.eof = true;
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }
  frame(type: number, flags: number, sid: number, payload: Uint8Array = new Uint8Array(0)): void {
    const b = new Uint8Array(9 + payload.length);
    F.frameHeader(b, 0, payload.length, type, flags, sid);
    b.set(payload, 9);
    this.send(b);
  }
  headers(sid: number, kv: string[], flags = F.FLAG_END_HEADERS | F.FLAG_END_STREAM): void {
    const w = new BlockWriter();
    for (let i = 0; i < kv.length; i += 2) encodeField(w, kv[i], kv[i + 1]);
    this.frame(F.HEADERS, flags, sid, w.buf.slice(0, w.len));
  }
  /** Waits until a frame matching `f` arrived (bounded). */
  async waitFor(f: (x: Frame) => boolean, what: string): Promise<Frame> {
    for (let i = 0; i < 200; i++) {
      const hit = this.frames.find(f);
      if (hit) return hit;
      await new Promise<void>((r) => {
        this.frameWake = r;
        setTimeout(r, 10);
      });
    }
    throw new Error(`no ${what}; got ${JSON.stringify(this.frames.map((x) => [x.type, x.sid]))}`);
  }
  fields(p: Uint8Array): string[] {
    const out: string[] = [];
    this.dec.decode(p, 0, p.length, out);
    return out;
  }
}

const GET = [":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "a.test"];
const OPTS = {
  maxConcurrentStreams: 4,
  maxHeaderListSize: 4096,
  maxHeaders: 20,
  idleTimeoutMs: 60_000,
};

function settingsPayload(settings: [number, number][]): Uint8Array {
  const sp = new Uint8Array(settings.length * 6);
  settings.forEach(([id, v], i) => {
    sp[i * 6 + 1] = id;
    F.put32(sp, i * 6 + 2, v);
  });
  return sp;
}

function start(
  onStream: (s: H2Stream, h: RequestHead) => void,
  settings: [number, number][] = [],
  opts: Partial<typeof OPTS & { settingsTimeoutMs: number }> = {},
): { peer: Peer; conn: H2ServerConn; closed: Promise<void> } {
  const peer = new Peer();
  let done!: () => void;
  const closed = new Promise<void>((r) => (done = r));
  const conn = new H2ServerConn(peer, { ...OPTS, ...opts }, onStream, done);
  const pre = new TextEncoder().encode(F.PREFACE);
  peer.frame(F.SETTINGS, 0, 0, settingsPayload(settings));
  conn.run(pre);
  return { peer, conn, closed };
}

async function finish(peer: Peer, closed: Promise<void>): Promise<void> {
  peer.end();
  await closed;
}

const goaway = (p: Peer) => p.waitFor((f) => f.type === F.GOAWAY, "GOAWAY");
const code = (f: Frame, at = 0) => F.u32(f.payload, at);

Deno.test("h2 conn: settings exchange, a GET answered with headers and data", async () => {
  const seen: RequestHead[] = [];
  const { peer, closed } = start((s, h) => {
    seen.push(h);
    s.respond(200, ["content-type", "text/plain"], false);
    s.writeEnd(new TextEncoder().encode("hello"));
  });
  await peer.waitFor((f) => f.type === F.SETTINGS && f.flags === F.FLAG_ACK, "SETTINGS ACK");
  const ours = peer.frames.find((f) => f.type === F.SETTINGS && f.flags === 0)!;
  assert.ok(ours.payload.length >= 6 * 4);
  peer.headers(1, [...GET, "cookie", "a=1", "cookie", "b=2", "x-y", "z"]);
  const data = await peer.waitFor((f) => f.type === F.DATA && f.sid === 1, "DATA");
  assert.equal(new TextDecoder().decode(data.payload), "hello");
  assert.equal(data.flags & F.FLAG_END_STREAM, F.FLAG_END_STREAM);
  const h = peer.frames.find((f) => f.type === F.HEADERS && f.sid === 1)!;
  assert.deepEqual(peer.fields(h.payload), [":status", "200", "content-type", "text/plain"]);
  assert.equal(seen[0].method, "GET");
  assert.equal(seen[0].authority, "a.test");
  assert.deepEqual(seen[0].headers, ["x-y", "z", "cookie", "a=1; b=2"]);
  // PING is echoed.
  peer.frame(F.PING, 0, 0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  const pong = await peer.waitFor((f) => f.type === F.PING, "PING ACK");
  assert.equal(pong.flags, F.FLAG_ACK);
  assert.deepEqual([...pong.payload], [1, 2, 3, 4, 5, 6, 7, 8]);
  await finish(peer, closed);
});

Deno.test("h2 conn: response data waits for the peer's flow-control window", async () => {
  let st!: H2Stream;
  let wrote: Promise<void> | undefined;
  const { peer, closed } = start((s) => {
    st = s;
    s.respond(200, [], false);
    wrote = s.writeEnd(new Uint8Array(25).fill(7));
  }, [[F.SETTINGS_INITIAL_WINDOW_SIZE, 10]]);
  peer.headers(1, GET);
  await peer.waitFor((f) => f.type === F.DATA, "first DATA");
  assert.ok(wrote, "the write waits for window");
  const sum = () =>
    peer.frames.filter((f) => f.type === F.DATA).reduce((a, f) => a + f.payload.length, 0);
  assert.equal(sum(), 10);
  const inc = new Uint8Array(4);
  F.put32(inc, 0, 100);
  peer.frame(F.WINDOW_UPDATE, 0, 1, inc);
  await wrote;
  const last = await peer.waitFor(
    (f) => f.type === F.DATA && (f.flags & F.FLAG_END_STREAM) !== 0,
    "END_STREAM",
  );
  assert.ok(last);
  assert.equal(sum(), 25);
  assert.ok(st.localClosed);
  await finish(peer, closed);
});

Deno.test("h2 conn: request body with trailers in, trailers out", async () => {
  const got: string[] = [];
  const { peer, closed } = start(async (s) => {
    for (;;) {
      const c = await s.body.read();
      if (c === null) break;
      got.push(new TextDecoder().decode(c));
    }
    s.respond(200, ["content-type", "application/grpc"], false);
    s.write(Uint8Array.of(0, 0, 0, 0, 0));
    s.end(["grpc-status", "0", "x-t", s.body.trailers()?.get("x-in") ?? ""]);
  });
  peer.headers(
    1,
    [":method", "POST", ":scheme", "http", ":path", "/p", ":authority", "a"],
    F.FLAG_END_HEADERS,
  );
  peer.frame(F.DATA, 0, 1, new TextEncoder().encode("ab"));
  peer.frame(F.DATA, F.FLAG_PADDED, 1, Uint8Array.of(3, 99, 100, 0, 0, 0)); // "cd" + 3 bytes padding
  peer.headers(1, ["x-in", "v1"]);
  const t = await peer.waitFor(
    (f) => f.type === F.HEADERS && (f.flags & F.FLAG_END_STREAM) !== 0,
    "trailers",
  );
  assert.deepEqual(peer.fields(peer.frames.find((f) => f.type === F.HEADERS)!.payload), [
    ":status",
    "200",
    "content-type",
    "application/grpc",
  ]);
  assert.deepEqual(peer.fields(t.payload), ["grpc-status", "0", "x-t", "v1"]);
  assert.equal(got.join(""), "abcd");
  await finish(peer, closed);
});

Deno.test("h2 conn: malformed requests are reset with PROTOCOL_ERROR", async () => {
  const cases: string[][] = [
    [":method", "GET", ":scheme", "http", ":path", "/", "X-Upper", "1"],
    [":method", "GET", ":scheme", "http", ":path", "/", "connection", "keep-alive"],
    [":method", "GET", ":scheme", "http", ":path", "/", "te", "gzip"],
    [":method", "GET", ":scheme", "http"],
    [":method", "GET", ":scheme", "http", ":path", "/", ":status", "200"],
    [":method", "GET", "x", "1", ":scheme", "http", ":path", "/"],
    [":method", "GET", ":scheme", "http", ":path", "/", "x", " padded"],
    [":method", "GET", ":scheme", "http", ":path", "/", ":protocol", "websocket"],
    [":method", "CONNECT", ":authority", "a", ":path", "/"],
  ];
  let handled = 0;
  const { peer, closed } = start(() => handled++);
  let sid = 1;
  for (const kv of cases) {
    peer.headers(sid, kv);
    const want = sid;
    const r = await peer.waitFor((f) => f.type === F.RST_STREAM && f.sid === want, `RST ${sid}`);
    assert.equal(code(r), F.PROTOCOL_ERROR, JSON.stringify(kv));
    sid += 2;
  }
  assert.equal(handled, 0);
  // A body longer than its content-length.
  const { peer: p2, closed: c2 } = start(() => {});
  p2.headers(1, [...GET.slice(0, 6), "content-length", "1"], F.FLAG_END_HEADERS);
  p2.frame(F.DATA, F.FLAG_END_STREAM, 1, Uint8Array.of(1, 2));
  const r = await p2.waitFor((f) => f.type === F.RST_STREAM, "RST");
  assert.equal(code(r), F.PROTOCOL_ERROR);
  await finish(peer, closed);
  await finish(p2, c2);
});

Deno.test("h2 conn: too many fields get a 431 to answer; too many streams are refused", async () => {
  const refused: (RequestHead["refuse"])[] = [];
  const { peer, closed } = start((s, h) => {
    refused.push(h.refuse);
    if (!h.refuse) return; // keep the others open
    s.respond(h.refuse.status, [], true);
  });
  const many: string[] = [...GET];
  for (let i = 0; i < 30; i++) many.push(`x-${i}`, "v");
  peer.headers(1, many);
  const h = await peer.waitFor((f) => f.type === F.HEADERS && f.sid === 1, "431");
  assert.deepEqual(peer.fields(h.payload).slice(0, 2), [":status", "431"]);
  assert.equal(refused[0]!.status, 431);
  for (let sid = 3; sid <= 11; sid += 2) peer.headers(sid, GET);
  const r = await peer.waitFor((f) => f.type === F.RST_STREAM && f.sid === 11, "REFUSED");
  assert.equal(code(r), F.REFUSED_STREAM);
  await finish(peer, closed);
});

Deno.test("h2 conn: CONTINUATION flood ends the connection (ENHANCE_YOUR_CALM)", async () => {
  const { peer, closed } = start(() => {});
  peer.headers(1, GET, 0);
  const junk = new Uint8Array(16384).fill(0x40);
  for (let i = 0; i < 4; i++) peer.frame(F.CONTINUATION, 0, 1, junk);
  const g = await goaway(peer);
  assert.equal(code(g, 4), F.ENHANCE_YOUR_CALM);
  await closed;
  assert.ok(peer.closed);
});

Deno.test("h2 conn: rapid reset ends the connection; the handler sees the resets", async () => {
  let aborted = 0;
  const { peer, closed } = start((s) => {
    s.onAbort = () => aborted++;
  });
  const rst = new Uint8Array(4);
  F.put32(rst, 0, F.CANCEL);
  for (let sid = 1; sid < 2 * 1200; sid += 2) {
    peer.headers(sid, GET);
    peer.frame(F.RST_STREAM, 0, sid, rst);
  }
  const g = await goaway(peer);
  assert.equal(code(g, 4), F.ENHANCE_YOUR_CALM);
  await closed;
  assert.ok(aborted > 900);
});

Deno.test("h2 conn: protocol violations are connection errors", async () => {
  const bad: [string, (p: Peer) => void, number][] = [
    ["DATA on stream 0", (p) => p.frame(F.DATA, 0, 0, Uint8Array.of(1)), F.PROTOCOL_ERROR],
    ["even stream", (p) => p.headers(2, GET), F.PROTOCOL_ERROR],
    ["PUSH_PROMISE", (p) => p.frame(F.PUSH_PROMISE, 4, 1, new Uint8Array(4)), F.PROTOCOL_ERROR],
    ["bad PING", (p) => p.frame(F.PING, 0, 0, Uint8Array.of(1)), F.FRAME_SIZE_ERROR],
    [
      "zero window increment",
      (p) => p.frame(F.WINDOW_UPDATE, 0, 0, new Uint8Array(4)),
      F.PROTOCOL_ERROR,
    ],
    [
      "bad HPACK",
      (p) => p.frame(F.HEADERS, F.FLAG_END_HEADERS, 1, Uint8Array.of(0x80)),
      F.COMPRESSION_ERROR,
    ],
    ["interrupted block", (p) => {
      p.headers(1, GET, 0);
      p.frame(F.PING, 0, 0, new Uint8Array(8));
    }, F.PROTOCOL_ERROR],
    ["oversized frame", (p) => p.frame(F.DATA, 0, 1, new Uint8Array(20000)), F.FRAME_SIZE_ERROR],
  ];
  for (const [what, act, want] of bad) {
    const { peer, closed } = start(() => {});
    act(peer);
    const g = await goaway(peer);
    assert.equal(code(g, 4), want, what);
    await closed;
  }
});

Deno.test("h2 conn: graceful shutdown lets open streams finish", async () => {
  let st!: H2Stream;
  const { peer, conn, closed } = start((s) => (st = s));
  peer.headers(1, GET);
  await new Promise((r) => setTimeout(r, 20));
  conn.shutdown();
  const g = await goaway(peer);
  assert.equal(code(g, 0), 1); // last stream id
  assert.equal(peer.closed, false);
  st.respond(204, [], true);
  await closed;
  assert.ok(peer.frames.some((f) => f.type === F.HEADERS && f.sid === 1));
});

Deno.test("h2 conn: a handler that throws costs its stream, not the connection", async () => {
  const { peer, closed } = start((s, h) => {
    if (h.path === "/boom") throw new Error("handler bug");
    s.respond(204, [], true);
  });
  peer.headers(1, [...GET.slice(0, 4), ":path", "/boom", ":authority", "a"]);
  const r = await peer.waitFor((f) => f.type === F.RST_STREAM && f.sid === 1, "RST");
  assert.equal(code(r), F.INTERNAL_ERROR);
  peer.headers(3, GET);
  const h = await peer.waitFor((f) => f.type === F.HEADERS && f.sid === 3, "HEADERS on 3");
  assert.deepEqual(peer.fields(h.payload), [":status", "204"]);
  assert.equal(peer.frames.some((f) => f.type === F.GOAWAY), false);
  await finish(peer, closed);
});

Deno.test("h2 conn: random frames end in a protocol error at worst, never an internal one", async () => {
  let x = 0x2545f491;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  let goaways = 0;
  for (let conn = 0; conn < 150; conn++) {
    const { peer, closed } = start((s) => s.respond(200, [], true));
    for (let i = 0; i < 12; i++) {
      const payload = new Uint8Array(rnd(40));
      for (let j = 0; j < payload.length; j++) payload[j] = rnd(256);
      if (rnd(3) === 0) peer.headers(1 + 2 * rnd(4), GET, rnd(2) ? F.FLAG_END_HEADERS : 0x5);
      else peer.frame(rnd(11), rnd(256), rnd(6), payload);
    }
    await new Promise((r) => setTimeout(r, 1));
    const g = peer.frames.find((f) => f.type === F.GOAWAY);
    if (g) goaways++;
    if (g) {
      assert.notEqual(
        code(g, 4),
        F.INTERNAL_ERROR,
        `conn ${conn}: ${new TextDecoder().decode(g.payload.subarray(8))}`,
      );
    }
    await finish(peer, closed);
  }
  assert.ok(goaways > 20, `only ${goaways} connections saw an error`);
});

Deno.test("h2 conn: repeated response fields are indexed; peer table size 0, then 4096", async () => {
  const head = [
    "content-type",
    "application/json",
    "server",
    "novaedge",
    "x-backend",
    "pool-a:8080",
    "cache-control",
    "no-store",
  ];
  const { peer, closed } = start((s) => s.respond(200, head, true));
  const ask = async (sid: number): Promise<Uint8Array> => {
    peer.headers(sid, GET);
    const h = await peer.waitFor((f) => f.type === F.HEADERS && f.sid === sid, `HEADERS ${sid}`);
    // Every block is decoded in order by the peer's own decoder (table in sync).
    assert.deepEqual(peer.fields(h.payload), [":status", "200", ...head]);
    return h.payload;
  };
  const first = await ask(1);
  const second = await ask(3);
  assert.ok(second.length < first.length, `${second.length} < ${first.length}`);
  assert.equal(second.length, 5, ":status 200 + four one-byte indexes");
  // The peer allows no table: the next block opens with a size update to 0.
  peer.frame(F.SETTINGS, 0, 0, settingsPayload([[F.SETTINGS_HEADER_TABLE_SIZE, 0]]));
  const zero = await ask(5);
  assert.equal(zero[0], 0x20);
  const zero2 = await ask(7);
  assert.equal(zero2.length, zero.length - 1, "without a table nothing gets shorter");
  assert.ok(zero2.length > first.length / 2);
  // Then a table again: update to 4096 (3f e1 1f), and indexing resumes.
  peer.frame(F.SETTINGS, 0, 0, settingsPayload([[F.SETTINGS_HEADER_TABLE_SIZE, 4096]]));
  const big = await ask(9);
  assert.deepEqual([...big.subarray(0, 3)], [0x3f, 0xe1, 0x1f]);
  assert.equal((await ask(11)).length, 5);
  await finish(peer, closed);
});

Deno.test("h2 conn: SETTINGS never acknowledged → GOAWAY SETTINGS_TIMEOUT; acknowledged → kept", async () => {
  const { peer, closed } = start(() => {}, [], { settingsTimeoutMs: 200 });
  const g = await goaway(peer);
  assert.equal(code(g, 4), F.SETTINGS_TIMEOUT);
  await closed;
  assert.ok(peer.closed);

  const ok = start((s) => s.respond(204, [], true), [], { settingsTimeoutMs: 200 });
  ok.peer.frame(F.SETTINGS, F.FLAG_ACK, 0);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(ok.peer.frames.some((f) => f.type === F.GOAWAY), false);
  ok.peer.headers(1, GET);
  const h = await ok.peer.waitFor((f) => f.type === F.HEADERS && f.sid === 1, "HEADERS");
  assert.deepEqual(ok.peer.fields(h.payload), [":status", "204"]);
  await finish(ok.peer, ok.closed);
});
