import assert from "node:assert/strict";
import {
  accessLines,
  backend,
  cluster,
  echoBackend,
  freePort,
  prefix,
  rawExchange,
  route,
  simpleProxy,
} from "./_helpers.ts";

Deno.test("http1 proxy: GET is routed with forwarding headers", async () => {
  const b = echoBackend();
  const { dp, url, port } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    const res = await fetch(`${url}/hello?x=1`, {
      headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    assert.equal(res.status, 200);
    const j = await res.json();
    assert.equal(j.method, "GET");
    assert.equal(new URL(j.url).pathname, "/hello");
    assert.equal(new URL(j.url).search, "?x=1");
    assert.equal(j.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(j.headers["x-forwarded-proto"], "http");
    assert.equal(j.headers["x-forwarded-host"], `127.0.0.1:${port}`);
    assert.equal(j.headers["host"], `127.0.0.1:${port}`);
    assert.match(j.headers["x-request-id"], /^[0-9a-f-]{36}$/);
    assert.equal(
      j.headers["traceparent"],
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    );
    const res2 = await fetch(`${url}/`, {
      headers: { "x-request-id": "abc-123", "x-forwarded-for": "10.0.0.1" },
    });
    const j2 = await res2.json();
    assert.equal(j2.headers["x-request-id"], "abc-123");
    assert.equal(j2.headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    const log = accessLines().find((l) => l.path === "/hello?x=1");
    assert.ok(log, "access log line");
    assert.equal(log.status, 200);
    assert.equal(log.route, "r1");
    assert.equal(log.method, "GET");
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("http1 proxy: refusals have clear statuses and bodies", async () => {
  const b = backend(async (req) => {
    if (new URL(req.url).pathname === "/slow") await new Promise((r) => setTimeout(r, 1500));
    return new Response("ok");
  });
  const dead = freePort();
  const { dp, url } = await simpleProxy(
    [cluster("c1", [b.port]), cluster("dead", [dead]), cluster("empty", [])],
    [
      route("slow", ["c1"], {
        matches: [prefix("/slow")],
        timeouts: { requestMs: 300, backendRequestMs: 0 },
      }),
      route("dead", ["dead"], { matches: [prefix("/dead")] }),
      route("empty", ["empty"], { matches: [prefix("/empty")] }),
      route("ok", ["c1"], { matches: [prefix("/ok")] }),
    ],
  );
  try {
    let r = await fetch(`${url}/nothing`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /no route/);
    r = await fetch(`${url}/dead`);
    assert.equal(r.status, 502);
    assert.match(await r.text(), /connect/);
    r = await fetch(`${url}/empty`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /no healthy endpoint/);
    r = await fetch(`${url}/slow`);
    assert.equal(r.status, 504);
    assert.match(await r.text(), /within/);
    r = await fetch(`${url}/ok`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok");
    const reasons = accessLines().filter((l) => l.status === 502 || l.status === 504).map((l) =>
      l.reason
    );
    assert.ok(reasons.every((x) => typeof x === "string" && x.length > 0));
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("http1 proxy: hop-by-hop headers are stripped both ways", async () => {
  const b = backend((req) => {
    const seen = ["connection", "keep-alive", "x-secret", "te", "upgrade", "proxy-authorization"]
      .filter((n) => req.headers.has(n));
    return new Response(JSON.stringify(seen), {
      headers: { "x-hop": "1", connection: "x-hop", "content-type": "application/json" },
    });
  });
  const { dp, port } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    const out = await rawExchange(
      port,
      `GET / HTTP/1.1\r\nHost: a\r\nConnection: close, x-secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: gzip\r\nProxy-Authorization: x\r\n\r\n`,
    );
    assert.match(out, /^HTTP\/1.1 200/);
    const body = out.slice(out.indexOf("\r\n\r\n") + 4);
    assert.deepEqual(JSON.parse(body), []);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("http1 proxy: bodies stream both ways, chunked and fixed, keep-alive reuse", async () => {
  let conns = 0;
  const b = backend(async (req) => {
    if (req.method === "POST") {
      let n = 0;
      for await (const c of req.body!) n += c.length;
      return new Response(String(n));
    }
    const stream = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 10; i++) ctl.enqueue(new TextEncoder().encode(`part${i};`));
        ctl.close();
      },
    });
    return new Response(stream);
  });
  const { dp, url } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    const big = new Uint8Array(3 * 1024 * 1024).fill(7);
    let r = await fetch(`${url}/up`, { method: "POST", body: big });
    assert.equal(await r.text(), String(big.length));
    // chunked request body
    const rs = new ReadableStream({
      start(ctl) {
        for (let i = 0; i < 5; i++) ctl.enqueue(new Uint8Array(1000));
        ctl.close();
      },
    });
    r = await fetch(`${url}/up`, { method: "POST", body: rs });
    assert.equal(await r.text(), "5000");
    r = await fetch(`${url}/down`);
    assert.equal(await r.text(), "part0;part1;part2;part3;part4;part5;part6;part7;part8;part9;");
    r = await fetch(`${url}/down`, { method: "HEAD" });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "");
    conns++;
  } finally {
    await dp.close();
    await b.close();
  }
  assert.equal(conns, 1);
});

/**
 * A raw backend: answers each request with `size` bytes (byte i = i % 251)
 * under Content-Length, written in three pieces with pauses, so the proxy
 * sees the body arrive over several reads. `truncate` sends a third and closes.
 */
function piecesBackend(): { port: number; accepted: () => number; close: () => void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const serve = async (c: Deno.Conn) => {
    const buf = new Uint8Array(8192);
    let head = "";
    try {
      for (;;) {
        const n = await c.read(buf);
        if (n === null) return;
        head += new TextDecoder().decode(buf.subarray(0, n));
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) continue;
        const path = head.split(" ")[1];
        head = head.slice(end + 4);
        const size = Number(path.split("/")[2]);
        const body = new Uint8Array(size).map((_, i) => i % 251);
        await c.write(
          new TextEncoder().encode(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`),
        );
        const third = Math.ceil(size / 3);
        for (let off = 0; off < size; off += third) {
          await c.write(body.subarray(off, Math.min(size, off + third)));
          if (path.startsWith("/truncate")) return c.close();
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    } catch {
      // test over
    }
  };
  (async () => {
    for await (const c of l) {
      accepted++;
      serve(c);
    }
  })().catch(() => {});
  return { port: (l.addr as Deno.NetAddr).port, accepted: () => accepted, close: () => l.close() };
}

Deno.test("http1 proxy: medium and large fixed-length bodies arrive byte-exact over several reads", async () => {
  const b = piecesBackend();
  const { dp, url } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    // Around the coalescing (16 KiB) and gathering (64 KiB) limits.
    for (const size of [16 * 1024 + 1, 65535, 65536, 65537, 256 * 1024, 1024 * 1024]) {
      const r = await fetch(`${url}/size/${size}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-length"), String(size));
      const got = new Uint8Array(await r.arrayBuffer());
      assert.equal(got.length, size);
      let bad = -1;
      for (let i = 0; i < size && bad < 0; i++) if (got[i] !== i % 251) bad = i;
      assert.equal(bad, -1, `size ${size}: first wrong byte`);
    }
    assert.equal(b.accepted(), 1, "the upstream connection was reused throughout");
    // An upstream that closes mid-body: the client must not get a complete response.
    await assert.rejects(async () => {
      const r = await fetch(`${url}/truncate/65536`);
      await r.arrayBuffer();
    });
    const r = await fetch(`${url}/size/100000`);
    assert.equal((await r.arrayBuffer()).byteLength, 100000);
  } finally {
    await dp.close();
    b.close();
  }
});
