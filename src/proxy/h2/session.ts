/**
 * One HTTP/2 connection (RFC 9113) on a Transport, either side: frame
 * parsing, HPACK decoding, stream states, flow control both ways, SETTINGS /
 * PING / GOAWAY / RST_STREAM, CONTINUATION assembly and flood limits.
 * Everything produced while handling one read — and everything streams write
 * meanwhile — goes out in one write op. The server (conn.ts) and the upstream
 * client (client.ts) add how header blocks open and answer streams.
 */
import type { Transport } from "../io/transport.ts";
import { type Deadline, now, unwatch, watch } from "../io/ticker.ts";
import { HpackDecoder, HpackEncoder } from "./hpack.ts";
import * as F from "./frames.ts";
import { ConnError } from "./frames.ts";
import { H2Body } from "./body.ts";

export interface SessionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise. */
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise. */
  maxHeaderListSize: number;
  /** A connection without streams for this long is closed (GOAWAY). */
  idleTimeoutMs: number;
  /** More SETTINGS (id, value) to advertise. */
  extraSettings: [number, number][];
  /**
   * The peer must acknowledge our SETTINGS within this long, else GOAWAY
   * SETTINGS_TIMEOUT (RFC 9113 §6.5.3). Default SETTINGS_ACK_TIMEOUT_MS; 0
   * disables the check.
   */
  settingsTimeoutMs?: number;
}

/** Default bound on the peer's SETTINGS acknowledgement. */
export const SETTINGS_ACK_TIMEOUT_MS = 10_000;

/** Receive windows we grant: per stream and for the whole connection. */
const STREAM_WINDOW = 256 * 1024;
const CONN_WINDOW = 1024 * 1024;
const MAX_FRAME_IN = F.DEFAULT_MAX_FRAME;
/** Control frames and client resets tolerated per second before ENHANCE_YOUR_CALM. */
const ABUSE_PER_SECOND = 1000;
/** Pending output above which stream writers wait for the socket. */
const OUT_HIGH = 512 * 1024;

/** One request/response exchange on a connection. */
export class H2Stream {
  sendWindow: number;
  recvWindow = STREAM_WINDOW;
  /** Bytes consumed by the reader but not yet returned to the peer. */
  unacked = 0;
  remoteClosed = false;
  localClosed = false;
  /** Reset (either side) or connection gone: nothing more is sent. */
  aborted = false;
  headersSent = false;
  readonly body: H2Body;
  /** Called once when the stream is closed and forgotten (any reason). */
  onDone: (() => void) | null = null;
  /** RST_STREAM code the peer sent, if it reset the stream. */
  resetCode = -1;
  /** The peer never processed the stream (REFUSED_STREAM or above its GOAWAY): safe to retry. */
  refused = false;
  /** Called once if the stream is reset or the connection dies before the response is complete. */
  onAbort: ((reason: string) => void) | null = null;
  // Outgoing data waiting for flow-control window.
  outq: Uint8Array[] = [];
  endPending = false;
  trailersPending: string[] | null = null;
  /** Names of `trailersPending` to send as never indexed (the message's own set), or null. */
  trailersNever: ReadonlySet<string> | null = null;
  drainWaiter: (() => void) | null = null;

  constructor(readonly conn: H2Session, readonly id: number, sendWindow: number, cl: number) {
    this.sendWindow = sendWindow;
    this.body = new H2Body(this, cl);
  }

  /**
   * Sends the response head; with `end`, the response is complete (no body).
   * `never`: names to send as "literal never indexed" (RFC 7541 §6.2.3).
   */
  respond(
    status: number,
    kv: readonly string[],
    end: boolean,
    never: ReadonlySet<string> | null = null,
  ): void {
    this.conn.sendHeaders(this, status, kv, end, never);
  }

  /** Sends a request head (pseudo-headers first in `kv`); `never` as for `respond`. */
  request(kv: readonly string[], end: boolean, never: ReadonlySet<string> | null = null): void {
    this.conn.sendHeaders(this, null, kv, end, never);
  }

  /**
   * Queues body bytes (`c` is copied or sent before returning). Returns a
   * promise when the caller should wait (flow control or a full socket).
   */
  write(c: Uint8Array): Promise<void> | undefined {
    return this.conn.sendData(this, c, false);
  }

  /**
   * Ends the response: with trailers (a HEADERS frame) or an END_STREAM after
   * the data. `never`: trailer names to send as never indexed.
   */
  end(
    trailers: readonly string[] | null,
    never: ReadonlySet<string> | null = null,
  ): Promise<void> | undefined {
    return this.conn.sendEnd(this, trailers, never);
  }

