/** HTTP/2 frame types, flags, settings and error codes (RFC 9113 §6, §7) and frame headers. */

export const DATA = 0x0;
export const HEADERS = 0x1;
export const PRIORITY = 0x2;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PUSH_PROMISE = 0x5;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const WINDOW_UPDATE = 0x8;
export const CONTINUATION = 0x9;

export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;
export const SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8;

export const NO_ERROR = 0x0;
export const PROTOCOL_ERROR = 0x1;
export const INTERNAL_ERROR = 0x2;
export const FLOW_CONTROL_ERROR = 0x3;
export const SETTINGS_TIMEOUT = 0x4;
export const STREAM_CLOSED = 0x5;
export const FRAME_SIZE_ERROR = 0x6;
export const REFUSED_STREAM = 0x7;
export const CANCEL = 0x8;
export const COMPRESSION_ERROR = 0x9;
export const ENHANCE_YOUR_CALM = 0xb;

export const DEFAULT_WINDOW = 65535;
export const DEFAULT_MAX_FRAME = 16384;
export const MAX_WINDOW = 0x7fffffff;

export const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/** Connection-specific fields, malformed in HTTP/2 (RFC 9113 §8.2.2). */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** A connection error: the connection ends with GOAWAY carrying `code`. */
export class ConnError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Writes a 9-byte frame header at `p`. */
export function frameHeader(
  b: Uint8Array,
  p: number,
  len: number,
  type: number,
  flags: number,
  stream: number,
): void {
  b[p] = len >>> 16;
  b[p + 1] = (len >>> 8) & 0xff;
  b[p + 2] = len & 0xff;
  b[p + 3] = type;
  b[p + 4] = flags;
  b[p + 5] = (stream >>> 24) & 0x7f;
  b[p + 6] = (stream >>> 16) & 0xff;
  b[p + 7] = (stream >>> 8) & 0xff;
  b[p + 8] = stream & 0xff;
}

/** Reads a 31-bit big-endian value (the reserved bit cleared). */
export function u31(b: Uint8Array, p: number): number {
  return ((b[p] & 0x7f) << 24 | b[p + 1] << 16 | b[p + 2] << 8 | b[p + 3]) >>> 0;
}

/** Reads a 32-bit big-endian value. */
export function u32(b: Uint8Array, p: number): number {
  return (b[p] << 24 | b[p + 1] << 16 | b[p + 2] << 8 | b[p + 3]) >>> 0;
}

/** Writes a 32-bit big-endian value. */
export function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}
