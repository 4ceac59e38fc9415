/**
 * Strict HTTP/1.1 head parsing (RFC 9112) for the raw engine. Anything that
 * could let two parsers disagree about where a message ends is refused:
 * Content-Length with Transfer-Encoding, duplicate or malformed
 * Content-Length, transfer codings other than a lone "chunked", obs-fold,
 * whitespace before the colon, bare CR/LF and control characters.
 */
import { Hdrs } from "../core/headers.ts";
import { latin1 } from "../io/transport.ts";

/** A refusal: HTTP status, and a reason for the body and the access log. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly reason: string) {
    super(reason);
  }
}

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 10 or 11. */
  readonly version: number;
  readonly headers: Hdrs;
  readonly host: string | null;
  /** -1 when absent. */
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly keepAlive: boolean;
  /** Lowercased `Upgrade` value when `Connection: upgrade` was sent. */
  readonly upgrade: string | null;
  readonly expectContinue: boolean;
}

export interface ResponseHead {
  readonly status: number;
  readonly reason: string;
  readonly version: number;
  readonly headers: Hdrs;
  readonly contentLength: number;
  readonly chunked: boolean;
  readonly keepAlive: boolean;
}

/** tchar lookup (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TCHAR[c.charCodeAt(0)] = 1;
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TCHAR[c] === 0) return false;
  }
  return true;
}

/** field-value: VCHAR, obs-text, SP, HTAB. */
function badValueChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/**
 * Common field names, lowercase, by length: a header whose name matches one
 * (ASCII case-insensitively) gets this string, so the usual fields cost no
 * name slice, case folding or token scan per message.
 */
const KNOWN: string[][] = [];
for (
  const n of [
    "host",
    "date",
    "vary",
    "etag",
    "accept",
    "cookie",
    "server",
    "origin",
    "expect",
    "pragma",
    "upgrade",
    "referer",
    "location",
    "connection",
    "keep-alive",
    "user-agent",
    "set-cookie",
    "content-type",
    "x-request-id",
    "traceparent",
    "authorization",
    "cache-control",
    "last-modified",
    "accept-ranges",
    "if-none-match",
    "content-length",
    "accept-encoding",
    "accept-language",
    "content-encoding",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "transfer-encoding",
    "if-modified-since",
  ]
) (KNOWN[n.length] ??= []).push(n);

/** The known lowercase name equal to s[from, to) ignoring ASCII case, else null. */
function knownName(s: string, from: number, to: number): string | null {
  const list = KNOWN[to - from];
  if (list === undefined) return null;
  for (const k of list) {
    let i = 0;
    for (; i < k.length; i++) {
      const want = k.charCodeAt(i);
      const c = s.charCodeAt(from + i);
      // Known names are lowercase letters and "-": a letter may come in either case.
      if (c !== want && !(want >= 97 && want <= 122 && c === want - 32)) break;
    }
    if (i === k.length) return k;
  }
  return null;
}

