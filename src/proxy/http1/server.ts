/**
 * The raw HTTP/1.1 engine: one loop per client connection over a Transport,
 * parsing heads in place (strict, see parser.ts), streaming bodies with
 * backpressure, keep-alive and pipelining, 100-continue, HEAD, chunked
 * re-framing, HTTP/1.0 clients, Upgrade passthrough (WebSocket) and the
 * HTTP/2 prior-knowledge preface hand-off. Header-read and idle deadlines
 * close slow clients (slowloris).
 */
import { Hdrs } from "../core/headers.ts";
import { Cancel, type ProxyRequest, type ProxyResponse } from "../core/types.ts";
import { finishRequest, handleRequest, type SocketConfig, splitTarget } from "../core/proxy.ts";
import { BufReader } from "../io/reader.ts";
import {
  encodeHead,
  encodeHeadInto,
  safeClose,
  type Transport,
  writeAll,
  writeRest,
} from "../io/transport.ts";
import { coarseNow, type Deadline, unwatch, watch } from "../io/ticker.ts";
import { ChunkedBody, encodeChunk, encodeLastChunk, FixedBody } from "./body.ts";
import { HttpError, parseRequestHead, type RequestHead } from "./parser.ts";
import { STATUS_TEXT } from "./status.ts";
import type { ConnHandle, ConnSet } from "../listen/conns.ts";

const encoder = new TextEncoder();
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");
const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const COALESCE_MAX = 16 * 1024;
/**
 * How long a bodiless request may wait for its response before the engine
 * starts watching the client socket for a hang-up. Watching costs a pending
 * read that measurably slows every fast exchange, so only slow ones pay it.
 */
const HANGUP_WATCH_AFTER_MS = 250;

export interface H1Context {
  /** The config in force now (read at each request start). */
  config(): SocketConfig;
  readonly scheme: "http" | "https";
  readonly clientIp: string;
  readonly conns: ConnSet;
  /** Hand-off for an HTTP/2 prior-knowledge preface (plain listeners only). */
  readonly h2?: (t: Transport, pre: Uint8Array) => void;
}

