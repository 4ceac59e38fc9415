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