/** 1–15 ASCII digits as a number, else -1. */
function decimal(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

interface FieldSummary {
  contentLength: number;
  chunked: boolean;
  connClose: boolean;
  connKeepAlive: boolean;
  connUpgrade: boolean;
  host: string | null;
  upgrade: string | null;
  expect: string | null;
}

/** Parses header lines from `s` starting at `pos` (after the start line). */
function parseFields(
  s: string,
  pos: number,
  maxHeaders: number,
  h: Hdrs,
  isRequest: boolean,
): FieldSummary {
  const sum: FieldSummary = {
    contentLength: -1,
    chunked: false,
    connClose: false,
    connKeepAlive: false,
    connUpgrade: false,
    host: null,
    upgrade: null,
    expect: null,
  };
  let count = 0;
  let sawCl = false;
  let sawTe = false;
  let sawHost = false;
  const kv = h.kv;
  // s ends with "\r\n\r\n"; the final empty line stops the loop.
  const limit = s.length - 2;
  while (pos < limit) {
    const eol = s.indexOf("\r\n", pos);
    if (eol < 0) throw new HttpError(400, "malformed header section");
    const first = s.charCodeAt(pos);
    if (first === 32 || first === 9) throw new HttpError(400, "obsolete line folding (obs-fold)");
    const colon = s.indexOf(":", pos);
    if (colon < 0 || colon > eol) throw new HttpError(400, "header line without a colon");
    let name = knownName(s, pos, colon);
    if (name === null) {
      const rawName = s.slice(pos, colon);
      if (!isToken(rawName)) throw new HttpError(400, "invalid header name");
      name = rawName.toLowerCase();
    }
    // Value without surrounding optional whitespace, sliced once.
    let a = colon + 1;
    let b = eol;
    while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
    while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
    const value = s.slice(a, b);
    if (badValueChar(value)) throw new HttpError(400, "invalid character in header value");
    if (++count > maxHeaders) throw new HttpError(431, "too many header fields");
    kv.push(name, value);
    switch (name) {
      case "content-length": {
        if (sawCl) throw new HttpError(400, "duplicate Content-Length");
        sawCl = true;
        sum.contentLength = decimal(value);
        if (sum.contentLength < 0) throw new HttpError(400, "malformed Content-Length");
        break;
      }
      case "transfer-encoding": {
        if (sawTe) throw new HttpError(400, "repeated Transfer-Encoding");
        sawTe = true;
        if (value.toLowerCase() !== "chunked") {
          throw new HttpError(isRequest ? 501 : 502, `unsupported Transfer-Encoding "${value}"`);
        }
        sum.chunked = true;
        break;
      }
      case "connection": {
        for (const tok of value.split(",")) {
          const t = tok.trim().toLowerCase();
          if (t === "close") sum.connClose = true;
          else if (t === "keep-alive") sum.connKeepAlive = true;
          else if (t === "upgrade") sum.connUpgrade = true;
        }
        break;
      }
      case "host":
        if (sawHost) throw new HttpError(400, "duplicate Host");
        sawHost = true;
        sum.host = value;
        break;
      case "upgrade":
        sum.upgrade = value.toLowerCase();
        break;
      case "expect":
        sum.expect = value.toLowerCase();
        break;
    }
    pos = eol + 2;
  }
  if (sawCl && sawTe) throw new HttpError(400, "both Content-Length and Transfer-Encoding");
  return sum;
}

const METHODS = ["GET", "PUT", "POST", "HEAD", "PATCH", "DELETE", "OPTIONS"];

/** The request method as a constant string when it is a common one (no slice). */
function knownMethod(s: string, len: number): string | null {
  for (const m of METHODS) if (m.length === len && s.startsWith(m)) return m;
  return null;
}

/**
 * Parses a request head from `bytes` (which end with CRLFCRLF).
 * Throws HttpError on anything malformed.
 */
export function parseRequestHead(bytes: Uint8Array, maxHeaders: number): RequestHead {
  const s = latin1(bytes);
  const eol = s.indexOf("\r\n");
  const sp1 = s.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : s.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 > eol) throw new HttpError(400, "malformed request line");
  const method = knownMethod(s, sp1) ?? s.slice(0, sp1);
  if (!isToken(method)) throw new HttpError(400, "invalid method");
  const target = s.slice(sp1 + 1, sp2);
  if (target.length === 0) throw new HttpError(400, "empty request target");
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 32 || c >= 127) throw new HttpError(400, "invalid character in request target");
  }
  let version: number;
  const ver = eol - sp2 === 9 && s.startsWith("HTTP/1.", sp2 + 1) ? s.charCodeAt(eol - 1) : 0;
  if (ver === 49 /* 1 */) version = 11;
  else if (ver === 48 /* 0 */) version = 10;
  else if (/^HTTP\/[0-9]\.[0-9]$/.test(s.slice(sp2 + 1, eol))) {
    throw new HttpError(505, `unsupported version ${s.slice(sp2 + 1, eol)}`);
  } else throw new HttpError(400, "malformed request line");
  const headers = new Hdrs();
  const f = parseFields(s, eol + 2, maxHeaders, headers, true);
  if (version === 11 && f.host === null) throw new HttpError(400, "missing Host header");
  if (version === 10 && f.chunked) {
    throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (f.host !== null && !/^[A-Za-z0-9.\-_~%!$&'()*+,;=:\[\]]*$/.test(f.host)) {
    throw new HttpError(400, "invalid Host header");
  }
  const keepAlive = version === 11 ? !f.connClose : f.connKeepAlive && !f.connClose;
  return {
    method,
    target,
    version,
    headers,
    host: f.host,
    contentLength: f.contentLength,
    chunked: f.chunked,
    keepAlive,
    upgrade: f.connUpgrade ? f.upgrade : null,
    expectContinue: f.expect === "100-continue",
  };
}

/** Parses a response head (upstream side). Malformed heads are a 502. */
export function parseResponseHead(bytes: Uint8Array, maxHeaders: number): ResponseHead {
  const s = latin1(bytes);
  const eol = s.indexOf("\r\n");
  if (!s.startsWith("HTTP/1.") || s.charCodeAt(12) !== 32 && eol !== 12) {
    throw new HttpError(502, "malformed upstream status line");
  }
  const version = s.charCodeAt(7) === 49 ? 11 : 10;
  const status = Number(s.slice(9, 12));
  if (!(status >= 100 && status <= 999) || s.charCodeAt(8) !== 32) {
    throw new HttpError(502, "malformed upstream status line");
  }
  const reason = eol > 13 ? s.slice(13, eol) : "";
  const headers = new Hdrs();
  let f: FieldSummary;
  try {
    f = parseFields(s, eol + 2, maxHeaders, headers, false);
  } catch (e) {
    if (e instanceof HttpError) throw new HttpError(502, `upstream: ${e.reason}`);
    throw e;
  }
  const keepAlive = version === 11 ? !f.connClose : f.connKeepAlive && !f.connClose;
  return {
    status,
    reason,
    version,
    headers,
    contentLength: f.contentLength,
    chunked: f.chunked,
    keepAlive,
  };
}

/** Lowercase ASCII of byte `c` (letters only change). */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** Whether bytes[from, from + name.length) equal lowercase `name`, ignoring ASCII case. */
function nameIs(b: Uint8Array, from: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) if (lower(b[from + i]) !== name.charCodeAt(i)) return false;
  return true;
}

