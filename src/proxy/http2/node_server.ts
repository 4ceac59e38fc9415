/**
 * The fallback HTTP/2 engine (NOVAEDGE_H2_ENGINE=node; the default is our own,
 * http2/server.ts + h2/): node:http2 sessions run over sockets we accepted
 * ourselves (h2c prior knowledge after the preface check, or TLS with ALPN
 * "h2"). node:http2 is used because it carries trailers both ways, which
 * gRPC needs and Deno.serve cannot give. Stream limits come from the
 * listener's limits (SETTINGS_MAX_CONCURRENT_STREAMS, header list size).
 */
import * as http2 from "node:http2";
import { Buffer } from "node:buffer";
import type { Duplex } from "node:stream";
import { Hdrs } from "../core/headers.ts";
import { Cancel, type ProxyRequest, type ProxyResponse } from "../core/types.ts";
import type { SocketConfig } from "../core/proxy.ts";
import { asWebSocketUpgrade, dispatch } from "./request.ts";
import { markSensitive, NOT_ON_H2, sensitiveNames } from "./fields.ts";
import { NodeBody } from "../io/node_body.ts";
import type { ConnSet } from "../listen/conns.ts";
import { drainOrClose } from "../io/node_transport.ts";

/** One node:http2 server object (not bound to a port) per listener limits. */
export class NodeH2Engine {
  readonly server: http2.Http2Server;
  private nextIp = "";
  private sessions = new Set<http2.ServerHttp2Session>();

  constructor(
    private config: () => SocketConfig,
    private scheme: "http" | "https",
    private conns: ConnSet,
    limits: SocketConfig["limits"],
  ) {
    this.server = http2.createServer({
      settings: {
        maxConcurrentStreams: limits.maxConcurrentStreams,
        maxHeaderListSize: limits.maxHeaderBytes,
        // RFC 8441: WebSocket over HTTP/2 via extended CONNECT.
        enableConnectProtocol: true,
      },
      maxHeaderListPairs: limits.maxHeaders + 8,
      maxSessionMemory: 64,
    });
    this.server.on("session", (session: http2.ServerHttp2Session) => {
      const ip = this.nextIp;
      (session as unknown as { neClientIp: string }).neClientIp = ip;
      this.sessions.add(session);
      const handle = {
        busy: false,
        close: () => {
          if (!session.closed) session.close();
        },
        destroy: () => {
          if (!session.destroyed) session.destroy();
        },
      };
      this.conns.add(handle);
      session.on("close", () => {
        this.sessions.delete(session);
        this.conns.delete(handle);
      });
      session.on("error", () => {});
      // Idle sessions are closed by the listener's idle timeout.
      session.setTimeout(this.config().limits.idleTimeoutMs, () => {
        if (!session.closed) session.close();
      });
      if (this.conns.draining) session.close();
    });
    this.server.on(
      "stream",
      (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
        this.onStream(stream, headers);
      },
    );
  }

  /** Starts an HTTP/2 session on an accepted socket. */
  serve(socket: Duplex, clientIp: string): void {
    this.nextIp = clientIp;
    this.server.emit("connection", socket);
  }

  /** GOAWAY to every session (drain). */
  closeSessions(): void {
    for (const s of this.sessions) if (!s.closed) s.close();
  }

