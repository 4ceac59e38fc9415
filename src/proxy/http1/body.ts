/**
 * HTTP/1.1 body framing over a BufReader: fixed length, chunked (strict) and
 * read-until-close readers, plus a chunked encoder. Readers return copies so
 * callers may hold chunks while the buffer is reused.
 */
import { Hdrs } from "../core/headers.ts";
import type { BodyReader } from "../core/types.ts";
import type { BufReader } from "../io/reader.ts";
import { latin1 } from "../io/transport.ts";
import { HttpError } from "./parser.ts";

const BIG = 65536;

/** Control characters other than HTAB. */
function hasCtl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/**
 * Hears about the end (or abandonment) of a body: an object with methods,
 * so the upstream client needs no closures per response.
 */
export interface BodyOwner {
  bodyEnded(): void;
  bodyCancelled(): void;
}

/** Reads exactly `length` bytes. */
export class FixedBody implements BodyReader {
  remaining: number;
  /** Set when the body ended early (peer closed). */
  truncated = false;
  onEnd: (() => void) | null = null;
  /** Told once when the body ends or is cancelled (after onEnd / onCancel). */
  owner: BodyOwner | null = null;
  onFirstRead: (() => Promise<void>) | null = null;
  private cancelled = false;

  constructor(private r: BufReader, readonly length: number, private onCancel: () => void) {
    this.remaining = length;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.onFirstRead) {
      const f = this.onFirstRead;
      this.onFirstRead = null;
      await f();
    }
    if (this.remaining === 0) {
      this.finish();
      return null;
    }
    if (this.cancelled) throw new Error("body cancelled");
    const r = this.r;
    if (r.available === 0) {
      // Large remainder and nothing buffered: read straight into a fresh chunk.
      if (this.remaining >= BIG && !r.reading) {
        const chunk = new Uint8Array(Math.min(this.remaining, 4 * BIG));
        const n = await r.readDirect(chunk);
        if (n === null) return this.early();
        this.remaining -= n;
        return chunk.subarray(0, n);
      }
      const n = await r.fill();
      if (n === null) return this.early();
    }
    const out = r.take(this.remaining);
    this.remaining -= out.length;
    return out;
  }

  readSync(): Uint8Array | null | undefined {
    if (this.onFirstRead !== null || this.cancelled) return undefined;
    if (this.remaining === 0) {
      this.finish();
      return null;
    }
    if (this.r.available === 0) return undefined;
    const out = this.r.take(this.remaining);
    this.remaining -= out.length;
    return out;
  }

  /**
   * Reads the rest of the body into `dst` (exactly `remaining` bytes long):
   * buffered bytes are copied, the rest is read from the socket straight into
   * `dst`, so a medium body costs as few reads as the kernel allows and no
   * chunk buffers. Throws on early EOF; the end is still reported by the next
   * read/readSync (null).
   */
  async fillInto(dst: Uint8Array): Promise<void> {
    if (this.onFirstRead !== null || this.cancelled || dst.length !== this.remaining) {
      throw new Error("fillInto: body already started or wrong size");
    }
    const r = this.r;
    let off = 0;
    if (r.available > 0) {
      const got = r.take(this.remaining);
      dst.set(got);
      off = got.length;
      this.remaining -= got.length;
    }
    while (off < dst.length) {
      if (r.reading) {
        // A shared read is outstanding: its bytes land in the buffer.
        if ((await r.fill()) === null) return this.early();
        const got = r.take(this.remaining);
        dst.set(got, off);
        off += got.length;
        this.remaining -= got.length;
        continue;
      }
      const n = await r.readDirect(dst.subarray(off));
      if (n === null) return this.early();
      off += n;
      this.remaining -= n;
    }
  }

  /**
   * The whole remaining body when it is already buffered (a view, see
   * BufReader.take), else undefined without consuming anything. The end is
   * still reported by the next read/readSync (null), as usual.
   */
  takeAllSync(): Uint8Array | undefined {
    if (this.onFirstRead !== null || this.cancelled || this.remaining === 0) return undefined;
    if (this.r.available < this.remaining) return undefined;
    const out = this.r.take(this.remaining);
    this.remaining = 0;
    return out;
  }

  private early(): never {
    this.truncated = true;
    throw new Error("connection closed before the body ended");
  }

  private finish(): void {
    const f = this.onEnd;
    this.onEnd = null;
    if (f) f();
    const o = this.owner;
    this.owner = null;
    if (o !== null) o.bodyEnded();
  }

  cancel(): void {
    if (this.remaining === 0 || this.cancelled) return;
    this.cancelled = true;
    this.onCancel();
    const o = this.owner;
    this.owner = null;
    if (o !== null) o.bodyCancelled();
  }

  trailers(): Hdrs | null {
    return null;
  }
}

/** Strict chunked decoder (RFC 9112 §7.1). */
export class ChunkedBody implements BodyReader {
  readonly length = -1;
  private inChunk = 0;
  private needCrlf = false;
  private done = false;
  private trail: Hdrs | null = null;
  private cancelled = false;
  /** Decoded bytes so far (for body size limits). */
  total = 0;
  onEnd: (() => void) | null = null;
  /** Told once when the body ends or is cancelled (after onEnd / onCancel). */
  owner: BodyOwner | null = null;
  onFirstRead: (() => Promise<void>) | null = null;

  /** True once the last chunk and trailers were read. */
  get finished(): boolean {
    return this.done;
  }

