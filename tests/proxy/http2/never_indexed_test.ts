/**
 * RFC 7541 §6.2.3 through the proxy: a field a peer sends as "literal never
 * indexed" is forwarded as never indexed — client request → HTTP/2 upstream,
 * upstream response → client, trailers both ways — and only for that message.
 * Real peers on both sides: node:http2 client → our proxy (h2c prior
 * knowledge) → node:http2 h2c backend; node:http2 reports received
 * never-indexed fields under `http2.sensitiveHeaders`.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { cluster, simpleProxy } from "../_helpers.ts";

const SENSITIVE = http2.sensitiveHeaders;

/** What the backend saw of one request. */
interface Seen {
  path: string;
  token: string | undefined;
  sensitive: string[];
  trailerSensitive: string[] | null;
  trailerValue: string | undefined;
}

/** The names a node:http2 headers object reports as never indexed. */
function sensitiveOf(h: http2.IncomingHttpHeaders | http2.IncomingHttpHeaders): string[] {
  const s = (h as Record<symbol, unknown>)[SENSITIVE];
  return Array.isArray(s) ? [...s].map(String).sort() : [];
}

/** An h2c backend: marks x-resp-secret (and the trailer x-trail-secret) on /mark* paths. */
async function backend(): Promise<{ port: number; seen: Seen[]; close(): void }> {
  const seen: Seen[] = [];
  const srv = http2.createServer();
  srv.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const path = String(headers[":path"]);
    const rec: Seen = {
      path,
      token: headers["x-secret-token"] as string | undefined,
      sensitive: sensitiveOf(headers),
      trailerSensitive: null,
      trailerValue: undefined,
    };
    seen.push(rec);
    stream.on("trailers", (t: http2.IncomingHttpHeaders) => {
      rec.trailerSensitive = sensitiveOf(t);
      rec.trailerValue = t["x-req-trail-secret"] as string | undefined;
    });
    stream.resume();
    stream.on("end", () => {
      const mark = path.startsWith("/mark");
      const h: http2.OutgoingHttpHeaders = {
        ":status": 200,
        "x-resp-secret": `r-${path}`,
        "x-resp-plain": "plain",
      };
      if (mark) (h as Record<symbol, unknown>)[SENSITIVE] = ["x-resp-secret"];
      stream.respond(h, { waitForTrailers: true });
      stream.on("wantTrailers", () => {
        const t: http2.OutgoingHttpHeaders = { "x-trail-secret": "t1", "x-trail-plain": "t2" };
        if (mark) (t as Record<symbol, unknown>)[SENSITIVE] = ["x-trail-secret"];
        stream.sendTrailers(t);
      });
      stream.end("ok");
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  return { port, seen, close: () => srv.close() };
}

/** What the client saw of one response. */
interface Got {
  status: number;
  secret: string | undefined;
  sensitive: string[];
  trailerSensitive: string[];
  trailerValue: string | undefined;
  body: string;
}

/** One request on `c`; `mark` names fields to send never indexed; `trailer` adds request trailers. */
function request(
  c: http2.ClientHttp2Session,
  path: string,
  mark: string[] | null,
  trailer: boolean,
): Promise<Got> {
  const h: http2.OutgoingHttpHeaders = {
    ":method": trailer ? "POST" : "GET",
    ":path": path,
    "x-secret-token": `tok-${path}`,
    "x-plain": "p",
  };
  if (mark) (h as Record<symbol, unknown>)[SENSITIVE] = mark;
  const req = c.request(h, { endStream: !trailer, waitForTrailers: trailer });
  if (trailer) {
    req.on("wantTrailers", () => {
      const t: http2.OutgoingHttpHeaders = { "x-req-trail-secret": "rt" };
      (t as Record<symbol, unknown>)[SENSITIVE] = ["x-req-trail-secret"];
      req.sendTrailers(t);
    });
    req.end("body");
  }
  return new Promise<Got>((resolve, reject) => {
    const got: Got = {
      status: 0,
      secret: undefined,
      sensitive: [],
      trailerSensitive: [],
      trailerValue: undefined,
      body: "",
    };
    req.on("response", (rh) => {
      got.status = Number(rh[":status"]);
      got.secret = rh["x-resp-secret"] as string | undefined;
      got.sensitive = sensitiveOf(rh);
    });
    req.on("trailers", (t) => {
      got.trailerSensitive = sensitiveOf(t);
      got.trailerValue = t["x-trail-secret"] as string | undefined;
    });
    req.setEncoding("utf8");
    req.on("data", (d: string) => (got.body += d));
    req.on("end", () => resolve(got));
    req.on("error", reject);
  });
}

function connect(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const c = http2.connect(`http://127.0.0.1:${port}`);
    c.once("connect", () => resolve(c));
    c.once("error", reject);
  });
}