  private onStream(stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders): void {
    const cfg = this.config();
    const start = performance.now();
    const rawMethod = String(h[":method"] ?? "GET");
    // RFC 8441 extended CONNECT for WebSocket: routed and proxied like an
    // HTTP/1.1 GET + Upgrade; the upstream side is a plain HTTP/1.1 upgrade.
    const isWs = rawMethod === "CONNECT" && h[":protocol"] === "websocket";
    const method = isWs ? "GET" : rawMethod;
    const hdrs = new Hdrs();
    for (const [k, v] of Object.entries(h)) {
      if (k.charCodeAt(0) === 58 || v === undefined) continue;
      if (Array.isArray(v)) { for (const x of v) hdrs.append(k, x); }
      else hdrs.append(k, String(v));
    }
    const authority = String(h[":authority"] ?? h["host"] ?? "");
    const cancel = new Cancel();
    let done = false;
    stream.on("close", () => {
      if (!done) cancel.cancel("client reset the stream");
    });
    stream.on("error", () => {});
    const cl = h["content-length"] !== undefined ? Number(h["content-length"]) : -1;
    if (isWs) asWebSocketUpgrade(hdrs);
    const hasBody = !stream.endAfterHeaders && !isWs;
    // Abandoning the request body must not reset the stream before the
    // answer is out; the stream is closed (NO_ERROR) after the response.
    let bodyAbandoned = false;
    const body = hasBody
      ? new NodeBody(stream, Number.isFinite(cl) ? cl : -1, () => {
        bodyAbandoned = true;
      })
      : null;
    const session = stream.session as unknown as { neClientIp?: string } | undefined;
    const req: ProxyRequest = {
      method,
      scheme: String(h[":scheme"] ?? this.scheme),
      authority,
      target: String(h[":path"] ?? "/"),
      headers: hdrs,
      httpVersion: "2",
      body,
      clientIp: session?.neClientIp ?? "",
      cancel,
      upgrade: isWs ? "websocket" : null,
      start,
      neverIndexed: sensitiveNames(h, http2.sensitiveHeaders),
    };
    dispatch(cfg, req).then((res) => writeH2(stream, req, res))
      .then(() => {
        done = true;
        if (bodyAbandoned && !stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      }, () => {
        done = true;
      });
  }
}

async function writeH2(
  stream: http2.ServerHttp2Stream,
  req: ProxyRequest,
  res: ProxyResponse,
): Promise<void> {
  let bytes = 0;
  let error: string | null = null;
  try {
    if (stream.closed || stream.destroyed) throw new Error(req.cancel.reason ?? "stream closed");
    const out: http2.OutgoingHttpHeaders = { ":status": res.status };
    const kv = res.headers.kv;
    for (let i = 0; i < kv.length; i += 2) {
      const n = kv[i];
      if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58) continue;
      const prev = out[n];
      if (prev === undefined) out[n] = kv[i + 1];
      else if (Array.isArray(prev)) prev.push(kv[i + 1]);
      else out[n] = [String(prev), kv[i + 1]];
    }
    markSensitive(out, http2.sensitiveHeaders, res.neverIndexed ?? null);
    if (res.upgraded && res.status === 101) {
      bytes = await bridgeWebSocket(stream, out, res);
      res.finish(bytes, null);
      return;
    }
    const body = res.body;
    const noBody = req.method === "HEAD" || res.status === 204 || res.status === 304;
    if (body === null || noBody) {
      if (body instanceof Uint8Array) out["content-length"] = String(body.length);
      stream.respond(out, { endStream: true });
      if (body && !(body instanceof Uint8Array)) body.cancel("no body allowed");
    } else if (body instanceof Uint8Array) {
      out["content-length"] = String(body.length);
      stream.respond(out);
      stream.end(Buffer.from(body));
      bytes = body.length;
    } else {
      const ct = res.headers.get("content-type") ?? "";
      const wantTrailers = ct.startsWith("application/grpc") || res.headers.has("trailer");
      if (body.length >= 0) out["content-length"] = String(body.length);
      stream.respond(out, { waitForTrailers: wantTrailers });
      if (wantTrailers) {
        stream.once("wantTrailers", () => {
          const t = body.trailers();
          const th: http2.OutgoingHttpHeaders = {};
          if (t) {
            for (let i = 0; i < t.kv.length; i += 2) {
              if (!NOT_ON_H2.has(t.kv[i])) th[t.kv[i]] = t.kv[i + 1];
            }
          }
          try {
            stream.sendTrailers(th);
          } catch {
            // stream gone
          }
        });
      }
      for (;;) {
        let c: Uint8Array | null;
        try {
          c = await body.read();
        } catch (e) {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
          throw e;
        }
        if (c === null) break;
        if (stream.closed || stream.destroyed) {
          body.cancel("client gone");
          throw new Error(req.cancel.reason ?? "stream closed");
        }
        bytes += c.length;
        if (!stream.write(Buffer.from(c))) {
          await drainOrClose(stream);
        }
      }
      stream.end();
    }
  } catch (e) {
    error = (e as Error).message;
  }
  res.finish(bytes, error);
}

/**
 * RFC 8441: answer the extended CONNECT with 200 and splice the HTTP/2 stream
 * with the upgraded HTTP/1.1 upstream socket (WebSocket frames pass as bytes).
 */
async function bridgeWebSocket(
  stream: http2.ServerHttp2Stream,
  out: http2.OutgoingHttpHeaders,
  res: ProxyResponse,
): Promise<number> {
  const up = res.upgraded!;
  out[":status"] = 200;
  delete out["sec-websocket-accept"];
  stream.respond(out);
  let bytes = 0;
  const toUpstream = new Promise<void>((resolve) => {
    stream.on("data", (d: Uint8Array) => {
      stream.pause();
      let off = 0;
      const chunk = new Uint8Array(d);
      (async () => {
        while (off < chunk.length) off += await up.transport.write(chunk.subarray(off));
      })().then(() => stream.resume(), () => {
        stream.destroy();
        resolve();
      });
    });
    stream.on("end", () => {
      up.transport.closeWrite().catch(() => {}).finally(resolve);
    });
    stream.on("close", () => resolve());
  });
  const fromUpstream = (async () => {
    const r = up.reader;
    if (r.available > 0) {
      const c = r.takeAll();
      bytes += c.length;
      stream.write(Buffer.from(c));
    }
    const buf = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = r.reading ? await r.fill(1 << 20, false) : await up.transport.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      const c = r.available > 0 ? r.takeAll() : buf.subarray(0, n);
      bytes += c.length;
      if (stream.destroyed) break;
      if (!stream.write(Buffer.from(c))) {
        await drainOrClose(stream);
      }
    }
    if (!stream.destroyed) stream.end();
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
