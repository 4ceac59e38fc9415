/**
 * HTTP/1.1 upstream client: a keep-alive pool per endpoint over Deno.connect
 * (optionally Deno.startTls). Requests stream their bodies both ways; a
 * connection goes back to the pool only when both messages ended cleanly.
 * A stale keep-alive connection (closed by the backend while idle) is
 * detected by a failed write or EOF before the first response byte and the
 * exchange is replayed once on a fresh connection when that is safe.
 */
import { Hdrs } from "../core/headers.ts";
import type { BodyReader, Cancel } from "../core/types.ts";
import { BufReader } from "../io/reader.ts";
import { coarseNow } from "../io/ticker.ts";
import { encodeHeadInto, safeClose, type Transport, writeAll, writeRest } from "../io/transport.ts";
import { fromNodeSocket } from "../io/node_transport.ts";
import {
  type BodyOwner,
  ChunkedBody,
  encodeChunk,
  encodeLastChunk,
  FixedBody,
  UntilCloseBody,
} from "../http1/body.ts";
import {
  HttpError,
  parseResponseHead,
  RawResponseHead,
  type ResponseHead,
  scanResponseHead,
} from "../http1/parser.ts";
import {
  type BreakerGate,
  type EndpointConfig,
  type OutboundRequest,
  UpstreamError,
  type UpstreamResponse,
} from "./types.ts";
import * as tls from "node:tls";
import { needsNodeTls, nodeTlsOptions } from "./tls_identity.ts";

const MAX_RESPONSE_HEAD = 64 * 1024;

/** One upstream connection. */
export class H1Conn {
  readonly reader: BufReader;
  /** Scratch for request heads (reused: one message at a time per connection). */
  readonly wbuf = new Uint8Array(8192);
  /**
   * The current response's forwardable header lines (scanResponseHead): the
   * connection serves one response at a time and is reused only after it.
   */
  readonly lines = new Uint8Array(4096);
  idleSince = 0;
  uses = 0;
  /** Closes the socket; one function per connection, listened on each exchange's Cancel. */
  readonly kill: () => void;
  /** The gate that counted this connection (its count goes back on discard). */
  gate: PoolGate | null = null;
  constructor(readonly t: Transport) {
    this.reader = new BufReader(t, 32768);
    this.kill = () => safeClose(t);
  }
}

/** Connects to an endpoint (TLS as configured); also used by active health checks. */
export async function dialUpstream(cfg: EndpointConfig): Promise<Transport> {
  const timeout = cfg.connectTimeoutMs > 0 ? cfg.connectTimeoutMs : 5000;
  if (cfg.tls && needsNodeTls(cfg.tls)) {
    // Client certificates, SAN checks and skipped verification need node:tls.
    const sock = tls.connect({
      host: cfg.host,
      port: cfg.port,
      ...nodeTlsOptions(cfg.tls, cfg.host, cfg.port),
      ALPNProtocols: ["http/1.1"],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`connect timeout after ${timeout} ms`));
      }, timeout);
      sock.once("secureConnect", () => {
        clearTimeout(timer);
        resolve();
      });
      sock.once("error", (e: Error) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    return fromNodeSocket(sock);
  }
  const conn = await Deno.connect({
    hostname: cfg.host,
    port: cfg.port,
    signal: AbortSignal.timeout(timeout),
  });
  // A request head and its body are separate writes: without TCP_NODELAY,
  // Nagle holds the body for the backend's delayed ACK.
  conn.setNoDelay(true);
  if (!cfg.tls) return conn;
  try {
    const tc = await Deno.startTls(conn, {
      hostname: cfg.tls.sni || cfg.host,
      caCerts: cfg.tls.caCerts.length ? [...cfg.tls.caCerts] : undefined,
      alpnProtocols: ["http/1.1"],
    });
    await tc.handshake();
    return tc;
  } catch (e) {
    safeClose(conn);
    throw e;
  }
}

/** The circuit-breaker gate of an HTTP/1.1 pool (consulted only to wait for or open a connection). */
export type PoolGate = BreakerGate;

/** Keep-alive pool for one endpoint. */
export class H1Pool {
  private idle: H1Conn[] = [];
  private open = 0;
  private waiters: ((c: H1Conn | null) => void)[] = [];
  closed = false;

  constructor(readonly cfg: EndpointConfig) {}

  /** Connections open (idle or busy). */
  get size(): number {
    return this.open;
  }

