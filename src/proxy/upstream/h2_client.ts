/**
 * HTTP/2 upstream client, one multiplexed connection per endpoint, re-dialled
 * when it closes or receives GOAWAY; trailers are forwarded (what gRPC needs
 * and fetch() loses). Our own HTTP/2 client (h2/client.ts) runs on
 * Deno.connect for h2c and on node:tls (the endpoint's CA, SNI, client
 * certificate and SAN check, ALPN h2) for TLS; NOVAEDGE_H2_ENGINE=node or
 * node-client switches to node:http2 sessions.
 */
import * as http2 from "node:http2";
import * as tls from "node:tls";
import { Buffer } from "node:buffer";
import { Hdrs } from "../core/headers.ts";
import type { BodyReader, Cancel } from "../core/types.ts";
import { NodeBody } from "../io/node_body.ts";
import {
  type BreakerGate,
  type EndpointConfig,
  type OutboundRequest,
  UpstreamError,
  type UpstreamResponse,
} from "./types.ts";
import { drainOrClose, fromNodeSocket } from "../io/node_transport.ts";
import type { Transport } from "../io/transport.ts";
import { type ClientStream, H2ClientConn, type Refable } from "../h2/client.ts";
import { CANCEL } from "../h2/frames.ts";
import { markSensitive, nodeHttp2For, NOT_ON_H2, sensitiveNames } from "../http2/fields.ts";
import { pipeBody } from "../http2/pipe.ts";

import { nodeTlsOptions } from "./tls_identity.ts";

type Session = http2.ClientHttp2Session;

/** The circuit-breaker gate of the HTTP/2 client (see BreakerGate). */
export type StreamGate = BreakerGate;

/** `p`, or an UpstreamError "cancelled" as soon as `cancel` fires. */
function unlessCancelled<T>(p: Promise<T>, cancel: Cancel): Promise<T> {
  if (cancel.cancelled) {
    p.catch(() => {});
    return Promise.reject(new UpstreamError("cancelled", cancel.reason ?? "cancelled", true));
  }
  return new Promise<T>((resolve, reject) => {
    const off = cancel.on(() => {
      p.catch(() => {});
      reject(new UpstreamError("cancelled", cancel.reason ?? "cancelled", true));
    });
    p.then((v) => {
      off();
      resolve(v);
    }, (e) => {
      off();
      reject(e);
    });
  });
}

/** Runs one of each connection's close hooks at most once. */
function once(f: (() => void) | null): () => void {
  let g = f;
  return () => {
    const h = g;
    g = null;
    h?.();
  };
}

export class H2Client {
  private session: Session | null = null;
  private connecting: Promise<Session> | null = null;
  private own: H2ClientConn | null = null;
  private ownConnecting: Promise<H2ClientConn> | null = null;
  private readonly useOwn: boolean;
  closed = false;

  constructor(readonly cfg: EndpointConfig) {
    this.useOwn = !nodeHttp2For("client");
  }