/** Serves one client connection until it closes. */
export async function serveH1(t: Transport, ctx: H1Context): Promise<void> {
  // Streamed responses are several writes: without TCP_NODELAY (Deno does not
  // set it on accepted sockets) Nagle holds a short one for the client's
  // delayed ACK. (Node TLS socket transports have no setNoDelay here.)
  const noDelay = (t as Partial<Deno.TcpConn>).setNoDelay;
  if (typeof noDelay === "function") noDelay.call(t, true);
  const r = new BufReader(t, 16384);
  let timeoutReason: string | null = null;
  const dl: Deadline = {
    deadline: 0,
    fire: () => {
      timeoutReason ??= "timeout";
      safeClose(t);
    },
    slot: -1,
  };
  r.guard = dl;
  const handle: ConnHandle = {
    busy: false,
    close: () => safeClose(t),
  };
  ctx.conns.add(handle);
  watch(dl);
  let handedOff = false;
  // One hang-up watcher per connection, armed per request by field writes
  // (no object, closure or watch-list entry per request).
  const hup: HangupWatch = {
    deadline: 0,
    slot: -1,
    cancel: null,
    maxRead: 0,
    fire() {
      const c = hup.cancel;
      if (c === null) return;
      r.fill(hup.maxRead, false).then((n) => {
        if (n === null && hup.cancel === c) c.cancel("client closed the connection");
      });
    },
  };
  const st: ConnState = {
    linger: false,
    wbuf: new Uint8Array(16384),
    hup,
    body: null,
    watching: false,
    current: null,
  };
  try {
    let first = true;
    for (;;) {
      let cfg = ctx.config();
      const limits = cfg.limits;
      r.guardMs = limits.idleTimeoutMs;
      handle.busy = false;
      if (ctx.conns.draining && r.available === 0) return;
      // ---- read a head -----------------------------------------------------
      const nowMs = Date.now();
      dl.deadline = nowMs + (r.available > 0 ? limits.headerTimeoutMs : limits.idleTimeoutMs);
      let headStarted = r.available > 0;
      timeoutReason = headStarted ? "header read timeout" : "idle timeout";
      let end = r.headEnd(r.start);
      while (end < 0) {
        if (r.available > limits.maxHeaderBytes) {
          dl.deadline = 0;
          st.linger = true;
          await refuse(t, cfg, ctx, new HttpError(431, "request header section too large"), r);
          return;
        }
        let n: number | null;
        if (r.reading || r.eof) n = await r.fill(limits.maxHeaderBytes + 4096, false);
        else {
          // Inline read (no fill wrapper promise): nothing else reads now.
          const v = r.space(limits.maxHeaderBytes + 4096);
          try {
            n = await t.read(v);
          } catch {
            n = null;
          }
          n = r.commit(n);
        }
        if (n === null) {
          if (r.available > 0 && dl.deadline === 0 && timeoutReason) {
            logRefusal(cfg, ctx, 408, timeoutReason);
          }
          return;
        }
        // A head that arrives whole needs no header deadline: it is armed
        // below only while the head is incomplete (one clock read less per
        // keep-alive request).
        let armHeader = false;
        if (!headStarted) {
          headStarted = true;
          handle.busy = true;
          timeoutReason = "header read timeout";
          armHeader = true;
        }
        if (first && ctx.h2 && r.buf[r.start] === 0x50 /* P */) {
          const got = Math.min(r.available, PREFACE.length);
          let match = true;
          for (let i = 0; i < got; i++) {
            if (r.buf[r.start + i] !== PREFACE.charCodeAt(i)) {
              match = false;
              break;
            }
          }
          if (match && got === PREFACE.length) {
            dl.deadline = 0;
            handedOff = true;
            ctx.h2(t, r.takeAll());
            return;
          }
          if (match) {
            if (armHeader) dl.deadline = Date.now() + limits.headerTimeoutMs;
            continue;
          }
        }
        end = r.headEnd(Math.max(r.start, r.end - n - 3));
        if (armHeader && end < 0) dl.deadline = Date.now() + limits.headerTimeoutMs;
      }
      first = false;
      handle.busy = true;
      dl.deadline = 0;
      if (end - r.start > limits.maxHeaderBytes) {
        st.linger = true;
        await refuse(t, cfg, ctx, new HttpError(431, "request header section too large"), r);
        return;
      }
      let head: RequestHead;
      try {
        head = parseRequestHead(r.buf.subarray(r.start, end), limits.maxHeaders);
      } catch (e) {
        if (e instanceof HttpError) {
          st.linger = true;
          await refuse(t, cfg, ctx, e, r);
          return;
        }
        throw e;
      }
      r.start = end;
      cfg = ctx.config();
      // ---- one exchange ----------------------------------------------------
      // Its awaits live in this per-connection frame (no async frame per
      // request): the request is opened synchronously, and the common
      // response — a small buffered body — is written right here.
      const req = openExchange(t, r, cfg, ctx, head, st);
      let res: ProxyResponse;
      try {
        res = await handleRequest(cfg, req);
      } catch (e) {
        endWatch(st);
        const err = e instanceof HttpError
          ? e
          : new HttpError(500, `internal error: ${(e as Error).message}`);
        await refuse(t, cfg, ctx, err, r, req);
        st.linger = true;
        return;
      }
      let keepGoing: boolean;
      const out = res.upgraded === undefined ? fastResponse(res, head, req, ctx, st) : null;
      if (out !== null) {
        let error: string | null = null;
        try {
          const n = await t.write(out);
          if (n < out.length) await writeRest(t, out, n);
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        keepGoing = endFast(res, head, req, ctx, st, error);
      } else {
        keepGoing = await exchange(t, r, ctx, head, st, req, res);
      }
      if (!keepGoing) return;
      if (ctx.conns.draining) return;
    }
  } catch (_e) {
    // connection-level failure: nothing more to say to this client
  } finally {
    unwatch(dl);
    hup.cancel = null;
    unwatch(hup);
    ctx.conns.delete(handle);
    if (!handedOff) {
      if (st.linger) await linger(t, r);
      safeClose(t);
    }
  }
}

/**
 * Lingering close: after a response that left request bytes unread, half-close
 * and discard what the client still sends (bounded), so the kernel does not
 * answer those bytes with a RST that destroys our response in flight.
 */
async function linger(t: Transport, r: BufReader): Promise<void> {
  try {
    await t.closeWrite();
  } catch {
    return;
  }
  const timer = setTimeout(() => safeClose(t), 2000);
  try {
    let total = 0;
    while (total < 4 << 20) {
      r.start = r.end;
      const n = await r.fill(65536, false);
      if (n === null) break;
      total += n;
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts an exchange: the request's body reader and ProxyRequest, and the
 * hang-up watch for bodiless requests (synchronous; state kept in `st`).
 */
function openExchange(
  t: Transport,
  r: BufReader,
  cfg: SocketConfig,
  ctx: H1Context,
  head: RequestHead,
  st: ConnState,
): ProxyRequest {
  const start = performance.now();
  const cancel = new Cancel();
  let body: FixedBody | ChunkedBody | null = null;
  // Abandoning a request body must not cut the connection before our answer
  // is written: the engine closes (with a lingering close) once it is.
  if (head.chunked) body = new ChunkedBody(r, noop, Infinity, 100);
  else if (head.contentLength > 0) body = new FixedBody(r, head.contentLength, noop);
  if (body && head.expectContinue && head.version === 11) {
    body.onFirstRead = () => writeAll(t, CONTINUE);
  }
  st.body = body;
  let authority = head.host ?? "";
  let target = head.target;
  if (target.charCodeAt(0) !== 47) {
    const split = splitTarget(target);
    if (split.authority !== null) {
      // absolute-form: the target's authority wins over Host (RFC 9112 §3.2.2)
      authority = split.authority;
      target = split.query ? `${split.path}?${split.query}` : split.path;
    }
  }
  const req: ProxyRequest = {
    method: head.method,
    scheme: ctx.scheme,
    authority,
    target,
    headers: head.headers,
    httpVersion: head.version === 11 ? "1.1" : "1.0",
    body,
    clientIp: ctx.clientIp,
    cancel,
    upgrade: head.upgrade,
    start,
  };
  // With no body left to read, a request that is still waiting after a
  // moment gets one read outstanding: it notices a client hang-up (and
  // cancels the upstream exchange) and doubles as the first read of the next
  // request. A request with a body is watched once its body has been read.
  // (`hup.cancel === cancel` means this request is still in flight.)
  st.current = cancel;
  if (!head.upgrade) {
    const maxRead = cfg.limits.maxHeaderBytes + 4096;
    if (body === null) watchHangup(st, cancel, maxRead);
    else {
      body.onEnd = () => {
        if (st.current === cancel && !cancel.cancelled) watchHangup(st, cancel, maxRead);
      };
    }
  }
  return req;
}

/** Arms the hang-up watch for the in-flight request (see openExchange). */
function watchHangup(st: ConnState, cancel: Cancel, maxRead: number): void {
  const hup = st.hup;
  hup.cancel = cancel;
  hup.maxRead = maxRead;
  // The coarse clock may be up to a tick old: the watch starts 150–250 ms in.
  hup.deadline = coarseNow() + HANGUP_WATCH_AFTER_MS;
  watch(hup);
  st.watching = true;
}

function noop(): void {}

/** Stops the current request's hang-up watch. */
function endWatch(st: ConnState): void {
  st.current = null;
  if (st.watching) {
    st.watching = false;
    st.hup.cancel = null;
    st.hup.deadline = 0;
  }
}

/** Whether the connection can carry another request after this response. */
function reusable(head: RequestHead, req: ProxyRequest, ctx: H1Context, st: ConnState): boolean {
  if (!head.keepAlive || head.upgrade || req.cancel.cancelled || ctx.conns.draining) return false;
  return st.body === null || bodyDone(st.body); // unread body: framing lost
}

/**
 * The common response, head and body in one buffer: a small fixed-length
 * upstream body that is already buffered. Null when the response needs the
 * general path (nothing consumed then).
 */
function fastResponse(
  res: ProxyResponse,
  head: RequestHead,
  req: ProxyRequest,
  ctx: H1Context,
  st: ConnState,
): Uint8Array | null {
  const rb = res.body;
  const status = res.status;
  if (
    !(rb instanceof FixedBody) || rb.length <= 0 || rb.length > COALESCE_MAX ||
    head.method === "HEAD" || status < 200 || status === 204 || status === 304
  ) {
    return null;
  }
  const chunk = rb.takeAllSync();
  if (chunk === undefined) return null;
  const conn = reusable(head, req, ctx, st)
    ? (head.version === 10 ? "connection: keep-alive\r\n" : "")
    : "connection: close\r\n";
  const raw = res.rawHeaders;
  if (raw !== undefined) return rawResponse(status, raw, conn, chunk, st.wbuf);
  const s = statusLine(status) + serializeHeaders(res.headers, true) +
    `content-length: ${rb.length}\r\n` + conn + "\r\n";
  const out = encodeHeadInto(s, st.wbuf, chunk.length);
  out.set(chunk, out.length - chunk.length);
  return out;
}

const statusBytes: Uint8Array[] = [];
const CL = encoder.encode("content-length: ");

/**
 * The fast response with the upstream's header lines copied as they came
 * (ProxyResponse.rawHeaders): status line, lines, our framing, body — no
 * string building or encoding op per response.
 */
function rawResponse(
  status: number,
  raw: Uint8Array,
  conn: string,
  chunk: Uint8Array,
  wbuf: Uint8Array,
): Uint8Array {
  const sl = statusBytes[status] ??= encoder.encode(statusLine(status));
  const len = chunk.length;
  let digits = 1;
  for (let v = len; v >= 10; v = Math.floor(v / 10)) digits++;
  const total = sl.length + raw.length + CL.length + digits + 2 + conn.length + 2 + len;
  const out = total <= wbuf.length ? wbuf.subarray(0, total) : new Uint8Array(total);
  out.set(sl, 0);
  let p = sl.length;
  out.set(raw, p);
  p += raw.length;
  out.set(CL, p);
  p += CL.length;
  for (let i = digits - 1, v = len; i >= 0; i--, v = Math.floor(v / 10)) out[p + i] = 48 + v % 10;
  p += digits;
  out[p++] = 13;
  out[p++] = 10;
  for (let i = 0; i < conn.length; i++) out[p++] = conn.charCodeAt(i);
  out[p++] = 13;
  out[p++] = 10;
  out.set(chunk, p);
  return out;
}

/** After the fast path's write: ends the exchange; returns whether to keep the connection. */
function endFast(
  res: ProxyResponse,
  head: RequestHead,
  req: ProxyRequest,
  ctx: H1Context,
  st: ConnState,
  error: string | null,
): boolean {
  let keepAlive = error === null && reusable(head, req, ctx, st);
  // null: reports the end (the upstream connection is released; its body was
  // read whole, so even a failed client write leaves it reusable).
  (res.body as FixedBody).readSync();
  const body = st.body;
  if (error === null && body && !bodyDone(body)) {
    keepAlive = false;
    st.linger = true;
  }
  endWatch(st);
  res.finish(error === null ? (res.body as FixedBody).length : 0, error);
  return keepAlive;
}

/** The general exchange: upgrades, streamed and generated bodies. Returns keep-alive. */
async function exchange(
  t: Transport,
  r: BufReader,
  ctx: H1Context,
  head: RequestHead,
  st: ConnState,
  req: ProxyRequest,
  res: ProxyResponse,
): Promise<boolean> {
  const body = st.body;
  let keepAlive = head.keepAlive;
  let bytes = 0;
  let error: string | null = null;
  try {
    if (res.upgraded && res.status === 101) {
      await pipeUpgrade(t, r, res);
      res.finish(0, null);
      return false;
    }
    keepAlive = reusable(head, req, ctx, st);
    bytes = await writeResponse(t, res, head, keepAlive, st.wbuf);
    if (body && !bodyDone(body)) {
      keepAlive = false;
      st.linger = true;
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    keepAlive = false;
    if (res.body && !(res.body instanceof Uint8Array)) res.body.cancel("client write failed");
  } finally {
    endWatch(st);
  }
  res.finish(bytes, error);
  return keepAlive;
}

/** The per-connection hang-up watcher (see exchange). */
interface HangupWatch extends Deadline {
  /** The in-flight request's Cancel while it is watched, else null. */
  cancel: Cancel | null;
  maxRead: number;
}

/** Per-connection state the exchanges share. */
interface ConnState {
  linger: boolean;
  /** Scratch for response heads (one message at a time). */
  wbuf: Uint8Array;
  hup: HangupWatch;
  /** The current request's body reader (null when bodiless). */
  body: FixedBody | ChunkedBody | null;
  /** Whether the current request is watched for a hang-up (see openExchange). */
  watching: boolean;
  /** The in-flight request's Cancel (null between exchanges). */
  current: Cancel | null;
}

function bodyDone(b: FixedBody | ChunkedBody): boolean {
  return b instanceof FixedBody ? b.remaining === 0 : b.finished;
}

const statusLines: string[] = [];

/** "HTTP/1.1 200 OK\r\n", built once per status. */
function statusLine(status: number): string {
  return statusLines[status] ??= `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Unknown"}\r\n`;
}

function serializeHeaders(h: Hdrs, skipLength: boolean): string {
  let s = "";
  const kv = h.kv;
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    if (n === "transfer-encoding" || n === "connection" || (skipLength && n === "content-length")) {
      continue;
    }
    if (n.charCodeAt(0) === 58) continue;
    s += `${n}: ${kv[i + 1]}\r\n`;
  }
  return s;
}

/** Writes a response in HTTP/1.1 framing; returns body bytes written. */
async function writeResponse(
  t: Transport,
  res: ProxyResponse,
  head: RequestHead,
  keepAlive: boolean,
  wbuf: Uint8Array,
): Promise<number> {
  const isHead = head.method === "HEAD";
  const status = res.status;
  const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
  let s = statusLine(status);
  const body = res.body;
  const conn = keepAlive
    ? (head.version === 10 ? "connection: keep-alive\r\n" : "")
    : "connection: close\r\n";
  if (body === null || noBody) {
    // HEAD keeps the upstream's Content-Length; others say there is no body.
    s += serializeHeaders(res.headers, !isHead);
    if (!noBody && !isHead) s += "content-length: 0\r\n";
    s += conn + "\r\n";
    await writeAll(t, encodeHeadInto(s, wbuf));
    if (body && !(body instanceof Uint8Array)) body.cancel("no body allowed");
    return 0;
  }
  if (body instanceof Uint8Array) {
    s += serializeHeaders(res.headers, true) + `content-length: ${body.length}\r\n` + conn + "\r\n";
    if (isHead) {
      await writeAll(t, encodeHeadInto(s, wbuf));
      return 0;
    }
    const out = encodeHeadInto(s, wbuf, body.length);
    out.set(body, out.length - body.length);
    const n = await t.write(out);
    if (n < out.length) await writeRest(t, out, n);
    return body.length;
  }
  if (isHead) {
    s += serializeHeaders(res.headers, false) + conn + "\r\n";
    await writeAll(t, encodeHeadInto(s, wbuf));
    body.cancel("HEAD");
    return 0;
  }
  let bytes = 0;
  if (body.length >= 0) {
    s += serializeHeaders(res.headers, true) + `content-length: ${body.length}\r\n` + conn + "\r\n";
    if (body instanceof FixedBody && body.length <= GATHER_MAX && body.onFirstRead === null) {
      return await writeGathered(t, s, body);
    }
    let chunk = body.length > 0 ? body.readSync?.() : null;
    if (chunk === undefined) chunk = await body.read();
    if (chunk !== null && chunk.length <= COALESCE_MAX) {
      const out = encodeHeadInto(s, wbuf, chunk.length);
      out.set(chunk, out.length - chunk.length);
      // One write op awaited directly (writeAll's extra promise is measurable here).
      const n = await t.write(out);
      if (n < out.length) await writeRest(t, out, n);
      bytes += chunk.length;
      chunk = body.readSync?.();
      if (chunk === undefined) chunk = await body.read();
    } else {
      await writeAll(t, encodeHeadInto(s, wbuf));
    }
    while (chunk !== null) {
      await writeAll(t, chunk);
      bytes += chunk.length;
      chunk = body.readSync?.();
      if (chunk === undefined) chunk = await body.read();
    }
    if (bytes !== body.length) {
      throw new Error(`upstream body ended after ${bytes} of ${body.length} bytes`);
    }
    return bytes;
  }
  if (head.version === 10) {
    // HTTP/1.0 has no chunked coding: de-chunk and delimit by close.
    s += serializeHeaders(res.headers, true) + "connection: close\r\n\r\n";
    await writeAll(t, encodeHeadInto(s, wbuf));
    for (;;) {
      const c = await body.read();
      if (c === null) break;
      await writeAll(t, c);
      bytes += c.length;
    }
    await t.closeWrite().catch(() => {});
    return bytes;
  }
  s += serializeHeaders(res.headers, true) + "transfer-encoding: chunked\r\n" + conn + "\r\n";
  await writeAll(t, encodeHeadInto(s, wbuf));
  for (;;) {
    const c = await body.read();
    if (c === null) break;
    if (c.length === 0) continue;
    await writeAll(t, encodeChunk(c));
    bytes += c.length;
  }
  await writeAll(t, encodeLastChunk(body.trailers()));
  return bytes;
}

/**
 * Medium fixed-length bodies (up to GATHER_MAX) are read whole into one
 * buffer behind their head and written with one write: a 64 KiB response
 * took 4 writes and 4 reads of 32 KiB before. The buffers are pooled (up to
 * GATHER_POOL, one per response in flight): a fresh one is zero-filled on
 * allocation, which cost more than the saved ops when the pool ran dry.
 */
const GATHER_MAX = 64 * 1024;
const GATHER_BUF = GATHER_MAX + 16 * 1024;
const GATHER_POOL = 64;
const gatherPool: Uint8Array[] = [];

async function writeGathered(t: Transport, head: string, body: FixedBody): Promise<number> {
  const buf = gatherPool.pop() ?? new Uint8Array(GATHER_BUF);
  try {
    const out = encodeHeadInto(head, buf, body.length);
    await body.fillInto(out.subarray(out.length - body.length));
    const n = await t.write(out);
    if (n < out.length) await writeRest(t, out, n);
    body.readSync(); // null: reports the end (the upstream connection is released)
    return body.length;
  } finally {
    if (gatherPool.length < GATHER_POOL) gatherPool.push(buf);
  }
}

/** Copies one direction until EOF, then half-closes the destination. */
async function pump(src: BufReader, dst: Transport): Promise<void> {
  try {
    if (src.available > 0) await writeAll(dst, src.takeAll());
    if (src.reading) {
      const n = await src.fill(1 << 20, false);
      if (n === null) return;
      await writeAll(dst, src.takeAll());
    }
    const buf = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await src.t.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      await writeAll(dst, buf.subarray(0, n));
    }
  } finally {
    await dst.closeWrite().catch(() => {});
  }
}

/** After a 101: raw bytes both ways (WebSocket frames pass untouched). */
async function pipeUpgrade(t: Transport, r: BufReader, res: ProxyResponse): Promise<void> {
  const up = res.upgraded!;
  const s = statusLine(101) +
    serializeHeaders(res.headers, true).replace(/^upgrade: /m, "upgrade: ") +
    "connection: upgrade\r\n\r\n";
  try {
    await writeAll(t, encodeHead(s));
    r.guard = null;
    await Promise.all([pump(r, up.transport), pump(up.reader, t)]);
  } finally {
    safeClose(up.transport);
    safeClose(t);
    up.done();
  }
}

/** Answers a refused request, logs why, and closes the connection. */
async function refuse(
  t: Transport,
  cfg: SocketConfig,
  ctx: H1Context,
  e: HttpError,
  _r: BufReader,
  req?: ProxyRequest,
): Promise<void> {
  const body = encoder.encode(e.reason + "\n");
  const s = statusLine(e.status) + "content-type: text/plain; charset=utf-8\r\n" +
    `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  const hb = encoder.encode(s);
  const out = new Uint8Array(hb.length + body.length);
  out.set(hb);
  out.set(body, hb.length);
  try {
    await writeAll(t, out);
  } catch {
    // client already gone
  }
  if (req) {
    finishRequest(
      cfg,
      req,
      e.status,
      { route: "", cluster: "", upstream: "", reason: e.reason, tries: 0 },
      body.length,
      null,
    );
  } else {
    logRefusal(cfg, ctx, e.status, e.reason);
  }
}

function logRefusal(cfg: SocketConfig, ctx: H1Context, status: number, reason: string): void {
  const req: ProxyRequest = {
    method: "-",
    scheme: ctx.scheme,
    authority: "-",
    target: "-",
    headers: new Hdrs(),
    httpVersion: "1.1",
    body: null,
    clientIp: ctx.clientIp,
    cancel: new Cancel(),
    upgrade: null,
    start: performance.now(),
  };
  finishRequest(
    cfg,
    req,
    status,
    { route: "", cluster: "", upstream: "", reason, tries: 0 },
    0,
    null,
  );
}
