/**
 * The indexing HPACK encoder and the SETTINGS ACK timeout against independent
 * HTTP/2 implementations: node:http2 (Deno's implementation) as client and
 * server, curl (nghttp2) through the whole data plane, and a raw TCP peer
 * that counts header-block bytes on the wire or never acknowledges SETTINGS.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { H2ClientConn } from "../../../src/proxy/h2/client.ts";
import { H2ServerConn } from "../../../src/proxy/h2/conn.ts";
import * as F from "../../../src/proxy/h2/frames.ts";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { backend, cluster, freePort, listener, route, simpleProxy, snapshot } from "../_helpers.ts";
import { curl, makePki } from "../_tls.ts";
import { RawH2 } from "./_raw_h2.ts";

const CONST = "a-fairly-long-value-that-every-response-repeats-0123456789";

/** A backend whose responses repeat most fields and echo the request facts we check. */
function repeatingBackend(): ReturnType<typeof backend> {
  return backend((req) => {
    const u = new URL(req.url);
    return new Response(`path=${u.pathname} auth=${req.headers.get("authorization")}`, {
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store, max-age=0",
        "x-const": CONST,
        "x-n": u.pathname,
        "set-cookie": `sid=${u.pathname.slice(1)}; HttpOnly`,
      },
    });
  });
}

Deno.test("hpack interop: the second response on a connection is smaller on the wire", async () => {
  const b = repeatingBackend();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  const raw = await RawH2.client(port);
  try {
    const GET = (p: string) => [":method", "GET", ":scheme", "http", ":path", p, ":authority", "x"];
    const sizes: number[] = [];
    for (const [sid, path] of [[1, "/a1"], [3, "/a2"], [5, "/a3"]] as const) {
      await raw.request(sid, GET(path));
      const h = await raw.waitFor((f) => f.type === F.HEADERS && f.sid === sid, `HEADERS ${sid}`);
      // Decoded in order by the peer's own table: every field is right.
      const f = h.fields!;
      const get = (n: string) => f[f.indexOf(n) + 1];
      assert.equal(get(":status"), "200");
      assert.equal(get("x-const"), CONST);
      assert.equal(get("x-n"), path);
      assert.equal(get("set-cookie"), `sid=${path.slice(1)}; HttpOnly`);
      sizes.push(9 + h.payload.length); // frame header + block
    }
    assert.ok(sizes[1] < sizes[0], `second ${sizes[1]} < first ${sizes[0]}`);
    assert.ok(sizes[1] < sizes[0] * 0.7, `indexing saves a good part: ${sizes}`);
    assert.ok(sizes[2] <= sizes[1] + 30, `third stays small: ${sizes}`);
  } finally {
    await raw.close();
    await dp.close();
    await b.close();
  }
});

interface NodeResult {
  status: number;
  headers: http2.IncomingHttpHeaders & { [k: symbol]: unknown };
  body: string;
}

function nodeGet(
  s: http2.ClientHttp2Session,
  path: string,
  extra: Record<string, string> = {},
): Promise<NodeResult> {
  return new Promise((res, rej) => {
    const r = s.request({ ":path": path, ...extra });
    let headers = {} as NodeResult["headers"];
    r.on("response", (h) => (headers = h as NodeResult["headers"]));
    let body = "";
    r.setEncoding("utf8");
    r.on("data", (d: string) => (body += d));
    r.on("end", () => res({ status: Number(headers[":status"]), headers, body }));
    r.on("error", rej);
    r.end();
  });
}

Deno.test("hpack interop: node:http2 client through the engine, table size 0 then 4096 mid-session", async () => {
  const b = repeatingBackend();
  const { dp, url } = await simpleProxy([cluster("c", [b.port])]);
  const s = http2.connect(url, { settings: { headerTableSize: 0 } });
  const errors: unknown[] = [];
  s.on("error", (e) => errors.push(e));
  try {
    const check = (r: NodeResult, path: string) => {
      assert.equal(r.status, 200);
      assert.equal(r.headers["x-const"], CONST);
      assert.equal(r.headers["x-n"], path);
      assert.deepEqual(r.headers["set-cookie"], [`sid=${path.slice(1)}; HttpOnly`]);
      // Deno's node:http2 reports fields that arrived as "never indexed".
      assert.deepEqual(r.headers[http2.sensitiveHeaders], ["set-cookie"]);
      assert.equal(r.body, `path=${path} auth=Bearer tok-${path}`);
    };
    const batch = async (tag: string) => {
      const paths = Array.from({ length: 8 }, (_, i) => `/${tag}${i}`);
      const rs = await Promise.all(
        paths.map((p) =>
          nodeGet(s, p, { authorization: `Bearer tok-${p}`, "x-client-const": CONST })
        ),
      );
      rs.forEach((r, i) => check(r, paths[i]));
    };
    await batch("zero");
    await batch("zero-again");
    // Deno's node:http2 sends SETTINGS with its next frames: ask, then send requests.
    const acked = new Promise<void>((r, j) =>
      s.settings({ headerTableSize: 4096 }, (e) => e ? j(e) : r())
    );
    await batch("table");
    await acked;
    await batch("table-again");
    assert.deepEqual(errors, []);
  } finally {
    s.close();
    await dp.close();
    await b.close();
  }
});

