/**
 * Client side of an HTTP/2 connection, for H2C / GRPC upstream clusters:
 * requests open odd-numbered streams, the response head (interim 1xx
 * skipped), body and trailers come back on the same stream.
 */
import type { Transport } from "../io/transport.ts";
import { HpackError } from "./hpack.ts";
import * as F from "./frames.ts";
import { ConnError } from "./frames.ts";
import { H2Session, H2Stream, SETTINGS_ACK_TIMEOUT_MS } from "./session.ts";

export interface ResponseHead {
  status: number;
  /** Regular fields (lowercase name, value, ...). */
  headers: string[];
  /** No body follows (trailers-only or END_STREAM on the head). */
  endStream: boolean;
  /** Names the upstream sent as "literal never indexed" (RFC 7541 §6.2.3), or null (usual). */
  neverIndexed: Set<string> | null;
}

/** A request stream whose response head arrives as a promise. */
export class ClientStream extends H2Stream {
  gotHead = false;
  readonly head: Promise<ResponseHead>;
  resolveHead!: (h: ResponseHead) => void;
  private rejectHead!: (e: Error) => void;

  constructor(conn: H2ClientConn, id: number, sendWindow: number) {
    super(conn, id, sendWindow, -1);
    this.head = new Promise<ResponseHead>((res, rej) => {
      this.resolveHead = res;
      this.rejectHead = rej;
    });
    // Nobody may be awaiting yet: keep a rejection from being "unhandled".
    this.head.catch(() => {});
    this.onAbort = (reason) => {
      if (!this.gotHead) this.rejectHead(new Error(reason));
    };
  }
}

/** Keeps an idle connection from holding the process open. */
export interface Refable {
  ref(): void;
  unref(): void;
}

export class H2ClientConn extends H2Session {
  private nextId = 1;
  private slotWaiters: (() => void)[] = [];

  constructor(
    t: Transport,
    idleTimeoutMs: number,
    onClose: () => void,
    private refs: Refable | null = null,
    /** Bound on the server's SETTINGS ACK (GOAWAY SETTINGS_TIMEOUT); 0 = off. */
    settingsTimeoutMs = SETTINGS_ACK_TIMEOUT_MS,
  ) {
    super(
      t,
      {
        maxConcurrentStreams: 100,
        maxHeaderListSize: 256 * 1024,
        idleTimeoutMs,
        extraSettings: [],
        settingsTimeoutMs,
      },
      false,
      () => {
        for (const w of this.slotWaiters) w();
        this.slotWaiters = [];
        onClose();
      },
    );
  }

  /** Starts the read loop (the client preface is sent first). */
  start(): void {
    this.run(null);
  }

  /** The connection can take new streams. */
  get usable(): boolean {
    return !this.closed && !this.goawaySent && !this.goawayReceived && this.nextId < 0x7fffffff;
  }

  /** The peer's stream limit is reached: wait for `slot()`. */
  get full(): boolean {
    return this.streams.size >= this.peerMaxStreams;
  }

  /** Resolves when a stream closes (or the connection does). */
  slot(): Promise<void> {
    return new Promise<void>((r) => this.slotWaiters.push(r));
  }

  /**
   * Opens a stream with request fields `kv` (pseudo-headers first); names in
   * `never` go out as "literal never indexed" (this request only).
   */
  open(
    kv: readonly string[],
    end: boolean,
    never: ReadonlySet<string> | null = null,
  ): ClientStream {
    const st = new ClientStream(this, this.nextId, this.peerInitialWindow);
    this.nextId += 2;
    this.streams.set(st.id, st);
    this.idle.deadline = 0;
    if (this.streams.size === 1) this.refs?.ref();
    st.request(kv, end, never);
    return st;
  }

  protected isIdle(sid: number): boolean {
    return sid >= this.nextId;
  }

  protected override forget(st: H2Stream): void {
    super.forget(st);
    const w = this.slotWaiters.shift();
    if (w) w();
  }

  protected override onAllDone(): void {
    super.onAllDone();
    this.refs?.unref();
  }

  protected onBlock(sid: number, end: boolean, b: Uint8Array, s: number, e: number): void {
    const kv: string[] = [];
    try {
      this.dec.decode(b, s, e, kv);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnError(F.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const st = this.streams.get(sid) as ClientStream | undefined;
    if (!st) {
      if (this.isIdle(sid)) throw new ConnError(F.PROTOCOL_ERROR, `HEADERS on idle stream ${sid}`);
      return; // a stream we reset: decoded only for HPACK state
    }
    const never = this.dec.neverIndexed;
    if (st.gotHead) return this.onTrailers(st, end, kv, never);
    let status = -1;
    const headers: string[] = [];
    let cl = -1;
    for (let i = 0; i < kv.length; i += 2) {
      const n = kv[i];
      if (n.charCodeAt(0) === 58) {
        if (n !== ":status" || status !== -1 || headers.length) {
          return this.resetStream(st, F.PROTOCOL_ERROR, `upstream sent a malformed ${n}`);
        }
        status = /^[1-9][0-9]{2}$/.test(kv[i + 1]) ? Number(kv[i + 1]) : -2;
        continue;
      }
      if (n === "content-length") cl = Number(kv[i + 1]);
      headers.push(n, kv[i + 1]);
    }
    if (status < 100) {
      return this.resetStream(st, F.PROTOCOL_ERROR, "upstream response without a valid :status");
    }
    if (status < 200) {
      if (end) return this.resetStream(st, F.PROTOCOL_ERROR, "interim response ended the stream");
      return; // 1xx: the final head follows
    }
    st.gotHead = true;
    if (Number.isFinite(cl) && cl >= 0) st.body.length = cl;
    st.resolveHead({ status, headers, endStream: end, neverIndexed: never });
    if (end) {
      st.body.push(null, true);
      this.remoteEnd(st);
    }
  }
}
