import assert from "node:assert/strict";
import * as http2 from "node:http2";
import {
  accessLines,
  backend,
  cluster,
  limits,
  rawExchange,
  route,
  simpleProxy,
} from "./_helpers.ts";

/** A backend recording the paths it saw. */
function recorder() {
  const seen: string[] = [];
  const b = backend(async (req) => {
    seen.push(new URL(req.url).pathname);
    if (req.body) await req.arrayBuffer();
    return new Response("ok");
  });
  return { ...b, seen };
}

const cases: [string, string, number][] = [
  [
    "Content-Length with Transfer-Encoding",
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    400,
  ],
  [
    "duplicate Content-Length (same value)",
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    400,
  ],
  [
    "duplicate Content-Length (different values)",
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    400,
  ],
  ["Content-Length list", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello", 400],
  ["negative Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400],
  [
    "non-numeric Content-Length",
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
    400,
  ],
  ["obs-fold", "GET /a HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  b\r\n\r\n", 400],
  ["whitespace before colon", "GET /a HTTP/1.1\r\nHost : x\r\n\r\n", 400],
  ["control character in a value", "GET /a HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n", 400],
  ["bare LF inside a header line", "GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\nX-B: 2\r\n\r\n", 400],
  ["NUL in the target", "GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["missing Host on HTTP/1.1", "GET /a HTTP/1.1\r\nX: y\r\n\r\n", 400],
  ["duplicate Host", "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400],
  [
    "unknown transfer coding",
    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    501,
  ],
  [
    "Transfer-Encoding twice",
    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    400,
  ],
  [
    "malformed chunk size",
    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    400,
  ],
  ["unsupported version", "GET /a HTTP/2.0\r\nHost: x\r\n\r\n", 505],
  ["garbage request line", "HELLO\r\n\r\n", 400],
];

Deno.test("hostile input: smuggling and malformed requests get 4xx/5xx, a reason, and the connection closed", async () => {
  const b = recorder();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  try {
    for (const [name, raw, status] of cases) {
      const out = await rawExchange(port, raw);
      const responses = out.match(/HTTP\/1\.1 \d{3}/g) ?? [];
      assert.equal(
        responses.length,
        1,
        `${name}: exactly one response, got ${JSON.stringify(out)}`,
      );
      assert.ok(
        out.startsWith(`HTTP/1.1 ${status} `),
        `${name}: expected ${status}, got ${JSON.stringify(out.slice(0, 60))}`,
      );
      assert.match(out, /connection: close/, name);
      const body = out.slice(out.indexOf("\r\n\r\n") + 4);
      assert.ok(body.trim().length > 5, `${name}: a reason in the body`);
      const log = accessLines().at(-1)!;
      assert.equal(log.status, status, name);
      assert.equal(typeof log.reason, "string", name);
    }
    assert.ok(!b.seen.includes("/smuggled"), "a smuggled request never reaches the backend");
    // A well-formed chunked request with a trailer still works on a fresh connection.
    const ok = await rawExchange(
      port,
      "POST /fine HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    );
    assert.match(ok, /^HTTP\/1.1 200/);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("hostile input: header size and count limits give 431", async () => {
  const b = recorder();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])], undefined, {
    limits: limits({ maxHeaderBytes: 2048, maxHeaders: 10 }),
  });
  try {
    let out = await rawExchange(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(4000)}\r\n\r\n`,
    );
    assert.match(out, /^HTTP\/1.1 431 /);
    let many = "GET / HTTP/1.1\r\nHost: x\r\n";
    for (let i = 0; i < 20; i++) many += `X-H${i}: v\r\n`;
    out = await rawExchange(port, many + "\r\n");
    assert.match(out, /^HTTP\/1.1 431 /);
    assert.match(out, /too many header fields/);
    out = await rawExchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(out, /^HTTP\/1.1 200 /);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("hostile input: body size limit per route gives 413 (Content-Length and chunked)", async () => {
  const b = recorder();
  const { dp, url, port } = await simpleProxy([cluster("c", [b.port])], [
    route("r", ["c"], { maxBodyBytes: 1000 }),
  ]);
  try {
    let r = await fetch(`${url}/small`, { method: "POST", body: "x".repeat(500) });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    r = await fetch(`${url}/big`, { method: "POST", body: "x".repeat(5000) });
    assert.equal(r.status, 413);
    assert.match(await r.text(), /exceeds the limit/);
    const chunk = "x".repeat(800);
    const out = await rawExchange(
      port,
      `POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n${chunk}\r\n320\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.match(out, /^HTTP\/1.1 413 /);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("hostile input: slowloris header reads and idle connections are timed out", async () => {
  const b = recorder();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])], undefined, {
    limits: limits({ headerTimeoutMs: 300, idleTimeoutMs: 500 }),
  });
  try {
    // Slow head: a few bytes, then nothing. The proxy must close the connection.
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
    const n = await c.read(new Uint8Array(100)).catch(() => null);
    assert.equal(n, null, "closed without a response");
    c.close();
    const log = accessLines().find((l) => l.reason === "header read timeout");
    assert.ok(log, "access log names the header read timeout");
    // Idle connection: nothing sent at all.
    const c2 = await Deno.connect({ hostname: "127.0.0.1", port });
    const n2 = await c2.read(new Uint8Array(100)).catch(() => null);
    assert.equal(n2, null);
    c2.close();
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("hostile input: HTTP/2 advertises the concurrent stream limit", async () => {
  const b = recorder();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])], undefined, {
    limits: limits({ maxConcurrentStreams: 7 }),
  });
  try {
    const s = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve) => s.once("remoteSettings", () => resolve()));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 7);
    const req = s.request({ ":path": "/x" });
    const status = await new Promise<number>((resolve) =>
      req.once("response", (h) => resolve(Number(h[":status"])))
    );
    assert.equal(status, 200);
    req.resume();
    await new Promise((r) => req.once("end", r));
    s.close();
  } finally {
    await dp.close();
    await b.close();
  }
});
