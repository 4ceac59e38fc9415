import assert from "node:assert/strict";
import { DataPlane } from "../../src/proxy/mod.ts";
import { registry } from "../../src/observe/metrics.ts";
import {
  backend,
  cluster,
  echoBackend,
  freePort,
  listener,
  prefix,
  rawExchange,
  route,
  simpleProxy,
  snapshot,
} from "./_helpers.ts";
import { curl } from "./_tls.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("apply: in-flight requests finish on their config; new ones use the new one", async () => {
  const slow = backend(async () => {
    await sleep(600);
    return new Response("old");
  });
  const fresh = backend(() => new Response("new"));
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(
      snapshot({
        listeners: [listener("l", port)],
        routes: [route("r", ["a"])],
        clusters: [cluster("a", [slow.port])],
      }),
    );
    assert.equal(dp.activeVersion?.startsWith("v"), true);
    const inflight = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    await sleep(100);
    await dp.apply(snapshot({
      version: "second",
      listeners: [listener("l", port)],
      routes: [route("r", ["b"])],
      clusters: [cluster("b", [fresh.port])],
    }));
    assert.equal(dp.activeVersion, "second");
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "new");
    assert.equal(await inflight, "old");
  } finally {
    await dp.close();
    await slow.close();
    await fresh.close();
  }
});