  /** An idle connection if one is usable, else null (sync fast path). */
  takeIdle(): H1Conn | null {
    const limit = this.cfg.idleTimeoutMs > 0 ? this.cfg.idleTimeoutMs : 60_000;
    // Idle ages tolerate the coarse clock (at most a tick early); a too-old
    // connection that slips through is caught by the stale-connection replay.
    const now = coarseNow();
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (now - c.idleSince < limit && !c.reader.eof) return c;
      this.discard(c);
    }
    return null;
  }

  async acquire(
    fresh: boolean,
    gate: PoolGate | null = null,
    cancel: Cancel | null = null,
  ): Promise<H1Conn> {
    if (!fresh) {
      const c = this.takeIdle();
      if (c) return c;
    }
    const max = this.cfg.maxConnections;
    // A true mayOpen() has counted the connection about to open (back on discard).
    while ((max > 0 && this.open >= max) || (gate !== null && !gate.mayOpen())) {
      if (gate !== null) this.#mayWait(gate);
      const c = await this.#wait(cancel);
      gate?.leavePending();
      if (c) return c;
      if (cancel?.cancelled) {
        throw new UpstreamError("cancelled", cancel.reason ?? "cancelled", true);
      }
    }
    this.open++;
    try {
      const c = new H1Conn(await dialUpstream(this.cfg));
      c.gate = gate;
      return c;
    } catch (e) {
      this.open--;
      gate?.closed();
      // A request waiting for this pool's connection must not wait for one that never came.
      this.waiters.shift()?.(null);
      throw new UpstreamError(
        "connect",
        `connect to ${this.cfg.host}:${this.cfg.port} failed: ${(e as Error).message}`,
        false,
      );
    }
  }

  /** Throws the circuit breaker's 503 when the request may not wait for a connection. */
  #mayWait(gate: PoolGate): void {
    if (this.open === 0) {
      // At the cluster's connection cap with none here to wait for.
      throw new UpstreamError("overflow", gate.openRefusal(), false);
    }
    if (!gate.enterPending()) throw new UpstreamError("overflow", gate.pendingRefusal(), false);
  }

  /** A connection handed over by release(), or null (one closed, or `cancel` fired). */
  #wait(cancel: Cancel | null): Promise<H1Conn | null> {
    return new Promise((resolve) => {
      // Called only later (release/discard), after `off` is set.
      const w = (c: H1Conn | null) => {
        off?.();
        resolve(c);
      };
      this.waiters.push(w);
      const off = cancel?.on(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(null);
      });
    });
  }

  /** Closes one idle connection (the cluster's connection cap wants room elsewhere). */
  dropIdle(): boolean {
    const c = this.idle.shift();
    if (c === undefined) return false;
    this.discard(c);
    return true;
  }

  release(c: H1Conn): void {
    if (this.closed) return this.discard(c);
    const w = this.waiters.shift();
    if (w) return w(c);
    c.idleSince = coarseNow();
    this.idle.push(c);
  }

  discard(c: H1Conn): void {
    safeClose(c.t);
    this.open--;
    const g = c.gate;
    c.gate = null;
    g?.closed();
    const w = this.waiters.shift();
    if (w) w(null);
  }

  /** Drops idle connections older than the idle timeout. */
  sweep(): void {
    const limit = this.cfg.idleTimeoutMs > 0 ? this.cfg.idleTimeoutMs : 60_000;
    const now = Date.now();
    const keep: H1Conn[] = [];
    for (const c of this.idle) {
      if (now - c.idleSince < limit) keep.push(c);
      else this.discard(c);
    }
    this.idle = keep;
  }

  close(): void {
    this.closed = true;
    for (const c of this.idle) this.discard(c);
    this.idle = [];
  }
}

function serializeHead(req: OutboundRequest, wbuf: Uint8Array): Uint8Array {
  let s = `${req.method} ${req.target} HTTP/1.1\r\nhost: ${req.authority}\r\n`;
  const kv = req.headers.kv;
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    if (n === "host" || n === "content-length" || n.charCodeAt(0) === 58) continue;
    s += `${n}: ${kv[i + 1]}\r\n`;
  }
  const body = req.body;
  if (req.upgrade) s += `connection: upgrade\r\nupgrade: ${req.upgrade}\r\n\r\n`;
  else if (body === null) s += "\r\n";
  else if (body.length >= 0) s += `content-length: ${body.length}\r\n\r\n`;
  else s += "transfer-encoding: chunked\r\n\r\n";
  return encodeHeadInto(s, wbuf);
}