  /** Writes the last chunk and ends the stream. */
  writeEnd(c: Uint8Array): Promise<void> | undefined {
    return this.conn.sendData(this, c, true);
  }

  /** Resets the stream (RST_STREAM with `code`). */
  reset(code: number, reason: string): void {
    this.conn.resetStream(this, code, reason);
  }
}

export abstract class H2Session {
  protected streams = new Map<number, H2Stream>();
  protected dec: HpackDecoder;
  /** Our HPACK encoder: one dynamic table for everything this side sends. */
  protected enc = new HpackEncoder();
  private rbuf: Uint8Array = new Uint8Array(64 * 1024);
  private rpos = 0;
  private rlen = 0;
  // Output: accumulated here, swapped out at each write.
  private obuf: Uint8Array = new Uint8Array(64 * 1024);
  protected olen = 0;
  private spare: Uint8Array | null = new Uint8Array(64 * 1024);
  private writing = false;
  private flushQueued = false;
  private outWaiters: (() => void)[] = [];
  // Peer settings.
  protected peerInitialWindow = F.DEFAULT_WINDOW;
  protected peerMaxFrame = F.DEFAULT_MAX_FRAME;
  private connSendWindow = F.DEFAULT_WINDOW;
  private connRecvWindow = F.DEFAULT_WINDOW;
  private connUnacked = 0;
  private blocked: H2Stream[] = [];
  // Header block being assembled from HEADERS + CONTINUATION.
  private contStream = 0;
  private contEnd = false;
  private contBlock: Uint8Array | null = null;
  private contLen = 0;
  private contFrames = 0;
  /** Highest stream id the peer opened. */
  lastStreamId = 0;
  /** Peer SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says). */
  peerMaxStreams = Infinity;
  protected goawaySent = false;
  protected goawayReceived = false;
  protected closed = false;
  private abuse = 0;
  private abuseWindow = 0;
  protected idle: Deadline;
  private settingsSeen = false;
  /** Our SETTINGS frames not yet acknowledged, and the deadline for the oldest. */
  private settingsUnacked = 0;
  private settingsAck: Deadline;

  constructor(
    protected t: Transport,
    protected opts: SessionOptions,
    private isServer: boolean,
    private onClose: () => void,
  ) {
    this.dec = new HpackDecoder(4096);
    this.idle = {
      deadline: 0,
      fire: () => this.shutdown(),
    };
    this.settingsAck = {
      deadline: 0,
      fire: () => this.fail(F.SETTINGS_TIMEOUT, "SETTINGS not acknowledged in time"),
    };
  }

  /** A complete header block arrived for stream `sid`. */
  protected abstract onBlock(sid: number, end: boolean, b: Uint8Array, s: number, e: number): void;

  /** True for a stream id that was never opened. */
  protected abstract isIdle(sid: number): boolean;

