import assert from "node:assert/strict";
import { backend, cluster, simpleProxy } from "./_helpers.ts";

function wsBackend() {
  return backend((req) => {
    if (req.headers.get("upgrade") !== "websocket") return new Response("not ws", { status: 400 });
    const protos = (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) =>
      s.trim()
    );
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: protos.includes("chat") ? "chat" : undefined,
    });
    socket.onmessage = (e) => {
      if (e.data === "close-me") socket.close(4001, "asked to close");
      else socket.send(e.data);
    };
    return response;
  });
}

function open(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = (e) => reject(new Error(`ws error ${(e as ErrorEvent).message}`));
  });
}

function next(ws: WebSocket): Promise<MessageEvent> {
  return new Promise((resolve) => (ws.onmessage = (e) => resolve(e)));
}

Deno.test("websocket: subprotocol, text, binary and close codes pass end to end", async () => {
  const b = wsBackend();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, ["chat", "other"]);
    ws.binaryType = "arraybuffer";
    await open(ws);
    assert.equal(ws.protocol, "chat");
    let p = next(ws);
    ws.send("hello");
    assert.equal((await p).data, "hello");
    p = next(ws);
    ws.send(new Uint8Array([1, 2, 3, 250]));
    assert.deepEqual([...new Uint8Array((await p).data as ArrayBuffer)], [1, 2, 3, 250]);
    // a large message
    p = next(ws);
    const big = "x".repeat(300_000);
    ws.send(big);
    assert.equal(((await p).data as string).length, big.length);
    const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
    ws.send("close-me");
    const ev = await closed;
    assert.equal(ev.code, 4001);
    assert.equal(ev.reason, "asked to close");
  } finally {
    await dp.close();
    await b.close();
  }
});

Deno.test("websocket: ping gets a pong through the proxy (raw frames)", async () => {
  const b = wsBackend();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await c.write(new TextEncoder().encode(
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    const buf = new Uint8Array(4096);
    let got = "";
    let raw = new Uint8Array(0);
    while (!got.includes("\r\n\r\n")) {
      const n = await c.read(buf);
      assert.ok(n !== null);
      const nb = new Uint8Array(raw.length + n);
      nb.set(raw);
      nb.set(buf.subarray(0, n), raw.length);
      raw = nb;
      got = new TextDecoder().decode(raw);
    }
    assert.match(got, /^HTTP\/1.1 101/);
    assert.match(got.toLowerCase(), /upgrade: websocket/);
    // masked ping with payload "hi"
    const mask = [1, 2, 3, 4];
    const payload = [..."hi"].map((ch, i) => ch.charCodeAt(0) ^ mask[i % 4]);
    await c.write(new Uint8Array([0x89, 0x80 | 2, ...mask, ...payload]));
    let frame = raw.subarray(got.indexOf("\r\n\r\n") + 4);
    while (frame.length < 4) {
      const n = await c.read(buf);
      assert.ok(n !== null);
      const nb = new Uint8Array(frame.length + n);
      nb.set(frame);
      nb.set(buf.subarray(0, n), frame.length);
      frame = nb;
    }
    assert.equal(frame[0], 0x8a); // FIN + pong
    assert.equal(frame[1], 2);
    assert.equal(new TextDecoder().decode(frame.subarray(2, 4)), "hi");
  } finally {
    c.close();
    await dp.close();
    await b.close();
  }
});

Deno.test("websocket over HTTP/2 (RFC 8441 extended CONNECT) bridges to an HTTP/1.1 upstream", async () => {
  const http2 = await import("node:http2");
  const b = wsBackend();
  const { dp, port } = await simpleProxy([cluster("c", [b.port])]);
  const s = http2.connect(`http://127.0.0.1:${port}`);
  try {
    const settings = await new Promise<{ enableConnectProtocol?: boolean }>((r) =>
      s.once("remoteSettings", r)
    );
    assert.equal(settings.enableConnectProtocol, true);
    const req = s.request({
      ":method": "CONNECT",
      ":protocol": "websocket",
      ":scheme": "http",
      ":path": "/ws",
      ":authority": "x",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": "chat",
    });
    const head = await new Promise<Record<string, unknown>>((r) => req.once("response", r));
    assert.equal(head[":status"], 200);
    assert.equal(head["sec-websocket-protocol"], "chat");
    // masked text frame "hello"
    const mask = [9, 8, 7, 6];
    const payload = [..."hello"].map((ch, i) => ch.charCodeAt(0) ^ mask[i % 4]);
    req.write(new Uint8Array([0x81, 0x80 | 5, ...mask, ...payload]));
    const frame = await new Promise<Uint8Array>((r) =>
      req.once("data", (d: Uint8Array) => r(new Uint8Array(d)))
    );
    assert.equal(frame[0], 0x81);
    assert.equal(frame[1], 5);
    assert.equal(new TextDecoder().decode(frame.subarray(2, 7)), "hello");
    req.close();
  } finally {
    s.close();
    await dp.close();
    await b.close();
  }
});
