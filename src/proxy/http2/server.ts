/**
 * The HTTP/2 engine: our own HTTP/2 server connection (h2/conn.ts) on the
 * accepted socket — h2c prior knowledge after the preface check, or TLS with
 * ALPN "h2" — turning each stream into a ProxyRequest and writing the
 * ProxyResponse back (trailers both ways for gRPC, RFC 8441 WebSockets).
 * NOVAEDGE_H2_ENGINE=node switches to the node:http2 engine (node_server.ts),
 * kept as a fallback (see nodeHttp2For).
 */
import type { Duplex } from "node:stream";
import { Hdrs } from "../core/headers.ts";
import { Cancel, type ProxyRequest, type ProxyResponse } from "../core/types.ts";
import { generated, type SocketConfig } from "../core/proxy.ts";
import { asWebSocketUpgrade, dispatch } from "./request.ts";
import { h2Fields, pipeBody, StreamGone } from "./pipe.ts";
import { nodeHttp2For } from "./fields.ts";
import type { ConnSet } from "../listen/conns.ts";
import { fromNodeSocket, toNodeDuplex } from "../io/node_transport.ts";
import type { Transport } from "../io/transport.ts";
import { H2ServerConn, type H2Stream, type RequestHead } from "../h2/conn.ts";
import { CANCEL, INTERNAL_ERROR } from "../h2/frames.ts";
import { NodeH2Engine } from "./node_server.ts";

/** HTTP/2 for one listening socket (per listener limits). */
export class H2Engine {
  private node: NodeH2Engine | null = null;
  private conns = new Set<H2ServerConn>();

  constructor(
    private config: () => SocketConfig,
    private scheme: "http" | "https",
    private connSet: ConnSet,
    private limits: SocketConfig["limits"],
  ) {
    if (nodeHttp2For("server")) this.node = new NodeH2Engine(config, scheme, connSet, limits);
  }

  /** Starts HTTP/2 on an accepted plain socket; `pre` holds the bytes read so far (the preface). */
  serveTransport(t: Transport, pre: Uint8Array | null, clientIp: string): void {
    if (this.node) this.node.serve(toNodeDuplex(t, pre), clientIp);
    else this.run(t, pre, clientIp);
  }

  /** Starts HTTP/2 on a TLS socket that negotiated "h2". */
  serveNodeSocket(sock: Duplex, clientIp: string): void {
    if (this.node) this.node.serve(sock, clientIp);
    else this.run(fromNodeSocket(sock), null, clientIp);
  }

  /** GOAWAY to every connection (drain). */
  closeSessions(): void {
    this.node?.closeSessions();
    for (const c of this.conns) c.shutdown();
  }

  private run(t: Transport, pre: Uint8Array | null, clientIp: string): void {
    const lim = this.limits;
    const handle = {
      busy: false,
      close: () => conn.shutdown(),
      destroy: () => conn.destroy("closed by the proxy"),
    };
    const conn: H2ServerConn = new H2ServerConn(
      t,
      {
        maxConcurrentStreams: lim.maxConcurrentStreams,
        maxHeaderListSize: lim.maxHeaderBytes,
        maxHeaders: lim.maxHeaders,
        idleTimeoutMs: lim.idleTimeoutMs,
      },
      (st, head) => this.onStream(st, head, clientIp),
      () => {
        this.conns.delete(conn);
        this.connSet.delete(handle);
      },
    );
    // A drain waits for busy connections: one with open streams is busy.
    Object.defineProperty(handle, "busy", { get: () => conn.activeStreams > 0 });
    this.conns.add(conn);
    this.connSet.add(handle);
    if (this.connSet.draining) conn.shutdown();
    conn.run(pre);
  }

  private onStream(st: H2Stream, h: RequestHead, clientIp: string): void {
    const cfg = this.config();
    const start = performance.now();
    // RFC 8441 extended CONNECT for WebSocket: routed and proxied like an
    // HTTP/1.1 GET + Upgrade; the upstream side is a plain HTTP/1.1 upgrade.
    const isWs = h.method === "CONNECT" && h.protocol === "websocket";
    const method = isWs ? "GET" : h.method;
    const hdrs = new Hdrs(h.headers);
    if (isWs) asWebSocketUpgrade(hdrs);
    const cancel = new Cancel();
    let done = false;
    // Cleared (st.onAbort = null) once the response is complete.
    st.onAbort = (reason) => {
      if (!done) cancel.cancel(reason);
    };
    const req: ProxyRequest = {
      method,
      scheme: h.scheme || this.scheme,
      authority: h.authority || (hdrs.get("host") ?? ""),
      target: h.path || "/",
      headers: hdrs,
      httpVersion: "2",
      body: h.endStream || isWs ? null : st.body,
      clientIp,
      cancel,
      upgrade: isWs ? "websocket" : null,
      start,
      neverIndexed: h.neverIndexed,
    };
    let p: Promise<ProxyResponse>;
    if (h.refuse) {
      p = Promise.resolve(generated(cfg, req, h.refuse.status, h.refuse.reason, null));
    } else p = dispatch(cfg, req);
    p.then((res) => writeResponse(st, req, res), () => {
      done = true;
      if (!st.aborted) st.reset(INTERNAL_ERROR, "response failed");
    });
  }
}