/** `close` / `keep-alive` (any case, optional whitespace) as 1 / 2; anything else 0. */
function connectionToken(b: Uint8Array, a: number, z: number): number {
  const len = z - a;
  if (len === 5 && nameIs(b, a, 5, "close")) return 1;
  if (len === 10 && nameIs(b, a, 10, "keep-alive")) return 2;
  return 0;
}

const HTTP11 = [72, 84, 84, 80, 47, 49, 46, 49, 32]; // "HTTP/1.1 "

/**
 * A final HTTP/1.1 response head whose header lines can go to an HTTP/1.1
 * client byte for byte: `lines` holds them as received, minus the framing
 * and hop-by-hop ones the engine writes itself (Content-Length, Connection,
 * Keep-Alive). `headers` is parsed from them only when someone asks (response
 * filters, CORS, an HTTP/2 client), so the common proxied response costs no
 * string decoding, header list or re-serialization.
 */
export class RawResponseHead implements ResponseHead {
  readonly reason = "";
  readonly version = 11;
  readonly chunked = false;
  #headers: Hdrs | null = null;
  constructor(
    readonly status: number,
    readonly contentLength: number,
    readonly keepAlive: boolean,
    readonly lines: Uint8Array,
    private readonly maxHeaders: number,
  ) {}

  get headers(): Hdrs {
    if (this.#headers === null) {
      const h = new Hdrs();
      // Already validated by scanResponseHead: this parse cannot throw.
      parseFields(latin1(this.lines) + "\r\n", 0, this.maxHeaders, h, false);
      this.#headers = h;
    }
    return this.#headers;
  }
}

/**
 * The fast path for the common upstream response: a final (2xx–5xx)
 * HTTP/1.1 head framed by Content-Length, ASCII only, with no hop-by-hop
 * field other than `Connection: close|keep-alive` and `Keep-Alive`. Returns
 * null for anything else — 1xx/101, chunked, HTTP/1.0, obs-fold, odd bytes,
 * a `Connection` list naming fields — and the caller then runs the strict
 * parseResponseHead, which decides (and refuses what is malformed). It never
 * accepts a head the strict parser would refuse.
 *
 * The kept lines are copied into `scratch` when they fit (no buffer allocated
 * per response; the caller keeps it untouched while the response is in use),
 * else into a new buffer.
 */
