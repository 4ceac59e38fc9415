/**
 * Server side of an HTTP/2 connection: client-opened streams become
 * validated request heads (RFC 9113 §8.2–8.3) handed to the engine; the
 * stream limit, header list limits (431) and the rapid-reset budget apply.
 */
import type { Transport } from "../io/transport.ts";
import { HpackError } from "./hpack.ts";
import * as F from "./frames.ts";
import { ConnError } from "./frames.ts";
import { H2Session, H2Stream } from "./session.ts";

export { H2Stream } from "./session.ts";

export interface H2Options {
  maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: larger header lists are answered 431. */
  maxHeaderListSize: number;
  /** More fields than this are answered 431. */
  maxHeaders: number;
  /** A connection without streams for this long is closed (GOAWAY). */
  idleTimeoutMs: number;
  /** Bound on the client's SETTINGS ACK (GOAWAY SETTINGS_TIMEOUT); default 10 s, 0 = off. */
  settingsTimeoutMs?: number;
}

/** A validated request head. `refuse` is set when the request must be answered with an error. */
export interface RequestHead {
  method: string;
  scheme: string;
  authority: string;
  path: string;
  /** `:protocol` of an extended CONNECT (RFC 8441), else null. */
  protocol: string | null;
  /** Regular fields (lowercase name, value, ...); cookies joined with "; ". */
  headers: string[];
  /** content-length, or -1. */
  contentLength: number;
  /** The request has no body (END_STREAM on its HEADERS). */
  endStream: boolean;
  refuse: { status: number; reason: string } | null;
  /**
   * Names the client sent as "literal never indexed" (RFC 7541 §6.2.3): to be
   * forwarded the same way with this request only. Null when none (usual).
   */
  neverIndexed: Set<string> | null;
}

export type StreamHandler = (s: H2Stream, head: RequestHead) => void;

/** Token characters allowed in a lowercase field name (RFC 9110 §5.6.2). */
const NAME_OK = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") NAME_OK[c.charCodeAt(0)] = 1;

export class H2ServerConn extends H2Session {
  private maxHeaders: number;

  constructor(t: Transport, opts: H2Options, private onStream: StreamHandler, onClose: () => void) {
    super(
      t,
      {
        maxConcurrentStreams: opts.maxConcurrentStreams,
        maxHeaderListSize: opts.maxHeaderListSize,
        idleTimeoutMs: opts.idleTimeoutMs,
        settingsTimeoutMs: opts.settingsTimeoutMs,
        // RFC 8441: WebSocket over HTTP/2 via extended CONNECT.
        extraSettings: [[F.SETTINGS_ENABLE_CONNECT_PROTOCOL, 1]],
      },
      true,
      onClose,
    );
    this.maxHeaders = opts.maxHeaders;
  }

  protected isIdle(sid: number): boolean {
    return sid > this.lastStreamId;
  }

