/**
 * The HTTP/2 engine through the whole data plane with real clients: h2load
 * (many multiplexed streams, h2c and TLS), a multi-MiB upload and download
 * past the flow-control windows, and the header limits answered 431.
 */
import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import {
  backend,
  cluster,
  echoBackend,
  freePort,
  limits,
  listener,
  route,
  simpleProxy,
  snapshot,
} from "../_helpers.ts";
import { curl, makePki } from "../_tls.ts";

async function h2load(args: string[]): Promise<{ ok: number; text: string }> {
  const out = await new Deno.Command("h2load", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  const m = /status codes: (\d+) 2xx/.exec(text);
  return { ok: Number(m?.[1] ?? 0), text };
}

Deno.test("h2 engine: h2load with 10 streams per connection, h2c and TLS", async () => {
  const b = echoBackend("load");
  const pki = await makePki();
  const leaf = await pki.leaf("cert", ["localhost"]);
  const plain = freePort();
  const tls = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [
        listener("plain", plain),
        listener("https", tls, {
          protocol: "HTTPS",
          tls: { mode: "Terminate", certificates: ["cert"], minVersion: "1.2", alpn: [] },
        }),
      ],
      routes: [route("r", ["c"])],
      clusters: [cluster("c", [b.port])],
      secrets: [leaf],
    }));
    const a = await h2load(["-n", "600", "-c", "3", "-m", "10", `http://127.0.0.1:${plain}/x`]);
    assert.equal(a.ok, 600, a.text);
    const t = await h2load(["-n", "300", "-c", "2", "-m", "10", `https://127.0.0.1:${tls}/y`]);
    assert.equal(t.ok, 300, t.text);
    assert.match(t.text, /Application protocol: h2/);
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("h2 engine: 3 MiB up and 3 MiB down past the flow-control windows", async () => {
  const size = 3 * 1024 * 1024;
  const b = backend(async (req) => {
    if (req.method === "POST") {
      const n = (await req.arrayBuffer()).byteLength;
      return new Response(String(n));
    }
    return new Response(new Uint8Array(size).fill(97));
  });
  const { dp, url } = await simpleProxy([cluster("c", [b.port])]);
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, new Uint8Array(size).fill(98));
    let r = await curl(["--http2-prior-knowledge", "--data-binary", `@${file}`, `${url}/up`]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, String(size));
    r = await curl([
      "--http2-prior-knowledge",
      "-o",
      file,
      "-w",
      "%{size_download}",
      `${url}/down`,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, String(size));
  } finally {
    await Deno.remove(file);
    await dp.close();
    await b.close();
  }
});

Deno.test("h2 engine: too many or too large header fields are answered 431 with a reason", async () => {
  const b = echoBackend("limits");
  const { dp, url } = await simpleProxy([cluster("c", [b.port])], undefined, {
    limits: limits({ maxHeaders: 10, maxHeaderBytes: 2048 }),
  });
  try {
    const many = Array.from({ length: 12 }, (_, i) => ["-H", `x-h${i}: v`]).flat();
    let r = await curl(["-sS", "-v", "--http2-prior-knowledge", ...many, `${url}/a`]);
    assert.match(r.err, /< HTTP\/2 431/);
    assert.match(r.out, /header fields exceed the 10 allowed/);
    r = await curl([
      "-sS",
      "-v",
      "--http2-prior-knowledge",
      "-H",
      `x-big: ${"b".repeat(3000)}`,
      `${url}/b`,
    ]);
    assert.match(r.err, /< HTTP\/2 431/);
    assert.match(r.out, /exceeds the 2048 allowed/);
    // The connection and its HPACK state survive: a normal request still works.
    r = await curl(["-sS", "-v", "--http2-prior-knowledge", `${url}/c`]);
    assert.match(r.err, /< HTTP\/2 200/);
  } finally {
    await dp.close();
    await b.close();
  }
});