  /** No stream is open any more. */
  protected onAllDone(): void {
    this.idle.deadline = now() + this.opts.idleTimeoutMs;
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** Runs the connection; `pre` holds bytes already read (starting with the preface). */
  async run(pre: Uint8Array | null): Promise<void> {
    if (pre && pre.length) {
      if (pre.length > this.rbuf.length) this.rbuf = new Uint8Array(pre.length + 16384);
      this.rbuf.set(pre);
      this.rlen = pre.length;
    }
    this.sendPreface();
    watch(this.idle);
    this.idle.deadline = now() + this.opts.idleTimeoutMs;
    const ackMs = this.opts.settingsTimeoutMs ?? SETTINGS_ACK_TIMEOUT_MS;
    if (ackMs > 0) {
      watch(this.settingsAck);
      this.settingsAck.deadline = now() + ackMs;
    }
    let prefaceOk = !this.isServer;
    try {
      for (;;) {
        if (!prefaceOk) {
          if (this.rlen >= 24) {
            for (let i = 0; i < 24; i++) {
              if (this.rbuf[i] !== F.PREFACE.charCodeAt(i)) {
                throw new ConnError(F.PROTOCOL_ERROR, "invalid connection preface");
              }
            }
            this.rpos = 24;
            prefaceOk = true;
          }
        }
        if (prefaceOk) this.parse();
        this.flush();
        if (this.closed) return;
        if (this.rpos === this.rlen) this.rpos = this.rlen = 0;
        else if (this.rbuf.length - this.rlen < 9 + MAX_FRAME_IN) {
          this.rbuf.copyWithin(0, this.rpos, this.rlen);
          this.rlen -= this.rpos;
          this.rpos = 0;
        }
        let n: number | null;
        try {
          n = await this.t.read(this.rbuf.subarray(this.rlen));
        } catch {
          n = null;
        }
        if (n === null) {
          this.destroy(
            this.isServer ? "client closed the connection" : "upstream closed the connection",
          );
          return;
        }
        this.rlen += n;
      }
    } catch (e) {
      if (e instanceof ConnError) this.fail(e.code, e.message);
      else this.fail(F.INTERNAL_ERROR, (e as Error).message);
    }
  }

  private sendPreface(): void {
    const o = this.opts;
    const settings: [number, number][] = [
      [F.SETTINGS_MAX_CONCURRENT_STREAMS, o.maxConcurrentStreams],
      [F.SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW],
      [F.SETTINGS_MAX_HEADER_LIST_SIZE, o.maxHeaderListSize],
      [F.SETTINGS_ENABLE_PUSH, 0],
      ...o.extraSettings,
    ];
    if (!this.isServer) {
      const q = this.reserve(24);
      for (let i = 0; i < 24; i++) this.obuf[q + i] = F.PREFACE.charCodeAt(i);
    }
    const p = this.reserve(9 + settings.length * 6 + 13);
    const b = this.obuf;
    F.frameHeader(b, p, settings.length * 6, F.SETTINGS, 0, 0);
    this.settingsUnacked++;
    let q = p + 9;
    for (const [id, v] of settings) {
      b[q] = 0;
      b[q + 1] = id;
      F.put32(b, q + 2, v);
      q += 6;
    }
    F.frameHeader(b, q, 4, F.WINDOW_UPDATE, 0, 0);
    F.put32(b, q + 9, CONN_WINDOW - F.DEFAULT_WINDOW);
    this.connRecvWindow = CONN_WINDOW;
  }

  // ---- input -------------------------------------------------------------

  private parse(): void {
    const b = this.rbuf;
    while (this.rlen - this.rpos >= 9 && !this.closed) {
      const p = this.rpos;
      const len = b[p] << 16 | b[p + 1] << 8 | b[p + 2];
      if (len > MAX_FRAME_IN) {
        throw new ConnError(F.FRAME_SIZE_ERROR, `frame of ${len} bytes above ${MAX_FRAME_IN}`);
      }
      if (this.rlen - p < 9 + len) {
        if (this.rbuf.length < 9 + len) throw new ConnError(F.INTERNAL_ERROR, "read buffer");
        return;
      }
      const type = b[p + 3];
      const flags = b[p + 4];
      const sid = F.u31(b, p + 5);
      this.rpos = p + 9 + len;
      this.frame(type, flags, sid, p + 9, p + 9 + len);
    }
  }

  private frame(type: number, flags: number, sid: number, s: number, e: number): void {
    const b = this.rbuf;
    if (!this.settingsSeen) {
      if (type !== F.SETTINGS || (flags & F.FLAG_ACK)) {
        throw new ConnError(F.PROTOCOL_ERROR, "the first frame must be SETTINGS");
      }
      this.settingsSeen = true;
    }
    if (this.contStream !== 0 && (type !== F.CONTINUATION || sid !== this.contStream)) {
      throw new ConnError(F.PROTOCOL_ERROR, "header block interrupted before END_HEADERS");
    }
    switch (type) {
      case F.DATA:
        return this.onData(flags, sid, s, e);
      case F.HEADERS: {
        if (sid === 0 || (sid & 1) === 0) {
          throw new ConnError(F.PROTOCOL_ERROR, `HEADERS on stream ${sid}`);
        }
        if (flags & F.FLAG_PADDED) {
          if (s >= e) throw new ConnError(F.FRAME_SIZE_ERROR, "HEADERS too short for padding");
          const pad = b[s++];
          if (pad > e - s) throw new ConnError(F.PROTOCOL_ERROR, "padding longer than HEADERS");
          e -= pad;
        }
        if (flags & F.FLAG_PRIORITY) {
          if (e - s < 5) throw new ConnError(F.FRAME_SIZE_ERROR, "HEADERS too short for priority");
          s += 5;
        }
        const end = (flags & F.FLAG_END_STREAM) !== 0;
        if (flags & F.FLAG_END_HEADERS) return this.onBlock(sid, end, b, s, e);
        this.contStream = sid;
        this.contEnd = end;
        this.contBlock = b.slice(s, e);
        this.contLen = e - s;
        this.contFrames = 1;
        return;
      }
      case F.CONTINUATION: {
        if (this.contStream === 0 || sid !== this.contStream) {
          throw new ConnError(F.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
        }
        const n = e - s;
        // CONTINUATION flood: a block may not grow past what we would accept.
        if (this.contLen + n > 2 * this.opts.maxHeaderListSize + 16384 || ++this.contFrames > 256) {
          throw new ConnError(F.ENHANCE_YOUR_CALM, "header block too large");
        }
        let blk = this.contBlock!;
        if (this.contLen + n > blk.length) {
          const nb = new Uint8Array(Math.max(blk.length * 2, this.contLen + n));
          nb.set(blk.subarray(0, this.contLen));
          blk = this.contBlock = nb;
        }
        blk.set(b.subarray(s, e), this.contLen);
        this.contLen += n;
        if (flags & F.FLAG_END_HEADERS) {
          const id = this.contStream;
          this.contStream = 0;
          this.contBlock = null;
          this.onBlock(id, this.contEnd, blk, 0, this.contLen);
        }
        return;
      }
      case F.PRIORITY:
        if (sid === 0) throw new ConnError(F.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (e - s !== 5) {
          const st = this.streams.get(sid);
          if (st) this.resetStream(st, F.FRAME_SIZE_ERROR, "bad PRIORITY frame");
        }
        return;
      case F.RST_STREAM: {
        if (e - s !== 4) throw new ConnError(F.FRAME_SIZE_ERROR, "RST_STREAM length");
        if (sid === 0) throw new ConnError(F.PROTOCOL_ERROR, "RST_STREAM on stream 0");
        if (this.isIdle(sid)) {
          throw new ConnError(F.PROTOCOL_ERROR, "RST_STREAM on idle stream");
        }
        const st = this.streams.get(sid);
        if (st) {
          const rc = F.u32(b, s);
          st.resetCode = rc;
          if (rc === F.REFUSED_STREAM) st.refused = true;
          // Rapid reset (CVE-2023-44487): client resets of streams in progress cost budget.
          if (this.isServer) this.charge(1);
          this.abortStream(
            st,
            this.isServer ? "client reset the stream" : `upstream reset the stream (code ${rc})`,
          );
        }
        return;
      }
      case F.SETTINGS:
        return this.onSettings(flags, sid, s, e);
      case F.PUSH_PROMISE:
        throw new ConnError(F.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case F.PING:
        if (sid !== 0) throw new ConnError(F.PROTOCOL_ERROR, "PING on a stream");
        if (e - s !== 8) throw new ConnError(F.FRAME_SIZE_ERROR, "PING length");
        if (flags & F.FLAG_ACK) return;
        this.charge(1);
        {
          const p = this.reserve(17);
          F.frameHeader(this.obuf, p, 8, F.PING, F.FLAG_ACK, 0);
          this.obuf.set(b.subarray(s, e), p + 9);
        }
        return;
      case F.GOAWAY:
        if (sid !== 0) throw new ConnError(F.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (e - s < 8) throw new ConnError(F.FRAME_SIZE_ERROR, "GOAWAY length");
        this.onGoaway(F.u31(b, s), F.u32(b, s + 4));
        return;
      case F.WINDOW_UPDATE:
        return this.onWindowUpdate(sid, s, e);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /** The peer will not process streams above `last`. */
  protected onGoaway(last: number, _code: number): void {
    this.goawayReceived = true;
    for (const st of [...this.streams.values()]) {
      if (st.id > last && !this.isServer) {
        st.refused = true;
        this.abortStream(st, "upstream sent GOAWAY before the stream");
      }
    }
    if (this.streams.size === 0) this.shutdown();
  }

  /** Spends abuse budget; too much in one second ends the connection. */
  protected charge(n: number): void {
    const t = now();
    if (t - this.abuseWindow > 1000) {
      this.abuseWindow = t;
      this.abuse = 0;
    }
    this.abuse += n;
    if (this.abuse > ABUSE_PER_SECOND) {
      throw new ConnError(F.ENHANCE_YOUR_CALM, "too many resets or control frames");
    }
  }

  private onSettings(flags: number, sid: number, s: number, e: number): void {
    if (sid !== 0) throw new ConnError(F.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & F.FLAG_ACK) {
      if (e !== s) throw new ConnError(F.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      // We send one SETTINGS (the preface): its ACK ends the timeout. A
      // stray ACK is tolerated.
      if (this.settingsUnacked > 0 && --this.settingsUnacked === 0) {
        this.settingsAck.deadline = 0;
        unwatch(this.settingsAck);
      }
      return;
    }
    if ((e - s) % 6 !== 0) throw new ConnError(F.FRAME_SIZE_ERROR, "SETTINGS length");
    this.charge(1);
    const b = this.rbuf;
    for (let p = s; p < e; p += 6) {
      const id = b[p] << 8 | b[p + 1];
      const v = F.u32(b, p + 2);
      if (id === F.SETTINGS_ENABLE_PUSH && v > 1) {
        throw new ConnError(F.PROTOCOL_ERROR, "SETTINGS_ENABLE_PUSH above 1");
      } else if (id === F.SETTINGS_INITIAL_WINDOW_SIZE) {
        if (v > F.MAX_WINDOW) throw new ConnError(F.FLOW_CONTROL_ERROR, "initial window too large");
        const delta = v - this.peerInitialWindow;
        this.peerInitialWindow = v;
        for (const st of this.streams.values()) {
          st.sendWindow += delta;
          if (st.sendWindow > F.MAX_WINDOW) {
            throw new ConnError(F.FLOW_CONTROL_ERROR, "stream window overflow");
          }
        }
      } else if (id === F.SETTINGS_MAX_CONCURRENT_STREAMS) {
        this.peerMaxStreams = v;
      } else if (id === F.SETTINGS_MAX_FRAME_SIZE) {
        if (v < F.DEFAULT_MAX_FRAME || v > 0xffffff) {
          throw new ConnError(F.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${v} out of range`);
        }
        this.peerMaxFrame = v;
      } else if (id === F.SETTINGS_HEADER_TABLE_SIZE) {
        // Our next header block starts with the size update (RFC 7541 §4.2).
        this.enc.setPeerLimit(v);
      }
    }
    const p = this.reserve(9);
    F.frameHeader(this.obuf, p, 0, F.SETTINGS, F.FLAG_ACK, 0);
    this.pumpBlocked();
  }

  private onWindowUpdate(sid: number, s: number, e: number): void {
    if (e - s !== 4) throw new ConnError(F.FRAME_SIZE_ERROR, "WINDOW_UPDATE length");
    const inc = F.u31(this.rbuf, s);
    if (sid === 0) {
      if (inc === 0) throw new ConnError(F.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.connSendWindow += inc;
      if (this.connSendWindow > F.MAX_WINDOW) {
        throw new ConnError(F.FLOW_CONTROL_ERROR, "connection window overflow");
      }
      this.pumpBlocked();
      return;
    }
    const st = this.streams.get(sid);
    if (!st) return;
    if (inc === 0) return this.resetStream(st, F.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
    st.sendWindow += inc;
    if (st.sendWindow > F.MAX_WINDOW) {
      return this.resetStream(st, F.FLOW_CONTROL_ERROR, "stream window overflow");
    }
    this.pump(st);
  }

  private onData(flags: number, sid: number, s: number, e: number): void {
    if (sid === 0) throw new ConnError(F.PROTOCOL_ERROR, "DATA on stream 0");
    const frameLen = e - s;
    this.connRecvWindow -= frameLen;
    if (this.connRecvWindow < 0) {
      throw new ConnError(F.FLOW_CONTROL_ERROR, "connection window exceeded");
    }
    const b = this.rbuf;
    if (flags & F.FLAG_PADDED) {
      if (s >= e) throw new ConnError(F.FRAME_SIZE_ERROR, "DATA too short for padding");
      const pad = b[s++];
      if (pad > e - s) throw new ConnError(F.PROTOCOL_ERROR, "padding longer than DATA");
      e -= pad;
    }
    const st = this.streams.get(sid);
    if (!st) {
      if (this.isIdle(sid)) throw new ConnError(F.PROTOCOL_ERROR, "DATA on idle stream");
      this.credit(null, frameLen); // a stream we closed: the bytes still count for the connection
      return;
    }
    if (st.remoteClosed) {
      this.credit(null, frameLen);
      return this.resetStream(st, F.STREAM_CLOSED, "DATA after END_STREAM");
    }
    st.recvWindow -= frameLen;
    if (st.recvWindow < 0) {
      this.credit(null, frameLen);
      return this.resetStream(st, F.FLOW_CONTROL_ERROR, "stream window exceeded");
    }
    const n = e - s;
    const end = (flags & F.FLAG_END_STREAM) !== 0;
    if (n === 0 && !end) this.charge(1); // empty DATA floods
    // Padding is returned at once; data when the reader takes it.
    if (frameLen > n) this.credit(st, frameLen - n);
    const err = st.body.push(n > 0 ? b.slice(s, e) : null, end);
    if (err) {
      this.resetStream(st, F.PROTOCOL_ERROR, err);
      return;
    }
    if (end) this.remoteEnd(st);
  }

  /** Returns `n` consumed bytes to the peer's windows (WINDOW_UPDATE when half a window is used). */
  credit(st: H2Stream | null, n: number): void {
    if (n <= 0 || this.closed) return;
    this.connUnacked += n;
    if (this.connUnacked >= CONN_WINDOW / 2) {
      this.windowUpdate(0, this.connUnacked);
      this.connRecvWindow += this.connUnacked;
      this.connUnacked = 0;
    }
    if (st && !st.remoteClosed && !st.aborted) {
      st.unacked += n;
      if (st.unacked >= STREAM_WINDOW / 2) {
        this.windowUpdate(st.id, st.unacked);
        st.recvWindow += st.unacked;
        st.unacked = 0;
      }
    }
    this.scheduleFlush();
  }

  private windowUpdate(sid: number, n: number): void {
    const p = this.reserve(13);
    F.frameHeader(this.obuf, p, 4, F.WINDOW_UPDATE, 0, sid);
    F.put32(this.obuf, p + 9, n);
  }

  /** Trailers arrived; `never` is the decoder's never-indexed names of that block. */
  protected onTrailers(
    st: H2Stream,
    end: boolean,
    kv: string[],
    never: Set<string> | null = null,
  ): void {
    if (st.remoteClosed) return this.resetStream(st, F.STREAM_CLOSED, "HEADERS after END_STREAM");
    if (!end) return this.resetStream(st, F.PROTOCOL_ERROR, "trailers without END_STREAM");
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i].charCodeAt(0) === 58) {
        return this.resetStream(st, F.PROTOCOL_ERROR, "pseudo-header in trailers");
      }
    }
    st.body.trail = kv;
    st.body.trailNever = never;
    const err = st.body.push(null, true);
    if (err) return this.resetStream(st, F.PROTOCOL_ERROR, err);
    this.remoteEnd(st);
  }

  protected remoteEnd(st: H2Stream): void {
    st.remoteClosed = true;
    if (st.localClosed) this.forget(st);
  }

  // ---- output ------------------------------------------------------------

  /** Reserves `n` bytes at the end of the output buffer; returns their offset. */
  protected reserve(n: number): number {
    const p = this.olen;
    if (p + n > this.obuf.length) {
      const nb = new Uint8Array(Math.max(this.obuf.length * 2, p + n));
      nb.set(this.obuf.subarray(0, p));
      this.obuf = nb;
    }
    this.olen = p + n;
    return p;
  }

  protected rst(sid: number, code: number): void {
    const p = this.reserve(13);
    F.frameHeader(this.obuf, p, 4, F.RST_STREAM, 0, sid);
    F.put32(this.obuf, p + 9, code);
    this.scheduleFlush();
  }

  sendHeaders(
    st: H2Stream,
    status: number | null,
    kv: readonly string[],
    end: boolean,
    never: ReadonlySet<string> | null = null,
  ): void {
    if (st.aborted || st.headersSent) return;
    st.headersSent = true;
    // Encoded and framed in one go: blocks must reach the peer in encoding order.
    const enc = this.enc;
    enc.begin();
    if (status !== null) {
      if (never !== null && never.has(":status")) enc.neverField(":status", String(status));
      else enc.status(status);
    }
    enc.fields(kv, never);
    this.headerFrames(st.id, enc.w.buf, enc.w.len, end);
    if (end) this.localEnd(st);
    this.scheduleFlush();
  }

  private headerFrames(sid: number, blk: Uint8Array, len: number, end: boolean): void {
    const max = this.peerMaxFrame;
    let off = 0;
    let type = F.HEADERS;
    do {
      const n = Math.min(max, len - off);
      const last = off + n === len;
      let flags = last ? F.FLAG_END_HEADERS : 0;
      if (type === F.HEADERS && end) flags |= F.FLAG_END_STREAM;
      const p = this.reserve(9 + n);
      F.frameHeader(this.obuf, p, n, type, flags, sid);
      this.obuf.set(blk.subarray(off, off + n), p + 9);
      off += n;
      type = F.CONTINUATION;
    } while (off < len);
  }

  sendData(st: H2Stream, c: Uint8Array, end: boolean): Promise<void> | undefined {
    if (st.aborted || st.localClosed || st.endPending) return undefined;
    if (c.length > 0) {
      // Fast path: nothing queued and the windows take it all.
      if (
        st.outq.length === 0 && c.length <= st.sendWindow && c.length <= this.connSendWindow &&
        c.length <= this.peerMaxFrame
      ) {
        this.dataFrame(st, c, end ? F.FLAG_END_STREAM : 0);
        if (end) this.localEnd(st);
        this.scheduleFlush();
        return this.olen > OUT_HIGH ? this.outDrain() : undefined;
      }
      st.outq.push(c.slice());
    }
    if (end) st.endPending = true;
    this.pump(st);
    this.scheduleFlush();
    if (st.outq.length > 0 || st.endPending) {
      return new Promise<void>((r) => (st.drainWaiter = r));
    }
    return this.olen > OUT_HIGH ? this.outDrain() : undefined;
  }

  sendEnd(
    st: H2Stream,
    trailers: readonly string[] | null,
    never: ReadonlySet<string> | null = null,
  ): Promise<void> | undefined {
    if (st.aborted || st.localClosed || st.endPending) return undefined;
    if (trailers && trailers.length) {
      st.trailersPending = trailers.slice();
      st.trailersNever = never;
    }
    st.endPending = true;
    this.pump(st);
    this.scheduleFlush();
    if (st.endPending) return new Promise<void>((r) => (st.drainWaiter = r));
    return undefined;
  }

  private dataFrame(st: H2Stream, c: Uint8Array, flags: number): void {
    const p = this.reserve(9 + c.length);
    F.frameHeader(this.obuf, p, c.length, F.DATA, flags, st.id);
    this.obuf.set(c, p + 9);
    st.sendWindow -= c.length;
    this.connSendWindow -= c.length;
  }

  /** Sends what the windows allow of a stream's queued data (and its end). */
  private pump(st: H2Stream): void {
    while (st.outq.length > 0 && !st.aborted) {
      const c = st.outq[0];
      const room = Math.min(st.sendWindow, this.connSendWindow, this.peerMaxFrame);
      if (room <= 0) {
        if (!this.blocked.includes(st)) this.blocked.push(st);
        return;
      }
      const n = Math.min(room, c.length);
      const lastOfAll = n === c.length && st.outq.length === 1;
      const endHere = lastOfAll && st.endPending && st.trailersPending === null;
      this.dataFrame(st, n === c.length ? c : c.subarray(0, n), endHere ? F.FLAG_END_STREAM : 0);
      if (n === c.length) st.outq.shift();
      else st.outq[0] = c.subarray(n);
      if (endHere) {
        st.endPending = false;
        this.localEnd(st);
      }
    }
    if (st.aborted) return;
    if (st.endPending) {
      st.endPending = false;
      const t = st.trailersPending;
      st.trailersPending = null;
      if (t) {
        const enc = this.enc;
        enc.begin();
        enc.fields(t, st.trailersNever);
        st.trailersNever = null;
        this.headerFrames(st.id, enc.w.buf, enc.w.len, true);
      } else {
        const p = this.reserve(9);
        F.frameHeader(this.obuf, p, 0, F.DATA, F.FLAG_END_STREAM, st.id);
      }
      this.localEnd(st);
    }
    const w = st.drainWaiter;
    if (w && st.outq.length === 0) {
      st.drainWaiter = null;
      w();
    }
  }

  private pumpBlocked(): void {
    if (this.blocked.length === 0) return;
    const list = this.blocked;
    this.blocked = [];
    for (const st of list) this.pump(st);
    this.scheduleFlush();
  }

  /** The response is complete: the stream closes once the request side is done too. */
  private localEnd(st: H2Stream): void {
    st.localClosed = true;
    if (st.remoteClosed) return this.forget(st);
    if (!this.isServer) return; // the response follows the request
    // RFC 9113 §8.1: a complete response may stop the rest of the request body.
    this.rst(st.id, F.NO_ERROR);
    st.remoteClosed = true;
    st.body.abandon();
    this.forget(st);
  }

  protected forget(st: H2Stream): void {
    if (this.streams.get(st.id) !== st) return;
    this.streams.delete(st.id);
    const done = st.onDone;
    st.onDone = null;
    if (done) done();
    if (this.streams.size === 0) {
      if (this.goawaySent || this.goawayReceived) this.closeAfterFlush();
      else this.onAllDone();
    }
  }

  /** Stream error: RST_STREAM and the stream's users are told. */
  resetStream(st: H2Stream, code: number, reason: string): void {
    if (this.streams.get(st.id) === st) this.rst(st.id, code);
    this.abortStream(st, reason);
  }

  protected abortStream(st: H2Stream, reason: string): void {
    if (st.aborted) return;
    st.aborted = true;
    st.outq.length = 0;
    // What the peer sent completely stays readable (RFC 9113 §8.1: a complete
    // response may be followed by RST_STREAM(NO_ERROR)); a partial body fails.
    if (!st.remoteClosed) {
      st.body.fail(reason);
      // Bytes the reader will never take still count for the connection window.
      const left = st.body.discard();
      if (left > 0) this.credit(null, left);
    }
    const w = st.drainWaiter;
    st.drainWaiter = null;
    if (w) w();
    const i = this.blocked.indexOf(st);
    if (i >= 0) this.blocked.splice(i, 1);
    st.remoteClosed = st.localClosed = true;
    this.forget(st);
    const f = st.onAbort;
    st.onAbort = null;
    if (f) f(reason);
  }

  protected scheduleFlush(): void {
    if (this.flushQueued || this.writing || this.closed) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  private outDrain(): Promise<void> {
    return new Promise<void>((r) => this.outWaiters.push(r));
  }

  /** Writes everything pending as one write; output produced meanwhile follows in the next. */
  private flush(): void {
    if (this.writing || this.olen === 0 || this.t === null) return;
    this.writing = true;
    const out = this.obuf.subarray(0, this.olen);
    const next = this.spare && this.spare.length >= 16384 ? this.spare : new Uint8Array(64 * 1024);
    this.spare = null;
    const held = this.obuf;
    this.obuf = next;
    this.olen = 0;
    this.writeAll(out).then(() => {
      this.writing = false;
      this.spare = held.length <= 1024 * 1024 ? held : null;
      if (this.olen > 0) this.flush();
      if (this.olen <= OUT_HIGH && this.outWaiters.length) {
        const ws = this.outWaiters;
        this.outWaiters = [];
        for (const w of ws) w();
      }
      if (this.closing && this.olen === 0 && !this.writing) this.destroy("closed");
    }, () => {
      this.writing = false;
      this.destroy("write to the client failed");
    });
  }

  private writeAll(p: Uint8Array): Promise<void> {
    return this.t.write(p).then((n): Promise<void> | void => {
      if (n < p.length) return this.writeAll(p.subarray(n));
    });
  }

  // ---- shutdown ----------------------------------------------------------

  private closing = false;

  private goaway(code: number, msg: string): void {
    const dbg = new TextEncoder().encode(msg.slice(0, 200));
    const p = this.reserve(17 + dbg.length);
    F.frameHeader(this.obuf, p, 8 + dbg.length, F.GOAWAY, 0, 0);
    F.put32(this.obuf, p + 9, this.lastStreamId);
    F.put32(this.obuf, p + 13, code);
    this.obuf.set(dbg, p + 17);
    this.goawaySent = true;
  }

  /** Graceful: GOAWAY, finish the open streams, then close. */
  shutdown(): void {
    if (this.closed) return;
    if (!this.goawaySent) this.goaway(F.NO_ERROR, "");
    if (this.streams.size === 0) this.closeAfterFlush();
    this.scheduleFlush();
  }

  private closeAfterFlush(): void {
    this.closing = true;
    if (this.olen === 0 && !this.writing) this.destroy("closed");
    else this.scheduleFlush();
  }

  /** Connection error: GOAWAY with `code`, every stream aborted, then close. */
  private fail(code: number, msg: string): void {
    if (this.closed) return;
    if (!this.goawaySent) this.goaway(code, msg);
    for (const st of [...this.streams.values()]) this.abortStream(st, `connection error: ${msg}`);
    this.closing = true;
    this.flush();
    if (!this.writing) this.destroy(msg);
  }

  /** Immediate close. */
  destroy(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    unwatch(this.idle);
    unwatch(this.settingsAck);
    for (const st of [...this.streams.values()]) this.abortStream(st, reason);
    try {
      this.t.close();
    } catch {
      // already closed
    }
    for (const w of this.outWaiters) w();
    this.outWaiters = [];
    this.onClose();
  }
}