Deno.test("hpack interop: curl (nghttp2) over TLS reuses one connection for several requests", async () => {
  // (curl 7.88 cannot reuse a --http2-prior-knowledge connection at all —
  // curl/curl#10634 — so the reuse runs over TLS + ALPN h2; nghttp below does h2c.)
  const b = repeatingBackend();
  const pki = await makePki();
  const leaf = await pki.leaf("cert", ["localhost"]);
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("https", port, {
        protocol: "HTTPS",
        tls: { mode: "Terminate", certificates: ["cert"], minVersion: "1.2", alpn: [] },
      })],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [b.port])],
      secrets: [leaf],
    }));
    const paths = ["/c1", "/c2", "/c3", "/c4", "/c5"];
    const r = await curl([
      "-v",
      "-i",
      "--http2",
      "--resolve",
      `localhost:${port}:127.0.0.1`,
      "--cacert",
      pki.caFile,
      "-H",
      "authorization: Bearer tok",
      ...paths.map((p) => `https://localhost:${port}${p}`),
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err.match(/Re-using existing connection/g)?.length, paths.length - 1, r.err);
    const heads = r.out.split(/HTTP\/2 /).slice(1);
    assert.equal(heads.length, paths.length);
    heads.forEach((h, i) => {
      assert.match(h, /^200/);
      assert.match(h, new RegExp(`x-const: ${CONST}\r\n`));
      assert.match(h, new RegExp(`x-n: ${paths[i]}\r\n`));
      assert.match(h, new RegExp(`set-cookie: sid=${paths[i].slice(1)}; HttpOnly\r\n`));
      assert.match(h, new RegExp(`path=${paths[i]} auth=Bearer tok`));
    });
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("hpack interop: nghttp (h2c) multiplexes requests and sees set-cookie as sensitive", async () => {
  const b = repeatingBackend();
  const { dp, url } = await simpleProxy([cluster("c", [b.port])]);
  try {
    const paths = ["/n1", "/n2", "/n3", "/n4"];
    const o = await new Deno.Command("nghttp", {
      args: ["-nv", "-t", "10", ...paths.map((p) => `${url}${p}`)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(o.stdout);
    assert.equal(o.code, 0, out + new TextDecoder().decode(o.stderr));
    assert.doesNotMatch(out, /COMPRESSION_ERROR|recv GOAWAY|RST_STREAM/);
    for (const p of paths) assert.match(out, new RegExp(`\\) x-n: ${p}\n`));
    assert.equal(out.match(new RegExp(`\\) x-const: ${CONST}\n`, "g"))?.length, paths.length);
    // nghttp2 marks fields that arrived as "never indexed".
    assert.equal(out.match(/, sensitive\) set-cookie: sid=n\d; HttpOnly/g)?.length, paths.length);
    assert.doesNotMatch(out, /sensitive\) x-const/);
    // The later response heads are much smaller than the first.
    const lens = [...out.matchAll(/recv HEADERS frame <length=(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(lens.length, paths.length);
    assert.ok(Math.max(...lens.slice(1)) < lens[0] * 0.7, `header block sizes ${lens}`);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("hpack interop: our client against a node:http2 server that changes its table size", async () => {
  const server = http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  server.on("session", (s) => sessions.push(s));
  const seen: string[][] = [];
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const sens = (headers as unknown as Record<symbol, string[]>)[http2.sensitiveHeaders] ?? [];
    seen.push([...sens].sort());
    stream.respond({
      ":status": 200,
      "x-path": String(headers[":path"]),
      "x-auth": String(headers["authorization"]),
      "x-cookie": String(headers["cookie"]),
      "x-const": String(headers["x-const"]),
    });
    stream.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let closed!: () => void;
  const gone = new Promise<void>((r) => (closed = r));
  const client = new H2ClientConn(conn, 60_000, closed);
  client.start();
  try {
    let n = 0;
    const one = async () => {
      const me = ++n;
      const path = `/svc.Echo/Call${me % 3}`;
      const st = client.open([
        ":method",
        "GET",
        ":scheme",
        "http",
        ":authority",
        "backend.test",
        ":path",
        path,
        "authorization",
        `Bearer ${me}`,
        "cookie",
        "k=v",
        "x-const",
        CONST,
        "user-agent",
        "novaedge-test",
      ], true);
      const h = await st.head;
      for (;;) if ((await st.body.read()) === null) break;
      const get = (k: string) => h.headers[h.headers.indexOf(k) + 1];
      assert.equal(h.status, 200);
      assert.equal(get("x-path"), path);
      assert.equal(get("x-auth"), `Bearer ${me}`);
      assert.equal(get("x-cookie"), "k=v");
      assert.equal(get("x-const"), CONST);
    };
    for (let i = 0; i < 6; i++) await one();
    await Promise.all([one(), one(), one(), one()]);
    assert.equal(sessions.length, 1);
    // The server shrinks our table to nothing, then gives 4096 back.
    // (node:http2 sends SETTINGS with its next frames: ask, then send requests.)
    let acked = new Promise<void>((r, j) =>
      sessions[0].settings({ headerTableSize: 0 }, (e) => e ? j(e) : r())
    );
    for (let i = 0; i < 2; i++) await one();
    await acked;
    for (let i = 0; i < 2; i++) await one();
    acked = new Promise<void>((r, j) =>
      sessions[0].settings({ headerTableSize: 4096 }, (e) => e ? j(e) : r())
    );
    for (let i = 0; i < 2; i++) await one();
    await acked;
    for (let i = 0; i < 2; i++) await one();
    await Promise.all([one(), one(), one()]);
    assert.equal(seen.length, 21);
    // The credentials reached node as "never indexed" on every request.
    for (const s of seen) assert.deepEqual(s, ["authorization", "cookie"]);
  } finally {
    client.destroy("test over");
    await gone;
    for (const s of sessions) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

Deno.test("hpack interop: our client's repeated request heads are smaller on the wire", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = l.accept().then(async (c) => {
    const raw = new RawH2(c, true, true);
    await raw.settings([]);
    return raw;
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port });
  let closed!: () => void;
  const gone = new Promise<void>((r) => (closed = r));
  const client = new H2ClientConn(conn, 60_000, closed);
  client.start();
  const raw = await accepted;
  try {
    const head = (i: number) => [
      ":method",
      "POST",
      ":scheme",
      "http",
      ":authority",
      "backend.svc.cluster.local:50051",
      ":path",
      "/pkg.Echo/Say",
      "content-type",
      "application/grpc",
      "te",
      "trailers",
      "user-agent",
      "grpc-node-js/1.12.6",
      "x-forwarded-for",
      "10.1.2.3",
      "authorization",
      "Bearer abcdef0123456789",
      "x-request-id",
      `req-${i}-0123456789abcdef`,
    ];
    const sizes: number[] = [];
    for (let i = 0; i < 3; i++) {
      client.open(head(i), true);
      const sid = 1 + 2 * i;
      const h = await raw.waitFor((f) => f.type === F.HEADERS && f.sid === sid, `HEADERS ${sid}`);
      assert.deepEqual(h.fields, head(i));
      sizes.push(h.payload.length);
    }
    assert.ok(sizes[1] < sizes[0] * 0.6, `request head sizes ${sizes}`);
    assert.equal(sizes[2], sizes[1]);
  } finally {
    client.destroy("test over");
    await gone;
    await raw.close();
    l.close();
  }
});

/** Deterministic random header lists: names and values repeat enough to index, evict and churn. */
function headerLists(seed: number, count: number): string[][] {
  let x = seed;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const names = [
    "x-a",
    "x-b",
    "x-c",
    "content-language",
    "etag",
    "x-long",
    "x-request-id",
    "cache-control",
    "x-trace",
  ];
  const lists: string[][] = [];
  for (let i = 0; i < count; i++) {
    const kv: string[] = [];
    const n = 1 + rnd(8);
    const used = new Set<string>();
    for (let j = 0; j < n; j++) {
      const name = names[rnd(names.length)];
      if (used.has(name)) continue; // node joins duplicates: keep one value per name
      used.add(name);
      const v = name === "x-long"
        ? "L".repeat(100 + rnd(900))
        : `v${rnd(name === "x-request-id" ? 1e6 : 12)}`;
      kv.push(name, v);
    }
    lists.push(kv);
  }
  return lists;
}

Deno.test("hpack interop: random header lists with eviction, our encoder → node:http2 both ways", async () => {
  // Our client → node:http2 server, which echoes the fields it decoded.
  const server = http2.createServer();
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const got: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":")) got[k] = String(v);
    stream.respond({ ":status": 200, "content-type": "application/json" });
    stream.end(JSON.stringify(got));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let closed!: () => void;
  const gone = new Promise<void>((r) => (closed = r));
  const client = new H2ClientConn(conn, 60_000, closed);
  client.start();
  const lists = headerLists(0x51ed270b, 150);
  try {
    for (let i = 0; i < lists.length; i += 3) {
      await Promise.all(
        lists.slice(i, i + 3).map(async (kv) => {
          const st = client.open(
            [":method", "GET", ":scheme", "http", ":authority", "n", ":path", "/", ...kv],
            true,
          );
          const h = await st.head;
          assert.equal(h.status, 200);
          let body = "";
          for (;;) {
            const c = await st.body.read();
            if (c === null) break;
            body += new TextDecoder().decode(c);
          }
          const want: Record<string, string> = {};
          for (let j = 0; j < kv.length; j += 2) want[kv[j]] = kv[j + 1];
          assert.deepEqual(JSON.parse(body), want);
        }),
      );
    }
  } finally {
    client.destroy("test over");
    await gone;
    await new Promise<void>((r) => server.close(() => r()));
  }

  // Our server → node:http2 client: the response fields come from the list the path names.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let srvGone!: () => void;
  const sg = new Promise<void>((r) => (srvGone = r));
  l.accept().then((c) => {
    new H2ServerConn(
      c,
      {
        maxConcurrentStreams: 100,
        maxHeaderListSize: 65536,
        maxHeaders: 100,
        idleTimeoutMs: 60_000,
      },
      (st, h) => st.respond(200, lists[Number(h.path.slice(1))], true),
      srvGone,
    ).run(null);
  });
  const s = http2.connect(`http://127.0.0.1:${(l.addr as Deno.NetAddr).port}`);
  s.on("error", () => {});
  try {
    for (let i = 0; i < lists.length; i += 3) {
      await Promise.all(
        lists.slice(i, i + 3).map(async (kv, k) => {
          const r = await nodeGet(s, `/${i + k}`);
          assert.equal(r.status, 200);
          for (let j = 0; j < kv.length; j += 2) assert.equal(r.headers[kv[j]], kv[j + 1], kv[j]);
        }),
      );
    }
  } finally {
    s.close();
    await sg;
    l.close();
  }
});

Deno.test("settings timeout: a raw TCP client that never ACKs gets GOAWAY SETTINGS_TIMEOUT", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let done!: () => void;
  const serverGone = new Promise<void>((r) => (done = r));
  const accepted = l.accept().then((c) => {
    const s = new H2ServerConn(
      c,
      {
        maxConcurrentStreams: 10,
        maxHeaderListSize: 16384,
        maxHeaders: 100,
        idleTimeoutMs: 60_000,
        settingsTimeoutMs: 300,
      },
      (st) => st.respond(204, [], true),
      done,
    );
    s.run(null);
  });
  const raw = await RawH2.client((l.addr as Deno.NetAddr).port, [], false);
  try {
    await accepted;
    // Requests still work while the ACK is outstanding...
    await raw.request(1, [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"]);
    const h = await raw.waitFor((f) => f.type === F.HEADERS && f.sid === 1, "HEADERS");
    assert.deepEqual(h.fields, [":status", "204"]);
    // ...until the bound passes.
    const g = await raw.waitFor((f) => f.type === F.GOAWAY, "GOAWAY");
    assert.equal(F.u32(g.payload, 4), F.SETTINGS_TIMEOUT);
    assert.equal(F.u31(g.payload, 0), 1, "last stream id");
    assert.ok(await raw.closed(), "the server closes the connection");
    await serverGone;
  } finally {
    await raw.close();
    l.close();
  }
});

Deno.test("settings timeout: our client closes on an upstream that never ACKs", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = l.accept().then(async (c) => {
    const raw = new RawH2(c, false, true);
    await raw.settings([[F.SETTINGS_MAX_CONCURRENT_STREAMS, 10]]);
    return raw;
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: (l.addr as Deno.NetAddr).port });
  let closed!: () => void;
  const gone = new Promise<void>((r) => (closed = r));
  const client = new H2ClientConn(conn, 60_000, closed, null, 300);
  client.start();
  const raw = await accepted;
  try {
    const g = await raw.waitFor((f) => f.type === F.GOAWAY, "GOAWAY");
    assert.equal(F.u32(g.payload, 4), F.SETTINGS_TIMEOUT);
    await gone;
    assert.equal(client.usable, false);
    assert.ok(await raw.closed());
  } finally {
    await raw.close();
    l.close();
  }
});