Deno.test("apply: listeners are added and removed by diff; a port that cannot be bound rejects the snapshot", async () => {
  const b = echoBackend();
  const p1 = freePort();
  const p2 = freePort();
  const dp = new DataPlane({});
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = (blocker.addr as Deno.NetAddr).port;
  try {
    const base = { routes: [route("r", ["c"])], clusters: [cluster("c", [b.port])] };
    await dp.apply(snapshot({ ...base, version: "one", listeners: [listener("l1", p1)] }));
    await dp.apply(
      snapshot({ ...base, version: "two", listeners: [listener("l1", p1), listener("l2", p2)] }),
    );
    assert.equal((await fetch(`http://127.0.0.1:${p2}/`)).status, 200);
    await assert.rejects(
      dp.apply(
        snapshot({
          ...base,
          version: "bad",
          listeners: [listener("l1", p1), listener("l3", taken)],
        }),
      ),
      /cannot listen on 127\.0\.0\.1:\d+/,
    );
    assert.equal(dp.activeVersion, "two");
    assert.equal((await fetch(`http://127.0.0.1:${p1}/`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${p2}/`)).status, 200);
    await dp.apply(snapshot({ ...base, version: "three", listeners: [listener("l1", p1)] }));
    await sleep(50);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: p2 }));
    assert.equal((await fetch(`http://127.0.0.1:${p1}/`)).status, 200);
    assert.deepEqual(dp.listeners().map((l) => l.port), [p1]);
  } finally {
    blocker.close();
    await dp.close();
    await b.close();
  }
});

Deno.test("apply: an open WebSocket survives a snapshot swap", async () => {
  const b = backend((req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(e.data);
    return response;
  });
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(
      snapshot({
        listeners: [listener("l", port)],
        routes: [route("r", ["c"])],
        clusters: [cluster("c", [b.port])],
      }),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await new Promise((r) => (ws.onopen = r));
    await dp.apply(
      snapshot({
        listeners: [listener("l", port)],
        routes: [route("r2", ["c"])],
        clusters: [cluster("c", [b.port])],
      }),
    );
    const got = new Promise<string>((r) => (ws.onmessage = (e) => r(e.data)));
    ws.send("still here");
    assert.equal(await got, "still here");
    const closed = new Promise((r) => (ws.onclose = r));
    ws.close();
    await closed;
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("drain: stops accepting, finishes in-flight work", async () => {
  const slow = backend(async () => {
    await sleep(500);
    return new Response("done");
  });
  const port = freePort();
  const dp = new DataPlane({});
  await dp.apply(
    snapshot({
      listeners: [listener("l", port)],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [slow.port])],
    }),
  );
  const inflight = fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
  await sleep(100);
  const draining = dp.drain(5000);
  await sleep(50);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  assert.equal(await inflight, "done");
  await draining;
  await dp.close();
  await slow.close();
});

Deno.test("retries: connect failure moves to another endpoint; configured 5xx codes are retried", async () => {
  let calls = 0;
  const flaky = backend(() => {
    calls++;
    return calls % 2 === 1 ? new Response("busy", { status: 503 }) : new Response("ok");
  });
  const good = echoBackend("good");
  const dead = freePort();
  const { dp, url } = await simpleProxy(
    [cluster("mixed", [dead, good.port]), cluster("flaky", [flaky.port])],
    [
      route("mixed", ["mixed"], { matches: [prefix("/mixed")] }),
      route("flaky", ["flaky"], {
        matches: [prefix("/flaky")],
        retry: {
          attempts: 2,
          codes: [503],
          perTryTimeoutMs: 0,
          backoffMs: 0,
          retryNonIdempotent: false,
          on: [],
        },
      }),
      route("noretry", ["flaky"], { matches: [prefix("/noretry")] }),
    ],
  );
  try {
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${url}/mixed`);
      assert.equal(r.status, 200);
      assert.equal((await r.json()).name, "good");
    }
    calls = 0;
    let r = await fetch(`${url}/flaky`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok");
    assert.equal(calls, 2);
    // POST is not idempotent: no retry on 503.
    calls = 0;
    r = await fetch(`${url}/flaky`, { method: "POST", body: "x" });
    assert.equal(r.status, 503);
    await r.body?.cancel();
    calls = 0;
    r = await fetch(`${url}/noretry`);
    assert.equal(r.status, 503);
    await r.body?.cancel();
  } finally {
    await dp.close();
    await flaky.close();
    await good.close();
  }
});

Deno.test("client disconnect cancels the upstream request", async () => {
  let aborted: () => void = () => {};
  const sawAbort = new Promise<void>((r) => (aborted = r));
  const b = backend((req) => {
    req.signal.addEventListener("abort", () => aborted());
    return new Promise<Response>(() => {}); // never answers
  });
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(new TextEncoder().encode("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
    await sleep(200);
    c.close();
    await Promise.race([
      sawAbort,
      sleep(3000).then(() => assert.fail("upstream request was not cancelled")),
    ]);
  } finally {
    await dp.close();
    await b.close();
  }
});

for (
  const [name, request] of [
    ["a fixed-length body", "POST /hang HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"],
    [
      "a chunked body",
      "POST /hang HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ],
    ["no body, closed at once", "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"],
  ] as const
) {
  Deno.test(`client disconnect after ${name} cancels the upstream request`, async () => {
    let aborted: () => void = () => {};
    const sawAbort = new Promise<void>((r) => (aborted = r));
    let bodyRead = "";
    const b = backend(async (req) => {
      req.signal.addEventListener("abort", () => aborted());
      bodyRead = await req.text();
      return new Promise<Response>(() => {}); // never answers
    });
    const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(new TextEncoder().encode(request));
      if (name !== "no body, closed at once") {
        // The whole body reached the backend before the client leaves.
        for (let i = 0; i < 100 && bodyRead === ""; i++) await sleep(20);
        assert.equal(bodyRead, "hello");
      }
      c.close();
      await Promise.race([
        sawAbort,
        sleep(3000).then(() => assert.fail("upstream request was not cancelled")),
      ]);
    } finally {
      await dp.close();
      await b.close();
    }
  });
}

Deno.test("http1: Expect 100-continue, HTTP/1.0 clients, pipelining", async () => {
  const b = backend(async (req) => {
    if (req.method === "POST") return new Response(String((await req.arrayBuffer()).byteLength));
    const s = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("chunk1-"));
        c.enqueue(new TextEncoder().encode("chunk2"));
        c.close();
      },
    });
    return new Response(s);
  });
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  try {
    // curl sends "Expect: 100-continue" for large bodies and waits for the 100.
    const file = await Deno.makeTempFile();
    await Deno.writeFile(file, new Uint8Array(2 * 1024 * 1024).fill(65));
    const r = await curl([
      "-v",
      "--data-binary",
      `@${file}`,
      "-H",
      "Expect: 100-continue",
      `http://127.0.0.1:${port}/up`,
    ]);
    await Deno.remove(file);
    assert.match(r.err, /< HTTP\/1.1 100 Continue/);
    assert.equal(r.out, String(2 * 1024 * 1024));
    const out10 = await rawExchange(port, "GET /stream HTTP/1.0\r\nHost: x\r\n\r\n");
    assert.match(out10, /^HTTP\/1.1 200/);
    assert.ok(!/transfer-encoding/i.test(out10), "no chunked coding towards HTTP/1.0");
    assert.ok(out10.endsWith("chunk1-chunk2"));
    const piped = await rawExchange(
      port,
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert.equal((piped.match(/HTTP\/1\.1 200/g) ?? []).length, 3);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("http1: 100-continue is answered before the body is sent", async () => {
  const b = backend(async (req) => new Response(String((await req.arrayBuffer()).byteLength)));
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(
      new TextEncoder().encode(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
      ),
    );
    const buf = new Uint8Array(1000);
    const n = await c.read(buf);
    assert.match(new TextDecoder().decode(buf.subarray(0, n!)), /^HTTP\/1.1 100 Continue\r\n\r\n/);
    await c.write(new TextEncoder().encode("abcd"));
    let text = "";
    while (!text.endsWith("4")) {
      const m = await c.read(buf);
      if (m === null) break;
      text += new TextDecoder().decode(buf.subarray(0, m));
    }
    assert.match(text, /^HTTP\/1.1 200/);
  } finally {
    c.close();
    await dp.close();
    await b.close();
  }
});

Deno.test("filters: header modifiers, redirect, rewrite, CORS preflight, weighted backends", async () => {
  const a = echoBackend("a");
  const z = echoBackend("z");
  const { dp, url } = await simpleProxy([cluster("a", [a.port]), cluster("z", [z.port])], [
    route("mod", ["a"], {
      matches: [prefix("/mod")],
      filters: [
        {
          type: "RequestHeaderModifier",
          requestHeaderModifier: {
            set: [{ name: "x-set", value: "1" }],
            add: [],
            remove: ["x-drop"],
          },
        },
        {
          type: "ResponseHeaderModifier",
          responseHeaderModifier: { set: [{ name: "x-resp", value: "yes" }], add: [], remove: [] },
        },
      ],
    }),
    route("redir", [], {
      matches: [prefix("/old")],
      filters: [{
        type: "RequestRedirect",
        requestRedirect: {
          scheme: "https",
          hostname: "new.example",
          port: 0,
          path: { type: "ReplacePrefixMatch", value: "/new" },
          statusCode: 301,
        },
      }],
    }),
    route("rw", ["a"], {
      matches: [prefix("/api")],
      filters: [{
        type: "URLRewrite",
        urlRewrite: {
          hostname: "internal.svc",
          path: { type: "ReplacePrefixMatch", value: "/v2" },
        },
      }],
    }),
    route("cors", ["a"], {
      matches: [prefix("/cors")],
      filters: [{
        type: "CORS",
        cors: {
          allowOrigins: ["https://app.example"],
          allowMethods: ["GET", "PUT"],
          allowHeaders: ["x-a"],
          exposeHeaders: [],
          allowCredentials: false,
          maxAgeSeconds: 60,
        },
      }],
    }),
    route("weighted", [{ cluster: "a", weight: 0, filters: [] }, {
      cluster: "z",
      weight: 5,
      filters: [],
    }], { matches: [prefix("/w")] }),
  ]);
  try {
    let r = await fetch(`${url}/mod`, { headers: { "x-drop": "1" } });
    assert.equal(r.headers.get("x-resp"), "yes");
    let j = await r.json();
    assert.equal(j.headers["x-set"], "1");
    assert.equal(j.headers["x-drop"], undefined);
    r = await fetch(`${url}/old/page?q=1`, { redirect: "manual" });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get("location"), "https://new.example/new/page?q=1");
    await r.body?.cancel();
    r = await fetch(`${url}/api/items?x=1`);
    j = await r.json();
    assert.equal(new URL(j.url).pathname, "/v2/items");
    assert.equal(j.headers["host"], "internal.svc");
    r = await fetch(`${url}/cors`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "PUT" },
    });
    assert.equal(r.status, 200); // CORS_PREFLIGHT_STATUS (Gateway API conformance)
    assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(r.headers.get("access-control-max-age"), "60");
    await r.body?.cancel();
    for (let i = 0; i < 5; i++) assert.equal((await (await fetch(`${url}/w`)).json()).name, "z");
    const metrics = await registry.metrics();
    assert.match(metrics, /novaedge_http_requests_total\{route="weighted",code="200"\} \d+/);
    assert.match(metrics, /novaedge_upstream_request_duration_seconds_count\{cluster="z"\} \d+/);
  } finally {
    await dp.close();
    await a.close();
    await z.close();
  }
});

Deno.test("http2: a client stream reset cancels the upstream request", async () => {
  const http2 = await import("node:http2");
  let aborted: () => void = () => {};
  const sawAbort = new Promise<void>((r) => (aborted = r));
  const b = backend((req) => {
    req.signal.addEventListener("abort", () => aborted());
    return new Promise<Response>(() => {});
  });
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  const s = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const req = s.request({ ":path": "/hang" });
    req.on("error", () => {});
    await sleep(200);
    req.close(http2.constants.NGHTTP2_CANCEL);
    await Promise.race([
      sawAbort,
      sleep(3000).then(() => assert.fail("upstream request was not cancelled")),
    ]);
  } finally {
    s.close();
    await dp.close();
    await b.close();
  }
});