/** Sends the request body; resolves true when fully sent. */
async function pumpBody(t: Transport, body: BodyReader, chunked: boolean): Promise<void> {
  for (;;) {
    const chunk = await body.read();
    if (chunk === null) break;
    if (chunk.length === 0) continue;
    await writeAll(t, chunked ? encodeChunk(chunk) : chunk);
  }
  // Request trailers (already filtered by the proxy core's body guard).
  if (chunked) await writeAll(t, encodeLastChunk(body.trailers()));
}

function noBodyStatus(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/**
 * One exchange on `pool`. Throws UpstreamError; on success the response body
 * reader returns the connection to the pool when it ends.
 */
export function h1Exchange(
  pool: H1Pool,
  req: OutboundRequest,
  cancel: Cancel,
  gate: PoolGate | null = null,
): Promise<UpstreamResponse> {
  // No async frame of its own: errors (and the stale-connection replay) are
  // handled in exchangeOn's catch, see recover().
  const c = pool.takeIdle();
  if (c !== null) return exchangeOn(pool, c, req, cancel, false);
  return pool.acquire(false, gate, cancel).then((c) => exchangeOn(pool, c, req, cancel, false));
}

/**
 * After a failed exchange on `c`: replay once on a fresh connection if a
 * reused one turned out to be stale and the request body was not started
 * (nothing can have been processed); otherwise throw an UpstreamError.
 */
async function recover(
  pool: H1Pool,
  c: H1Conn,
  req: OutboundRequest,
  cancel: Cancel,
  e: unknown,
  reused: boolean,
  fresh: boolean,
): Promise<UpstreamResponse> {
  const gate = c.gate;
  pool.discard(c);
  if (e instanceof StaleConnection && reused && !fresh && !e.bodyStarted) {
    const c2 = await pool.acquire(true, gate, cancel);
    return exchangeOn(pool, c2, req, cancel, true);
  }
  if (e instanceof StaleConnection) throw new UpstreamError("reset", e.message, e.bodyStarted);
  if (cancel.cancelled) {
    throw new UpstreamError("cancelled", cancel.reason ?? "cancelled", true);
  }
  if (e instanceof UpstreamError) throw e;
  if (e instanceof HttpError) throw new UpstreamError("protocol", e.reason, true);
  throw new UpstreamError("reset", `upstream exchange failed: ${(e as Error).message}`, true);
}

class StaleConnection extends Error {
  constructor(message: string, readonly bodyStarted: boolean) {
    super(message);
  }
}

async function exchangeOn(
  pool: H1Pool,
  c: H1Conn,
  req: OutboundRequest,
  cancel: Cancel,
  fresh: boolean,
): Promise<UpstreamResponse> {
  const reused = c.uses > 0;
  c.uses++;
  const t = c.t;
  const body = req.body;
  cancel.listen(c.kill);
  try {
    const head = serializeHead(req, c.wbuf);
    try {
      const n = await t.write(head);
      if (n < head.length) await writeRest(t, head, n);
    } catch (e) {
      throw new StaleConnection(`write to upstream failed: ${(e as Error).message}`, false);
    }
    const x = new Exchange(pool, c, cancel);
    // The body goes up while we wait for the response head: a backend may
    // answer (413, 401) before reading it all.
    if (body !== null && !req.upgrade) x.startPump(body);
    const r = c.reader;
    let res: ResponseHead;
    for (;;) {
      let end = r.headEnd(r.start);
      while (end < 0) {
        if (r.available > MAX_RESPONSE_HEAD) {
          throw new UpstreamError("protocol", "upstream response head too large", true);
        }
        let n: number | null;
        if (r.reading || r.eof) n = await r.fill(MAX_RESPONSE_HEAD + 4096);
        else {
          // Inline read (no fill wrapper promise): only this exchange reads here.
          const v = r.space(MAX_RESPONSE_HEAD + 4096);
          try {
            n = await t.read(v);
          } catch {
            n = null;
          }
          n = r.commit(n);
        }
        if (n === null) throw x.closedBeforeHead();
        end = r.headEnd(Math.max(r.start, r.end - n - 3));
      }
      const bytes = r.buf.subarray(r.start, end);
      res = scanResponseHead(bytes, 200, c.lines) ?? parseResponseHead(bytes, 200);
      r.start = end;
      if (res.status === 101 || res.status >= 200) break;
      // 1xx informational (100 Continue and friends): the proxy answers the
      // client's Expect itself, so drop them.
    }
    return x.response(req, res);
  } catch (e) {
    cancel.off(c.kill);
    return recover(pool, c, req, cancel, e, reused, fresh);
  }
}

/**
 * One exchange's bookkeeping after its head was sent: the request body pump
 * and the response body reader report here (methods, not closures), and the
 * connection goes back to the pool only once both directions ended cleanly.
 */
class Exchange implements BodyOwner {
  bodyStarted = false;
  private pumpState: "running" | "done" | "failed" = "done";
  private pumpError: unknown = null;
  private reusable = false;
  private respDone = false;
  private finished = false;

  constructor(readonly pool: H1Pool, readonly c: H1Conn, readonly cancel: Cancel) {}

  startPump(body: BodyReader): void {
    this.bodyStarted = true;
    this.pumpState = "running";
    pumpBody(this.c.t, body, body.length < 0).then(() => {
      this.pumpState = this.pumpError ? "failed" : "done";
      this.settle();
    }, (e) => {
      this.pumpError = e;
      safeClose(this.c.t);
      this.pumpState = "failed";
      this.settle();
    });
  }

  /** The error for an EOF before a complete response head. */
  closedBeforeHead(): Error {
    const cancel = this.cancel;
    if (cancel.cancelled) return new UpstreamError("cancelled", cancel.reason ?? "cancelled", true);
    if (this.pumpError) {
      return new UpstreamError(
        "reset",
        `request body failed: ${(this.pumpError as Error).message}`,
        true,
      );
    }
    if (this.c.reader.available === 0) {
      return new StaleConnection(
        "upstream closed the connection before responding",
        this.bodyStarted,
      );
    }
    return new UpstreamError("reset", "upstream closed the connection mid-head", true);
  }

  /** The UpstreamResponse for a final head: its body reader reports back here. */
  response(req: OutboundRequest, res: ResponseHead): UpstreamResponse {
    const { pool, c } = this;
    const r = c.reader;
    if (res.status === 101) {
      if (!req.upgrade) throw new UpstreamError("protocol", "unexpected 101 from upstream", true);
      this.cancel.off(c.kill);
      return {
        status: 101,
        headers: res.headers,
        body: null,
        upgraded: { transport: c.t, reader: r, release: () => pool.discard(c) },
      };
    }
    this.reusable = res.keepAlive;
    let rb: BodyReader | null;
    if (noBodyStatus(req.method, res.status)) {
      rb = null;
      this.bodyEnded();
    } else if (res.chunked) {
      const cb = new ChunkedBody(r, noop, Infinity, 1000);
      cb.owner = this;
      rb = cb;
    } else if (res.contentLength >= 0) {
      const fb = new FixedBody(r, res.contentLength, noop);
      if (res.contentLength === 0) this.bodyEnded();
      else fb.owner = this;
      rb = fb;
    } else {
      // Never reusable; the reader's cancel/EOF closes it.
      const ub = new UntilCloseBody(r, () => this.bodyCancelled());
      this.finished = true;
      this.cancel.off(c.kill);
      rb = wrapEnd(ub, () => pool.discard(c));
    }
    return new H1Response(res, rb);
  }

  bodyEnded(): void {
    this.respDone = true;
    this.settle();
  }

  bodyCancelled(): void {
    if (this.finished) return;
    this.finished = true;
    this.cancel.off(this.c.kill);
    this.pool.discard(this.c);
  }

  private settle(): void {
    if (this.finished || !this.respDone || this.pumpState === "running") return;
    this.finished = true;
    this.cancel.off(this.c.kill);
    if (this.reusable && this.pumpState === "done" && !this.pool.closed) this.pool.release(this.c);
    else this.pool.discard(this.c);
  }
}

function noop(): void {}

/** A proxied response; its headers are parsed only if asked for (RawResponseHead). */
class H1Response implements UpstreamResponse {
  readonly status: number;
  readonly rawHeaders: Uint8Array | undefined;
  constructor(private readonly head: ResponseHead, readonly body: BodyReader | null) {
    this.status = head.status;
    this.rawHeaders = head instanceof RawResponseHead ? head.lines : undefined;
  }
  get headers(): Hdrs {
    return this.head.headers;
  }
}

function wrapEnd(b: BodyReader, end: () => void): BodyReader {
  let ended = false;
  const once = () => {
    if (!ended) {
      ended = true;
      end();
    }
  };
  return {
    length: b.length,
    async read() {
      try {
        const c = await b.read();
        if (c === null) once();
        return c;
      } catch (e) {
        once();
        throw e;
      }
    },
    cancel(reason?: string) {
      b.cancel(reason);
      once();
    },
    trailers: () => b.trailers(),
  };
}

export { Hdrs };