  private connectOwn(gate: StreamGate | null): Promise<H2ClientConn> {
    const cur = this.own;
    if (cur && cur.usable) return Promise.resolve(cur);
    if (this.ownConnecting) return this.ownConnecting;
    if (gate !== null && !gate.mayOpen()) {
      return Promise.reject(new UpstreamError("overflow", gate.openRefusal(), false));
    }
    // The connection's count goes back when it closes (or the dial fails).
    const uncount = once(gate && (() => gate.closed()));
    const cfg = this.cfg;
    const timeout = cfg.connectTimeoutMs > 0 ? cfg.connectTimeoutMs : 5000;
    this.ownConnecting = (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const dial = cfg.tls ? dialTls(cfg) : dialTcp(cfg);
      let link: { t: Transport; refs: Refable };
      try {
        link = await Promise.race([
          dial,
          new Promise<never>((_, rej) => {
            timer = setTimeout(
              () => rej(new Error(`timed out after ${timeout} ms`)),
              timeout,
            );
          }),
        ]);
      } catch (e) {
        uncount();
        dial.then((late) => late.t.close(), () => {});
        throw new UpstreamError(
          "connect",
          `connect to ${cfg.host}:${cfg.port} failed: ${(e as Error).message}`,
          false,
        );
      } finally {
        clearTimeout(timer);
      }
      const conn: H2ClientConn = new H2ClientConn(
        link.t,
        cfg.idleTimeoutMs > 0 ? cfg.idleTimeoutMs : 60_000,
        () => {
          if (this.own === conn) this.own = null;
          uncount();
        },
        link.refs,
      );
      link.refs.unref();
      conn.start();
      this.own = conn;
      return conn;
    })().finally(() => {
      this.ownConnecting = null;
    });
    return this.ownConnecting;
  }

  private exchangeOwn(
    req: OutboundRequest,
    cancel: Cancel,
    gate: StreamGate | null,
  ): Promise<UpstreamResponse> {
    const c = this.own;
    // The common case — a connected session with room — opens the stream without a wait.
    if (c && c.usable && !c.full) return this.sendOwn(c, req, cancel);
    return this.connectThenSend(req, cancel, gate);
  }

  /** A request that waits (a pending request) for the connection or for a stream slot. */
  private async connectThenSend(
    req: OutboundRequest,
    cancel: Cancel,
    gate: StreamGate | null,
  ): Promise<UpstreamResponse> {
    if (gate !== null && !gate.enterPending()) {
      throw new UpstreamError("overflow", gate.pendingRefusal(), false);
    }
    let conn: H2ClientConn;
    try {
      conn = await unlessCancelled(this.connectOwn(gate), cancel);
      while (conn.full || !conn.usable) {
        if (conn.usable) await this.slot(conn, cancel);
        if (!conn.usable) conn = await unlessCancelled(this.connectOwn(gate), cancel);
      }
    } finally {
      gate?.leavePending();
    }
    return await this.sendOwn(conn, req, cancel);
  }

  private sendOwn(
    conn: H2ClientConn,
    req: OutboundRequest,
    cancel: Cancel,
  ): Promise<UpstreamResponse> {
    const kv = [":method", req.method, ":scheme", req.scheme, ":authority", req.authority];
    kv.push(":path", req.target);
    const h = req.headers.kv;
    const body = req.body;
    const setLength = body !== null && body.length >= 0;
    for (let i = 0; i < h.length; i += 2) {
      const n = h[i];
      if (n.charCodeAt(0) === 58 || NOT_ON_H2.has(n)) continue;
      if (n === "te" && h[i + 1] !== "trailers") continue;
      if (setLength && n === "content-length") continue;
      kv.push(n, h[i + 1]);
    }
    if (setLength) kv.push("content-length", String(body.length));
    const st: ClientStream = conn.open(kv, body === null, req.neverIndexed ?? null);
    const off = cancel.on(() => {
      if (!st.aborted) st.reset(CANCEL, cancel.reason ?? "cancelled");
    });
    st.onDone = off;
    if (body) pumpBody(st, body);
    return st.head.then((head): UpstreamResponse => {
      st.body.onCancel = () => {
        if (!st.aborted && !st.remoteClosed) st.reset(CANCEL, "response body abandoned");
      };
      return {
        status: head.status,
        headers: new Hdrs(head.headers),
        body: head.endStream ? null : st.body,
        neverIndexed: head.neverIndexed,
      };
    }, (e: Error) => {
      off();
      if (cancel.cancelled) {
        throw new UpstreamError("cancelled", cancel.reason ?? "cancelled", true);
      }
      throw new UpstreamError("reset", e.message, !st.refused);
    });
  }

  /** Requests waiting for a stream slot, first come first served. */
  private slotQueue: (() => void)[] = [];
  /** The connection whose next free slot is being waited for (one wait at a time). */
  private watched: H2ClientConn | null = null;

  /**
   * Resolves when `conn` has had a stream close (or closed itself); rejects
   * when `cancel` fires. Our own queue in front of the connection's: the
   * connection wakes one waiter per closed stream, so a waiter that left
   * (cancelled) must not be the one it wakes.
   */
  private slot(conn: H2ClientConn, cancel: Cancel): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Called only later (the connection's wake-up), after `off` is set.
      const w = () => {
        off();
        resolve();
      };
      this.slotQueue.push(w);
      const off = cancel.on(() => {
        const i = this.slotQueue.indexOf(w);
        if (i >= 0) this.slotQueue.splice(i, 1);
        reject(new UpstreamError("cancelled", cancel.reason ?? "cancelled", true));
      });
      this.watchSlot(conn);
    });
  }

  private watchSlot(conn: H2ClientConn): void {
    if (this.watched === conn) return;
    this.watched = conn;
    conn.slot().then(() => {
      if (this.watched === conn) this.watched = null;
      const q = this.slotQueue;
      if (!conn.usable) {
        // Gone: everyone looks again (another connection).
        this.slotQueue = [];
        for (const w of q) w();
        return;
      }
      q.shift()?.();
      if (q.length > 0) this.watchSlot(conn);
    });
  }

  private connect(gate: StreamGate | null): Promise<Session> {
    if (this.session && !this.session.closed && !this.session.destroyed) {
      return Promise.resolve(this.session);
    }
    if (this.connecting) return this.connecting;
    if (gate !== null && !gate.mayOpen()) {
      return Promise.reject(new UpstreamError("overflow", gate.openRefusal(), false));
    }
    const uncount = once(gate && (() => gate.closed()));
    const cfg = this.cfg;
    const timeout = cfg.connectTimeoutMs > 0 ? cfg.connectTimeoutMs : 5000;
    const host = cfg.host.includes(":") ? `[${cfg.host}]` : cfg.host;
    const url = `${cfg.tls ? "https" : "http"}://${host}:${cfg.port}`;
    const opts: http2.SecureClientSessionOptions = {};
    if (cfg.tls) Object.assign(opts, nodeTlsOptions(cfg.tls, cfg.host, cfg.port));
    this.connecting = new Promise<Session>((resolve, reject) => {
      const s = http2.connect(url, opts);
      const timer = setTimeout(() => {
        s.destroy();
        uncount();
        reject(
          new UpstreamError(
            "connect",
            `connect to ${cfg.host}:${cfg.port} timed out after ${timeout} ms`,
            false,
          ),
        );
      }, timeout);
      s.once("connect", () => {
        clearTimeout(timer);
        this.session = s;
        resolve(s);
      });
      // A session error after connect must never become an uncaught exception:
      // streams report their own failures, and the session is re-dialled.
      s.on("error", () => {
        if (this.session === s) this.session = null;
      });
      s.once("error", (e: Error) => {
        clearTimeout(timer);
        uncount();
        if (this.session === s) this.session = null;
        reject(
          new UpstreamError(
            "connect",
            `connect to ${cfg.host}:${cfg.port} failed: ${e.message}`,
            false,
          ),
        );
      });
      const drop = () => {
        if (this.session === s) this.session = null;
      };
      s.on("close", () => {
        drop();
        uncount();
      });
      s.on("goaway", drop);
      // An idle session must not keep the process alive.
      s.unref();
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** One exchange; `gate` applies the cluster's connection and pending-request limits. */
  exchange(
    req: OutboundRequest,
    cancel: Cancel,
    gate: StreamGate | null = null,
  ): Promise<UpstreamResponse> {
    return this.useOwn ? this.exchangeOwn(req, cancel, gate) : this.exchangeNode(req, cancel, gate);
  }

  /** The node:http2 session, counting the request as pending while it is set up. */
  private async nodeSession(cancel: Cancel, gate: StreamGate | null): Promise<Session> {
    const cur = this.session;
    if (cur && !cur.closed && !cur.destroyed) return cur;
    if (gate !== null && !gate.enterPending()) {
      throw new UpstreamError("overflow", gate.pendingRefusal(), false);
    }
    try {
      return await unlessCancelled(this.connect(gate), cancel);
    } finally {
      gate?.leavePending();
    }
  }

  private async exchangeNode(
    req: OutboundRequest,
    cancel: Cancel,
    gate: StreamGate | null,
  ): Promise<UpstreamResponse> {
    const s = await this.nodeSession(cancel, gate);
    s.ref();
    const headers: http2.OutgoingHttpHeaders = {
      ":method": req.method,
      ":path": req.target,
      ":scheme": req.scheme,
      ":authority": req.authority,
    };
    const kv = req.headers.kv;
    for (let i = 0; i < kv.length; i += 2) {
      const n = kv[i];
      if (n.charCodeAt(0) === 58 || NOT_ON_H2.has(n)) continue;
      const prev = headers[n];
      if (prev === undefined) headers[n] = kv[i + 1];
      else if (Array.isArray(prev)) prev.push(kv[i + 1]);
      else headers[n] = [String(prev), kv[i + 1]];
    }
    if (req.body && req.body.length >= 0) headers["content-length"] = String(req.body.length);
    markSensitive(headers, http2.sensitiveHeaders, req.neverIndexed ?? null);
    let stream: http2.ClientHttp2Stream;
    try {
      stream = s.request(headers, { endStream: req.body === null });
    } catch (e) {
      throw new UpstreamError("reset", `upstream session unusable: ${(e as Error).message}`, false);
    }
    const off = cancel.on(() => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
    });
    const body = req.body;
    if (body) {
      (async () => {
        for (;;) {
          const chunk = await body.read();
          if (chunk === null) break;
          if (stream.destroyed) return;
          if (!stream.write(Buffer.from(chunk))) {
            await drainOrClose(stream);
          }
        }
        stream.end();
      })().catch(() => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      });
    }
    return await new Promise<UpstreamResponse>((resolve, reject) => {
      let settled = false;
      stream.once("response", (h: http2.IncomingHttpHeaders, flags: number) => {
        settled = true;
        const status = Number(h[":status"]);
        const out = new Hdrs();
        for (const [k, v] of Object.entries(h)) {
          if (k.charCodeAt(0) === 58 || v === undefined) continue;
          if (Array.isArray(v)) { for (const x of v) out.append(k, x); }
          else out.append(k, String(v));
        }
        const endStream = (flags & 0x1) !== 0 || stream.readableEnded;
        const cl = Number(h["content-length"] ?? -1);
        const nb = new NodeBody(stream, Number.isFinite(cl) ? cl : -1, () => {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        });
        stream.once("trailers", (t: http2.IncomingHttpHeaders) => {
          const th = new Hdrs();
          for (const [k, v] of Object.entries(t)) {
            if (v === undefined || k.charCodeAt(0) === 58) continue;
            if (Array.isArray(v)) { for (const x of v) th.append(k, x); }
            else th.append(k, String(v));
          }
          nb.trail = th;
        });
        stream.once("close", () => {
          off();
          if (s.listenerCount("stream") === 0) s.unref();
        });
        // Trailers-only (gRPC errors): no body, so the client side answers
        // with one HEADERS frame carrying END_STREAM as well.
        resolve({
          status,
          headers: out,
          body: endStream ? null : nb,
          neverIndexed: sensitiveNames(h, http2.sensitiveHeaders),
        });
      });
      const fail = (why: string, code?: number) => {
        if (settled) return;
        settled = true;
        off();
        const refused = code === http2.constants.NGHTTP2_REFUSED_STREAM;
        if (cancel.cancelled) {
          reject(new UpstreamError("cancelled", cancel.reason ?? "cancelled", true));
        } else reject(new UpstreamError("reset", why, !refused));
      };
      stream.once("error", (e: Error) => fail(`upstream stream error: ${e.message}`));
      stream.once(
        "close",
        () => fail(`upstream closed the stream (code ${stream.rstCode})`, stream.rstCode),
      );
    });
  }

  close(): void {
    this.closed = true;
    this.own?.shutdown();
    this.own = null;
    const s = this.session;
    this.session = null;
    if (s && !s.closed) s.close();
  }
}

