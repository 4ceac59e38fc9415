import assert from "node:assert/strict";
import { DataPlane } from "../../src/proxy/mod.ts";
import { cluster, echoBackend, freePort, listener, route, snapshot } from "./_helpers.ts";
import { curl, makePki } from "./_tls.ts";

Deno.test("tls: SNI picks among certificates (wildcards too), ALPN h2 and http/1.1, rotation without restart", async () => {
  const pki = await makePki();
  const a = await pki.leaf("cert-a", ["a.example.com", "localhost"]);
  const w = await pki.leaf("cert-w", ["*.wild.example.com"]);
  const b = echoBackend("tls");
  const port = freePort();
  const dp = new DataPlane({});
  const mk = (certs: string[], secrets: typeof a[]) =>
    snapshot({
      listeners: [listener("https", port, {
        protocol: "HTTPS",
        tls: { mode: "Terminate", certificates: certs, minVersion: "1.2", alpn: [] },
      })],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [b.port])],
      secrets,
    });
  try {
    await dp.apply(mk(["cert-a", "cert-w"], [a, w]));
    const resolve = (h: string) => ["--resolve", `${h}:${port}:127.0.0.1`, "--cacert", pki.caFile];
    let r = await curl([
      "-v",
      "--http2",
      ...resolve("a.example.com"),
      `https://a.example.com:${port}/x`,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /subject: CN=a\.example\.com/);
    assert.match(r.err, /< HTTP\/2 200/);
    const j = JSON.parse(r.out);
    assert.equal(j.headers["x-forwarded-proto"], "https");
    assert.equal(j.headers["x-forwarded-for"], "127.0.0.1");
    r = await curl([
      "-v",
      "--http1.1",
      ...resolve("x.wild.example.com"),
      `https://x.wild.example.com:${port}/y`,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /subject: CN=\*\.wild\.example\.com/);
    assert.match(r.err, /< HTTP\/1.1 200/);
    // Deno fetch (rustls) with the test CA.
    const client = Deno.createHttpClient({ caCerts: [pki.caPem] });
    const res = await fetch(`https://localhost:${port}/z`, { client });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).name, "tls");
    client.close();
    // Rotate cert-a: new connections see the new certificate, same socket.
    const a2 = await pki.leaf("cert-a", ["a.example.com", "localhost"], "a.example.com-rotated");
    await dp.apply(mk(["cert-a", "cert-w"], [a2, w]));
    r = await curl(["-v", ...resolve("a.example.com"), `https://a.example.com:${port}/x`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /subject: CN=a\.example\.com-rotated/);
    // A snapshot with a broken key is rejected and the old config keeps serving.
    await assert.rejects(
      dp.apply(mk(["cert-a"], [{ ...a2, keyPem: "garbage" }])),
      /unusable|certificate/,
    );
    r = await curl([...resolve("a.example.com"), `https://a.example.com:${port}/x`]);
    assert.equal(r.code, 0, r.err);
  } finally {
    await dp.close();
    await b.close();
    await Deno.remove(pki.dir, { recursive: true });
  }
});

Deno.test("h2c: prior knowledge on a plain listener is detected and proxied", async () => {
  const b = echoBackend("h2c");
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("plain", port)],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [b.port])],
    }));
    let r = await curl(["-v", "--http2-prior-knowledge", `http://127.0.0.1:${port}/p?q=1`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /< HTTP\/2 200/);
    const j = JSON.parse(r.out);
    assert.equal(new URL(j.url).pathname, "/p");
    assert.equal(j.headers["x-forwarded-for"], "127.0.0.1");
    r = await curl([
      "--http2-prior-knowledge",
      "--data-binary",
      "hello world",
      `http://127.0.0.1:${port}/post`,
    ]);
    assert.equal(JSON.parse(r.out).bodyLength, 11);
    // HTTP/1.1 still works on the same port.
    r = await curl(["-v", `http://127.0.0.1:${port}/h1`]);
    assert.match(r.err, /< HTTP\/1.1 200/);
    r = await curl([
      "-v",
      "--http2-prior-knowledge",
      `http://127.0.0.1:${port}/missing`,
      "-H",
      "host: nowhere",
    ]);
    assert.match(r.err, /< HTTP\/2 200/); // route "r" has no hostnames: catch-all
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("upstream TLS (HTTP/1.1): CA verification and SNI, host rewrite; wrong CA is a 502", async () => {
  const pki = await makePki();
  const other = await makePki();
  const leaf = await pki.leaf("up", ["backend.internal"]);
  const ac = new AbortController();
  const srv = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      cert: leaf.certPem,
      key: leaf.keyPem,
      signal: ac.signal,
      onListen: () => {},
    },
    (req) => Response.json({ host: req.headers.get("host"), url: req.url }),
  );
  const port = freePort();
  const dp = new DataPlane({});
  const mk = (caPem: string) =>
    snapshot({
      listeners: [listener("l", port)],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [srv.addr.port], {
        hostRewrite: "backend.internal",
        tls: { sni: "backend.internal", caPem, insecureSkipVerify: false, clientCert: "" },
      })],
    });
  try {
    await dp.apply(mk(pki.caPem));
    const r = await fetch(`http://127.0.0.1:${port}/t`);
    assert.equal(r.status, 200);
    const j = await r.json();
    assert.equal(j.host, "backend.internal");
    await dp.apply(mk(other.caPem));
    const bad = await fetch(`http://127.0.0.1:${port}/t`);
    assert.equal(bad.status, 502);
    assert.match(await bad.text(), /connect/);
  } finally {
    await dp.close();
    ac.abort();
    await srv.finished;
    await Deno.remove(pki.dir, { recursive: true });
    await Deno.remove(other.dir, { recursive: true });
  }
});

Deno.test("h2c upstream: HTTP/1.1 clients reach an HTTP/2-only backend (bodies both ways, chunked re-framing)", async () => {
  const http2 = await import("node:http2");
  const srv = http2.createServer();
  srv.on(
    "stream",
    (
      stream: import("node:http2").ServerHttp2Stream,
      h: import("node:http2").IncomingHttpHeaders,
    ) => {
      let n = 0;
      stream.on("data", (d: Uint8Array) => (n += d.length));
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "text/plain", "x-proto": "h2" });
        stream.write(`path=${h[":path"]} authority=${h[":authority"]} `);
        stream.end(`got=${n}`);
      });
    },
  );
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const up = (srv.address() as { port: number }).port;
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("l", port)],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [up], { protocol: "H2C" })],
    }));
    let r = await fetch(`http://127.0.0.1:${port}/a?b=1`);
    assert.equal(r.headers.get("x-proto"), "h2");
    assert.equal(await r.text(), `path=/a?b=1 authority=127.0.0.1:${port} got=0`);
    r = await fetch(`http://127.0.0.1:${port}/up`, {
      method: "POST",
      body: new Uint8Array(100_000),
    });
    assert.equal(await r.text(), `path=/up authority=127.0.0.1:${port} got=100000`);
  } finally {
    await dp.close();
    srv.close();
  }
});