  constructor(
    private r: BufReader,
    private onCancel: () => void,
    private maxBytes = Infinity,
    private maxTrailers = 100,
  ) {}

  private async need(n: number): Promise<void> {
    while (this.r.available < n) {
      if ((await this.r.fill()) === null) {
        throw new HttpError(400, "connection closed inside a chunked body");
      }
    }
  }

  private async line(): Promise<string> {
    for (;;) {
      const e = this.r.lineEnd();
      if (e >= 0) {
        const s = latin1(this.r.buf.subarray(this.r.start, e));
        this.r.start = e + 2;
        return s;
      }
      if (this.r.available > 4096) throw new HttpError(400, "chunk line too long");
      if ((await this.r.fill()) === null) {
        throw new HttpError(400, "connection closed inside a chunked body");
      }
    }
  }

  async read(): Promise<Uint8Array | null> {
    if (this.onFirstRead) {
      const f = this.onFirstRead;
      this.onFirstRead = null;
      await f();
    }
    if (this.done) return null;
    if (this.cancelled) throw new Error("body cancelled");
    const r = this.r;
    for (;;) {
      if (this.inChunk > 0) {
        if (r.available === 0 && (await r.fill()) === null) {
          throw new HttpError(400, "connection closed inside a chunked body");
        }
        const out = r.take(this.inChunk);
        this.inChunk -= out.length;
        if (this.inChunk === 0) this.needCrlf = true;
        return out;
      }
      if (this.needCrlf) {
        await this.need(2);
        if (r.buf[r.start] !== 13 || r.buf[r.start + 1] !== 10) {
          throw new HttpError(400, "missing CRLF after chunk data");
        }
        r.start += 2;
        this.needCrlf = false;
      }
      const line = await this.line();
      const semi = line.indexOf(";");
      const sizeStr = semi >= 0 ? line.slice(0, semi) : line;
      if (!/^[0-9a-fA-F]{1,15}$/.test(sizeStr)) throw new HttpError(400, "malformed chunk size");
      if (semi >= 0 && hasCtl(line)) {
        throw new HttpError(400, "invalid chunk extension");
      }
      const size = parseInt(sizeStr, 16);
      if (size === 0) {
        await this.readTrailers();
        this.done = true;
        const f = this.onEnd;
        this.onEnd = null;
        if (f) f();
        const o = this.owner;
        this.owner = null;
        if (o !== null) o.bodyEnded();
        return null;
      }
      this.total += size;
      if (this.total > this.maxBytes) throw new HttpError(413, "request body too large");
      this.inChunk = size;
    }
  }

  private async readTrailers(): Promise<void> {
    let n = 0;
    for (;;) {
      const line = await this.line();
      if (line === "") return;
      if (++n > this.maxTrailers) throw new HttpError(400, "too many trailer fields");
      const c = line.indexOf(":");
      if (c <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
        throw new HttpError(400, "malformed trailer field");
      }
      const name = line.slice(0, c).toLowerCase();
      if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) {
        throw new HttpError(400, "malformed trailer field");
      }
      const value = line.slice(c + 1).trim();
      if (hasCtl(value)) {
        throw new HttpError(400, "malformed trailer field");
      }
      (this.trail ??= new Hdrs()).append(name, value);
    }
  }

  cancel(): void {
    if (this.done || this.cancelled) return;
    this.cancelled = true;
    this.onCancel();
    const o = this.owner;
    this.owner = null;
    if (o !== null) o.bodyCancelled();
  }

  trailers(): Hdrs | null {
    return this.trail;
  }
}

/** Reads until the peer closes (HTTP/1.0-style response bodies). */
export class UntilCloseBody implements BodyReader {
  readonly length = -1;
  private done = false;

  constructor(private r: BufReader, private onCancel: () => void) {}

  async read(): Promise<Uint8Array | null> {
    if (this.done) return null;
    if (this.r.available === 0 && (await this.r.fill()) === null) {
      this.done = true;
      return null;
    }
    return this.r.takeAll();
  }

  cancel(): void {
    if (!this.done) this.onCancel();
    this.done = true;
  }

  trailers(): Hdrs | null {
    return null;
  }
}

/** A body held in memory. */
export class BytesBody implements BodyReader {
  private sent = false;
  readonly length: number;
  constructor(private bytes: Uint8Array) {
    this.length = bytes.length;
  }
  read(): Promise<Uint8Array | null> {
    if (this.sent || this.bytes.length === 0) return Promise.resolve(null);
    this.sent = true;
    return Promise.resolve(this.bytes);
  }
  cancel(): void {}
  trailers(): Hdrs | null {
    return null;
  }
}

const CRLF = new Uint8Array([13, 10]);

/** Frames `chunk` as one HTTP/1.1 chunk (size line + data + CRLF) in one buffer. */
export function encodeChunk(chunk: Uint8Array): Uint8Array {
  const size = chunk.length.toString(16);
  const out = new Uint8Array(size.length + 2 + chunk.length + 2);
  for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
  out[size.length] = 13;
  out[size.length + 1] = 10;
  out.set(chunk, size.length + 2);
  out.set(CRLF, size.length + 2 + chunk.length);
  return out;
}

/** The last chunk, with optional trailer fields. */
export function encodeLastChunk(trailers: Hdrs | null): Uint8Array {
  let s = "0\r\n";
  if (trailers) {
    const kv = trailers.kv;
    for (let i = 0; i < kv.length; i += 2) s += `${kv[i]}: ${kv[i + 1]}\r\n`;
  }
  s += "\r\n";
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}