/**
 * Writes the response. A body already buffered is written synchronously
 * (pipeBody); a client reset while waiting for the upstream cancels it
 * (st.onAbort stays armed until the response is complete).
 */
function writeResponse(st: H2Stream, req: ProxyRequest, res: ProxyResponse): void {
  if (st.aborted) {
    // The client is gone: release what feeds the body (an upstream connection).
    if (res.body && !(res.body instanceof Uint8Array)) res.body.cancel("client gone");
    return res.finish(0, req.cancel.reason ?? "stream closed");
  }
  if (res.upgraded && res.status === 101) {
    bridgeWebSocket(st, res).then((n) => {
      st.onAbort = null;
      res.finish(n, null);
    }, (e) => res.finish(0, String(e)));
    return;
  }
  const body = res.body;
  const noBody = req.method === "HEAD" || res.status === 204 || res.status === 304;
  // Fields the upstream sent as never indexed go to the client the same way (RFC 7541 §6.2.3).
  const never = res.neverIndexed ?? null;
  let sent: number | Promise<number>;
  if (body === null || noBody) {
    const len = body instanceof Uint8Array ? body.length : -1;
    st.respond(res.status, h2Fields(res.headers.kv, len), true, never);
    if (body && !(body instanceof Uint8Array)) body.cancel("no body allowed");
    sent = 0;
  } else if (body instanceof Uint8Array) {
    st.respond(res.status, h2Fields(res.headers.kv, body.length), body.length === 0, never);
    const w = body.length > 0 ? st.writeEnd(body) : undefined;
    sent = w ? w.then(() => body.length) : body.length;
  } else {
    st.respond(res.status, h2Fields(res.headers.kv, body.length), false, never);
    try {
      sent = pipeBody(st, body);
    } catch (e) {
      sent = Promise.reject(e);
    }
  }
  const done = (bytes: number, error: string | null) => {
    st.onAbort = null;
    const gone = error === null && st.aborted && !st.localClosed;
    res.finish(bytes, gone ? (req.cancel.reason ?? "stream closed") : error);
  };
  if (typeof sent === "number") return done(sent, null);
  sent.then((n) => done(n, null), (e: Error) => {
    if (!st.aborted) st.reset(INTERNAL_ERROR, e.message);
    done(0, e instanceof StreamGone ? (req.cancel.reason ?? e.message) : e.message);
  });
}

/**
 * RFC 8441: answer the extended CONNECT with 200 and splice the HTTP/2 stream
 * with the upgraded HTTP/1.1 upstream socket (WebSocket frames pass as bytes).
 */
async function bridgeWebSocket(st: H2Stream, res: ProxyResponse): Promise<number> {
  const up = res.upgraded!;
  const kv = h2Fields(res.headers.kv, -1).filter((_, i, a) =>
    i % 2 === 0 ? a[i] !== "sec-websocket-accept" : a[i - 1] !== "sec-websocket-accept"
  );
  st.respond(200, kv, false);
  // A reset stream closes the upstream socket, so a pending upstream read ends too.
  const prev = st.onAbort;
  st.onAbort = (reason) => {
    if (prev) prev(reason);
    try {
      up.transport.close();
    } catch {
      // already closed
    }
  };
  let bytes = 0;
  const toUpstream = (async () => {
    try {
      for (;;) {
        const c = await st.body.read();
        if (c === null) break;
        let off = 0;
        while (off < c.length) off += await up.transport.write(c.subarray(off));
      }
      await up.transport.closeWrite().catch(() => {});
    } catch {
      if (!st.aborted) st.reset(CANCEL, "upstream write failed");
    }
  })();
  const fromUpstream = (async () => {
    const r = up.reader;
    if (r.available > 0) {
      const c = r.takeAll();
      bytes += c.length;
      const w = st.write(c.slice());
      if (w) await w;
    }
    const buf = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = r.reading ? await r.fill(1 << 20, false) : await up.transport.read(buf);
      } catch {
        n = null;
      }
      if (n === null || st.aborted) break;
      const c = r.available > 0 ? r.takeAll() : buf.subarray(0, n);
      bytes += c.length;
      const w = st.write(c);
      if (w) await w;
    }
    if (!st.aborted) {
      const w = st.end(null);
      if (w) await w;
    }
  })();
  await Promise.all([toUpstream, fromUpstream]);
  try {
    up.transport.close();
  } catch {
    // closed
  }
  up.done();
  return bytes;
}