/** Streams a request body (and its trailers) onto an upstream stream. */
function pumpBody(st: ClientStream, body: BodyReader): void {
  const fail = (e: Error) => {
    if (!st.aborted) st.reset(CANCEL, `request body failed: ${e.message}`);
  };
  try {
    const r = pipeBody(st, body);
    if (typeof r !== "number") r.catch(fail);
  } catch (e) {
    fail(e as Error);
  }
}

/** h2c: a plain TCP connection. */
async function dialTcp(cfg: EndpointConfig): Promise<{ t: Transport; refs: Refable }> {
  const c = await Deno.connect({ hostname: cfg.host, port: cfg.port });
  // Several frames per exchange: Nagle would hold them for the peer's delayed ACK.
  c.setNoDelay(true);
  return { t: c, refs: c };
}

/**
 * h2 over TLS: node:tls with the endpoint's identity options (CA, SNI, client
 * certificate, SAN check — upstream/tls_identity.ts) and ALPN "h2".
 */
function dialTls(cfg: EndpointConfig): Promise<{ t: Transport; refs: Refable }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({
      host: cfg.host,
      port: cfg.port,
      ...nodeTlsOptions(cfg.tls!, cfg.host, cfg.port),
      ALPNProtocols: ["h2"],
    });
    const onError = (e: Error) => {
      sock.destroy();
      reject(e);
    };
    sock.once("error", onError);
    sock.once("secureConnect", () => {
      sock.off("error", onError);
      if (sock.alpnProtocol !== "h2") {
        sock.destroy();
        reject(
          new Error(
            `the upstream did not accept HTTP/2 over TLS (ALPN gave ${
              sock.alpnProtocol || "nothing"
            }); use an HTTP/1.1 protocol for this backend or enable h2 on it`,
          ),
        );
        return;
      }
      sock.setNoDelay(true);
      resolve({ t: fromNodeSocket(sock), refs: sock });
    });
  });
}