  protected onBlock(sid: number, end: boolean, b: Uint8Array, s: number, e: number): void {
    const kv: string[] = [];
    let listSize: number;
    try {
      listSize = this.dec.decode(b, s, e, kv);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnError(F.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const never = this.dec.neverIndexed;
    const st = this.streams.get(sid);
    if (st) return this.onTrailers(st, end, kv, never);
    if (sid <= this.lastStreamId) {
      // A stream already closed: decoded only for HPACK state, and it costs budget.
      this.charge(1);
      return;
    }
    this.lastStreamId = sid;
    if (this.goawaySent || this.goawayReceived) return;
    if (this.streams.size >= this.opts.maxConcurrentStreams) {
      this.charge(1);
      this.rst(sid, F.REFUSED_STREAM);
      return;
    }
    const head = validate(kv, end);
    if (typeof head === "string") {
      this.rst(sid, F.PROTOCOL_ERROR);
      return;
    }
    head.neverIndexed = never;
    if (listSize > this.opts.maxHeaderListSize) {
      head.refuse = {
        status: 431,
        reason:
          `header list of ${listSize} bytes exceeds the ${this.opts.maxHeaderListSize} allowed`,
      };
    } else if (head.headers.length / 2 > this.maxHeaders) {
      head.refuse = {
        status: 431,
        reason: `${head.headers.length / 2} header fields exceed the ${this.maxHeaders} allowed`,
      };
    }
    const ns = new H2Stream(this, sid, this.peerInitialWindow, head.contentLength);
    this.streams.set(sid, ns);
    this.idle.deadline = 0;
    if (end) {
      ns.body.push(null, true);
      ns.remoteClosed = true;
    }
    try {
      this.onStream(ns, head);
    } catch (err) {
      // A failing handler costs its stream, not the connection.
      this.resetStream(ns, F.INTERNAL_ERROR, (err as Error).message);
    }
  }
}

/**
 * RFC 9113 §8.2–8.3 request checks. Returns the head (its `headers` is `kv`,
 * compacted to the regular fields), or why the request is malformed.
 */
export function validate(kv: string[], endStream: boolean): RequestHead | string {
  let method: string | null = null;
  let scheme: string | null = null;
  let authority: string | null = null;
  let path: string | null = null;
  let protocol: string | null = null;
  let regular = false;
  let cl = -1;
  let cookie: string | null = null;
  // Regular fields are compacted in place (pseudo-headers come first): no second array.
  let w = 0;
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    const v = kv[i + 1];
    if (n.charCodeAt(0) === 58) {
      if (regular) return "pseudo-header after a regular field";
      if (n === ":method") {
        if (method !== null) return "duplicate :method";
        method = v;
      } else if (n === ":scheme") {
        if (scheme !== null) return "duplicate :scheme";
        scheme = v;
      } else if (n === ":authority") {
        if (authority !== null) return "duplicate :authority";
        authority = v;
      } else if (n === ":path") {
        if (path !== null) return "duplicate :path";
        path = v;
      } else if (n === ":protocol") {
        if (protocol !== null) return "duplicate :protocol";
        protocol = v;
      } else return `pseudo-header ${n} not allowed in a request`;
      continue;
    }
    regular = true;
    if (n.length === 0) return "empty field name";
    for (let j = 0; j < n.length; j++) {
      const c = n.charCodeAt(j);
      if (c >= 128 || NAME_OK[c] === 0) return `invalid field name ${JSON.stringify(n)}`;
    }
    for (let j = 0; j < v.length; j++) {
      const c = v.charCodeAt(j);
      if (c === 0 || c === 10 || c === 13) return `invalid character in ${n}`;
    }
    if (v.length > 0) {
      const a = v.charCodeAt(0);
      const z = v.charCodeAt(v.length - 1);
      if (a === 32 || a === 9 || z === 32 || z === 9) return `whitespace around the value of ${n}`;
    }
    if (F.CONNECTION_SPECIFIC.has(n)) return `connection-specific field ${n}`;
    if (n === "te" && v !== "trailers") return "te other than trailers";
    if (n === "content-length") {
      if (!/^[0-9]{1,15}$/.test(v)) return "invalid content-length";
      const x = Number(v);
      const dup = cl !== -1;
      if (dup && cl !== x) return "conflicting content-length";
      cl = x;
      if (dup) continue;
    }
    if (n === "cookie") {
      // RFC 9113 §8.2.3: split cookie fields are joined for HTTP/1.1.
      cookie = cookie === null ? v : `${cookie}; ${v}`;
      continue;
    }
    kv[w++] = n;
    kv[w++] = v;
  }
  kv.length = w;
  if (cookie !== null) kv.push("cookie", cookie);
  if (method === null) return "missing :method";
  if (method === "CONNECT") {
    if (protocol !== null) {
      if (scheme === null || path === null || authority === null) {
        return "extended CONNECT needs :scheme, :path and :authority";
      }
    } else if (scheme !== null || path !== null || authority === null) {
      return "CONNECT takes only :method and :authority";
    }
  } else {
    if (protocol !== null) return ":protocol is only allowed with CONNECT";
    if (scheme === null || path === null) return "missing :scheme or :path";
    if (path === "" || (path.charCodeAt(0) !== 47 && !(path === "*" && method === "OPTIONS"))) {
      return "invalid :path";
    }
  }
  if (endStream && cl > 0) return "content-length without a body";
  return {
    method,
    scheme: scheme ?? "",
    authority: authority ?? "",
    path: path ?? "",
    protocol,
    headers: kv,
    contentLength: cl,
    endStream,
    refuse: null,
    neverIndexed: null,
  };
}
