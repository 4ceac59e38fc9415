/**
 * Upstream response heads forwarded byte for byte (scanResponseHead → the
 * engine's raw write) and the cases that must still take the parsed path.
 */
import assert from "node:assert/strict";
import { cluster, rawExchange, route, simpleProxy } from "../_helpers.ts";
import { connect as h2connect } from "node:http2";

/** A keep-alive backend answering requests with `responses` verbatim, in turn. */
function rawBackend(...responses: string[]): { port: number; close(): void } {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const all = responses.map((r) => new TextEncoder().encode(r));
  let turn = 0;
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const c of l) {
      conns.add(c);
      (async () => {
        const buf = new Uint8Array(16384);
        let seen = "";
        try {
          for (;;) {
            const n = await c.read(buf);
            if (n === null) break;
            seen += new TextDecoder().decode(buf.subarray(0, n));
            while (seen.includes("\r\n\r\n")) {
              seen = seen.slice(seen.indexOf("\r\n\r\n") + 4);
              await c.write(all[turn++ % all.length]);
            }
          }
        } catch { /* closed */ }
        conns.delete(c);
      })();
    }
  })().catch(() => {});
  return {
    port: (l.addr as Deno.NetAddr).port,
    close() {
      l.close();
      for (const c of conns) c.close();
    },
  };
}

function headOf(out: string): string[] {
  return out.slice(0, out.indexOf("\r\n\r\n")).split("\r\n");
}

Deno.test("raw response: header lines pass as sent, framing and hop-by-hop ours", async () => {
  const b = rawBackend(
    "HTTP/1.1 200 OK\r\nX-Mixed-Case: Value  with  spaces\r\nKeep-Alive: timeout=5\r\n" +
      "Connection: keep-alive\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nok",
  );
  const { dp, port } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    const out = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const lines = headOf(out);
    assert.equal(lines[0], "HTTP/1.1 200 OK");
    assert.ok(lines.includes("X-Mixed-Case: Value  with  spaces"), out);
    assert.deepEqual(lines.filter((l) => /^set-cookie:/i.test(l)), [
      "Set-Cookie: a=1",
      "Set-Cookie: b=2",
    ]);
    assert.equal(lines.filter((l) => /^keep-alive:/i.test(l)).length, 0, out);
    assert.deepEqual(lines.filter((l) => /^content-length:/i.test(l)), ["content-length: 2"]);
    assert.deepEqual(lines.filter((l) => /^connection:/i.test(l)), ["connection: close"]);
    assert.equal(out.slice(out.indexOf("\r\n\r\n") + 4), "ok");
  } finally {
    await dp.close();
    b.close();
  }
});

Deno.test("raw response: a Connection list naming fields still removes them (parsed path)", async () => {
  const b = rawBackend(
    "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nX-Kept: 1\r\n" +
      "Content-Length: 2\r\n\r\nok",
  );
  const { dp, port } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    const out = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const lines = headOf(out);
    assert.ok(lines.includes("x-kept: 1"), out);
    assert.equal(lines.filter((l) => /^x-hop:/i.test(l)).length, 0, out);
  } finally {
    await dp.close();
    b.close();
  }
});

Deno.test("raw response: response header filters still apply (parsed path)", async () => {
  const b = rawBackend("HTTP/1.1 200 OK\r\nX-Drop: 1\r\nX-Keep: 2\r\nContent-Length: 2\r\n\r\nok");
  const { dp, port } = await simpleProxy(
    [cluster("c1", [b.port])],
    [route("r1", ["c1"], {
      filters: [{
        type: "ResponseHeaderModifier",
        responseHeaderModifier: {
          set: [{ name: "X-Set", value: "v" }],
          add: [],
          remove: ["x-drop"],
        },
      }],
    })],
  );
  try {
    const out = await rawExchange(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    const lines = headOf(out);
    assert.ok(lines.includes("x-keep: 2"), out);
    assert.ok(lines.includes("x-set: v"), out);
    assert.equal(lines.filter((l) => /^x-drop:/i.test(l)).length, 0, out);
  } finally {
    await dp.close();
    b.close();
  }
});

Deno.test("raw response: an HTTP/2 client gets the same headers, lowercased", async () => {
  const b = rawBackend(
    "HTTP/1.1 201 Created\r\nX-Mixed-Case: V\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
  );
  const { dp, url } = await simpleProxy([cluster("c1", [b.port])]);
  const client = h2connect(url);
  try {
    const { headers, body } = await new Promise<
      { headers: Record<string, unknown>; body: string }
    >((resolve, reject) => {
      const s = client.request({ ":path": "/", ":method": "GET" });
      let headers: Record<string, unknown> = {};
      let body = "";
      s.on("response", (h) => headers = h as Record<string, unknown>);
      s.setEncoding("utf8");
      s.on("data", (d: string) => body += d);
      s.on("end", () => resolve({ headers, body }));
      s.on("error", reject);
      s.end();
    });
    assert.equal(headers[":status"], 201);
    assert.equal(headers["x-mixed-case"], "V");
    assert.equal(headers["keep-alive"], undefined);
    assert.equal(body, "ok");
  } finally {
    client.close();
    await dp.close();
    b.close();
  }
});

Deno.test("raw response: a reused upstream connection forwards each response's own lines", async () => {
  const b = rawBackend(
    "HTTP/1.1 200 OK\r\nX-First: one-long-value-here\r\nX-Extra: e\r\nContent-Length: 1\r\n\r\na",
    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-Second: 2\r\nContent-Length: 1\r\n\r\nb",
  );
  const { dp, port } = await simpleProxy([cluster("c1", [b.port])]);
  try {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const got: string[] = [];
    const buf = new Uint8Array(4096);
    for (let i = 0; i < 4; i++) {
      await c.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
      let text = "";
      while (!/\r\n\r\n[ab]$/.test(text)) {
        const n = await c.read(buf);
        if (n === null) throw new Error(`closed after ${JSON.stringify(text)}`);
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      got.push(text);
    }
    c.close();
    for (const [i, text] of got.entries()) {
      const lines = headOf(text);
      if (i % 2 === 0) {
        assert.deepEqual(lines.slice(1, 3), ["X-First: one-long-value-here", "X-Extra: e"], text);
        assert.ok(text.endsWith("\r\n\r\na"));
      } else {
        assert.deepEqual(lines.slice(1, 2), ["X-Second: 2"], text);
        assert.equal(lines.filter((l) => /^x-(first|extra)/i.test(l)).length, 0, text);
        assert.ok(text.endsWith("\r\n\r\nb"));
      }
    }
  } finally {
    await dp.close();
    b.close();
  }
});