export function scanResponseHead(
  b: Uint8Array,
  maxHeaders: number,
  scratch: Uint8Array | null = null,
): RawResponseHead | null {
  const n = b.length; // ends with CRLFCRLF
  if (n < 16) return null;
  for (let i = 0; i < 9; i++) if (b[i] !== HTTP11[i]) return null;
  const d0 = b[9] - 48, d1 = b[10] - 48, d2 = b[11] - 48;
  if (d0 < 2 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return null;
  const status = d0 * 100 + d1 * 10 + d2;
  let pos = 12;
  if (b[pos] === 32) {
    while (pos < n && b[pos] !== 13) pos++;
  }
  if (b[pos] !== 13 || b[pos + 1] !== 10) return null;
  pos += 2;
  // Kept lines are copied as runs between dropped ones (usually one run).
  let out: Uint8Array | null = null;
  let outLen = 0;
  let runStart = pos;
  let contentLength = -1;
  let close = false;
  let count = 0;
  const limit = n - 2;
  while (pos < limit) {
    const lineStart = pos;
    const c0 = b[pos];
    if (c0 >= 128 || TCHAR[c0] === 0) return null; // obs-fold, empty name, odd byte
    let colon = pos + 1;
    while (colon < limit && b[colon] !== 58) {
      const c = b[colon];
      if (c >= 128 || TCHAR[c] === 0) return null;
      colon++;
    }
    if (colon >= limit) return null;
    let eol = colon + 1;
    for (;;) {
      const c = b[eol];
      if (c === 13) break;
      if ((c < 32 && c !== 9) || c >= 127) return null;
      eol++;
    }
    if (b[eol + 1] !== 10) return null;
    if (++count > maxHeaders) return null;
    const nameLen = colon - lineStart;
    let drop = false;
    const f = lower(b[lineStart]);
    if (f === 99 /* c */ && nameIs(b, lineStart, nameLen, "content-length")) {
      if (contentLength >= 0) return null;
      let a = colon + 1;
      let z = eol;
      while (a < z && (b[a] === 32 || b[a] === 9)) a++;
      while (z > a && (b[z - 1] === 32 || b[z - 1] === 9)) z--;
      if (z === a || z - a > 15) return null;
      let v = 0;
      for (let i = a; i < z; i++) {
        const d = b[i] - 48;
        if (d < 0 || d > 9) return null;
        v = v * 10 + d;
      }
      contentLength = v;
      drop = true;
    } else if (f === 99 && nameIs(b, lineStart, nameLen, "connection")) {
      let a = colon + 1;
      let z = eol;
      while (a < z && (b[a] === 32 || b[a] === 9)) a++;
      while (z > a && (b[z - 1] === 32 || b[z - 1] === 9)) z--;
      const tok = connectionToken(b, a, z);
      if (tok === 0) return null; // a list, or naming fields: the strict path
      if (tok === 1) close = true;
      drop = true;
    } else if (f === 107 /* k */ && nameIs(b, lineStart, nameLen, "keep-alive")) {
      drop = true;
    } else if (
      (f === 116 /* t */ &&
        (nameIs(b, lineStart, nameLen, "transfer-encoding") ||
          nameIs(b, lineStart, nameLen, "te") || nameIs(b, lineStart, nameLen, "trailer"))) ||
      (f === 117 /* u */ && nameIs(b, lineStart, nameLen, "upgrade")) ||
      (f === 112 /* p */ &&
        (nameIs(b, lineStart, nameLen, "proxy-connection") ||
          nameIs(b, lineStart, nameLen, "proxy-authorization"))) ||
      (f === 104 /* h */ && nameIs(b, lineStart, nameLen, "http2-settings"))
    ) {
      return null; // hop-by-hop fields the strict path handles
    }
    pos = eol + 2;
    if (drop) {
      if (lineStart > runStart) {
        out ??= scratch !== null && scratch.length >= n ? scratch : new Uint8Array(n);
        out.set(b.subarray(runStart, lineStart), outLen);
        outLen += lineStart - runStart;
      }
      runStart = pos;
    }
  }
  if (pos !== limit || contentLength < 0) return null;
  let lines: Uint8Array;
  if (out === null) {
    // No copy yet: every dropped line came before the one run kept.
    const len = limit - runStart;
    if (scratch !== null && scratch.length >= len) {
      scratch.set(b.subarray(runStart, limit));
      lines = scratch.subarray(0, len);
    } else lines = b.slice(runStart, limit);
  } else {
    if (limit > runStart) {
      out.set(b.subarray(runStart, limit), outLen);
      outLen += limit - runStart;
    }
    lines = out.subarray(0, outLen);
  }
  return new RawResponseHead(status, contentLength, !close, lines, maxHeaders);
}