Deno.test("h2 never-indexed: marked fields are forwarded never indexed both ways, per message", async () => {
  const b = await backend();
  const { dp, port } = await simpleProxy([cluster("c", [b.port], { protocol: "H2C" })]);
  const c1 = await connect(port);
  const c2 = await connect(port);
  try {
    // 1. Client marks x-secret-token: the backend receives it never indexed,
    //    and x-plain (same request) is not. The backend marks x-resp-secret:
    //    the client receives it never indexed, x-resp-plain not.
    const r1 = await request(c1, "/mark1", ["x-secret-token"], false);
    assert.equal(r1.status, 200);
    assert.equal(r1.body, "ok");
    assert.equal(r1.secret, "r-/mark1");
    assert.deepEqual(r1.sensitive, ["x-resp-secret"]);
    // Trailers: the upstream's never-indexed trailer reaches the client so.
    assert.equal(r1.trailerValue, "t1");
    assert.deepEqual(r1.trailerSensitive, ["x-trail-secret"]);
    let s = b.seen.at(-1)!;
    assert.equal(s.path, "/mark1");
    assert.equal(s.token, "tok-/mark1");
    assert.deepEqual(s.sensitive, ["x-secret-token"]);

    // 2. Next request on the same client connection (same upstream
    //    connection), nothing marked: nothing is reported never indexed — the
    //    mark belonged to the first message only.
    const r2 = await request(c1, "/plain2", null, false);
    assert.equal(r2.status, 200);
    assert.equal(r2.secret, "r-/plain2");
    assert.deepEqual(r2.sensitive, []);
    assert.deepEqual(r2.trailerSensitive, []);
    assert.equal(r2.trailerValue, "t1");
    s = b.seen.at(-1)!;
    assert.equal(s.path, "/plain2");
    assert.equal(s.token, "tok-/plain2");
    assert.deepEqual(s.sensitive, []);

    // 3. Another client connection, unmarked, while the first marked: no
    //    leak across connections either; then a marked one there works too.
    const r3 = await request(c2, "/plain3", null, false);
    assert.deepEqual(r3.sensitive, []);
    assert.deepEqual(b.seen.at(-1)!.sensitive, []);
    const r4 = await request(c2, "/mark4", ["x-plain", "x-secret-token"], false);
    assert.deepEqual(r4.sensitive, ["x-resp-secret"]);
    s = b.seen.at(-1)!;
    assert.equal(s.path, "/mark4");
    assert.deepEqual(s.sensitive, ["x-plain", "x-secret-token"]);

    // 4. Request trailers marked by the client reach the backend never indexed.
    const r5 = await request(c1, "/plain5", null, true);
    assert.equal(r5.status, 200);
    s = b.seen.at(-1)!;
    assert.equal(s.path, "/plain5");
    assert.deepEqual(s.sensitive, []);
    assert.equal(s.trailerValue, "rt");
    assert.deepEqual(s.trailerSensitive, ["x-req-trail-secret"]);
  } finally {
    c1.close();
    c2.close();
    await dp.close();
    b.close();
  }
});

Deno.test("h2 never-indexed: the node:http2 fallback engines carry the marks on head fields too", async () => {
  // Both sides on node:http2 (read when the engines are built, i.e. at apply).
  Deno.env.set("NOVAEDGE_H2_ENGINE", "node");
  const b = await backend();
  let dp: Awaited<ReturnType<typeof simpleProxy>>["dp"] | null = null;
  let c: http2.ClientHttp2Session | null = null;
  try {
    const p = await simpleProxy([cluster("c", [b.port], { protocol: "H2C" })]);
    dp = p.dp;
    c = await connect(p.port);
    const r1 = await request(c, "/mark1", ["x-secret-token"], false);
    assert.equal(r1.status, 200);
    assert.equal(r1.secret, "r-/mark1");
    assert.deepEqual(r1.sensitive, ["x-resp-secret"]);
    let s = b.seen.at(-1)!;
    assert.equal(s.path, "/mark1");
    assert.deepEqual(s.sensitive, ["x-secret-token"]);
    const r2 = await request(c, "/plain2", null, false);
    assert.deepEqual(r2.sensitive, []);
    s = b.seen.at(-1)!;
    assert.equal(s.path, "/plain2");
    assert.deepEqual(s.sensitive, []);
  } finally {
    Deno.env.delete("NOVAEDGE_H2_ENGINE");
    c?.close();
    await dp?.close();
    b.close();
  }
});
