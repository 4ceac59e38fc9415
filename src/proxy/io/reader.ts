/**
 * A growable read buffer over a Transport. Engines parse heads in place and
 * body readers take bytes from it before touching the socket again, so bytes
 * read ahead (pipelining, WebSocket frames after a 101) are never lost.
 */
import type { Transport } from "./transport.ts";
import type { Deadline } from "./ticker.ts";

export class BufReader {
  buf: Uint8Array;
  start = 0;
  end = 0;
  eof = false;
  private pending: Promise<number | null> | null = null;
  /** Idle guard armed around guarded reads (body reads), against slow senders. */
  guard: Deadline | null = null;
  guardMs = 0;

  constructor(readonly t: Transport, size = 16384) {
    this.buf = new Uint8Array(size);
  }

  get available(): number {
    return this.end - this.start;
  }

  /** True while a read is outstanding (its bytes will land in the buffer). */
  get reading(): boolean {
    return this.pending !== null;
  }

  /**
   * Reads more bytes into the buffer, growing it up to `max` bytes of unread
   * data. Returns the count read or null at EOF. Concurrent callers share the
   * outstanding read, which lets an engine watch for a client hang-up while a
   * request is in flight at no extra cost.
   */
  fill(max = 1 << 20, guarded = true): Promise<number | null> {
    if (this.pending) return this.pending;
    const g = guarded ? this.guard : null;
    if (g !== null) g.deadline = Date.now() + this.guardMs;
    if (this.eof) return Promise.resolve(null);
    this.fillGuard = g;
    const p = this.t.read(this.space(max)).then(this.onRead, this.onReadError);
    this.pending = p;
    return p;
  }

  /**
   * The synchronous half of `fill` for callers that await the transport's
   * read themselves (one promise less per read): makes room, growing up to
   * `max` unread bytes, and returns the free tail to read into. Only when no
   * read is outstanding (`!reading`) and not at EOF; pair with `commit`.
   */
  space(max = 1 << 20): Uint8Array {
    if (this.start === this.end) {
      this.start = this.end = 0;
    } else if (this.buf.length - this.end < 2048) {
      const unread = this.end - this.start;
      if (this.start > 0 && unread <= this.buf.length / 2) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        const size = Math.min(Math.max(this.buf.length * 2, 4096), Math.max(max, unread + 2048));
        const next = new Uint8Array(size);
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.start = 0;
      this.end = unread;
    }
    return this.buf.subarray(this.end);
  }

  /** Accounts the result of a read into `space()` (null: EOF or error). */
  commit(n: number | null): number | null {
    if (n === null) {
      this.eof = true;
      return null;
    }
    this.end += n;
    return n;
  }

  // Settlement handlers bound once per reader: no closures per read.
  private fillGuard: Deadline | null = null;
  private readonly onRead = (n: number | null): number | null => {
    this.pending = null;
    const g = this.fillGuard;
    if (g !== null) g.deadline = 0;
    if (n === null) {
      this.eof = true;
      return null;
    }
    this.end += n;
    return n;
  };
  private readonly onReadError = (_e: unknown): null => {
    this.pending = null;
    const g = this.fillGuard;
    if (g !== null) g.deadline = 0;
    this.eof = true;
    return null;
  };

  /** Reads straight into `p` (large bodies), under the idle guard. */
  async readDirect(p: Uint8Array): Promise<number | null> {
    const g = this.guard;
    if (g !== null) g.deadline = Date.now() + this.guardMs;
    try {
      return await this.t.read(p);
    } catch {
      return null;
    } finally {
      if (g !== null) g.deadline = 0;
    }
  }

  /** Index just past the first CRLFCRLF at or after `from`, or -1. */
  headEnd(from: number): number {
    const b = this.buf;
    const e = this.end;
    // Boyer-Moore-Horspool on the last byte of the window: most header bytes
    // are neither CR nor LF, so the scan moves 4 bytes at a time.
    let i = Math.max(from, this.start);
    while (i + 3 < e) {
      const c = b[i + 3];
      if (c === 10) {
        if (b[i + 2] === 13 && b[i + 1] === 10 && b[i] === 13) return i + 4;
        i += 2;
      } else if (c === 13) i += 1;
      else i += 4;
    }
    return -1;
  }

  /** Index of the first CRLF at or after `start`, or -1. */
  lineEnd(): number {
    const b = this.buf;
    for (let i = this.start; i + 1 < this.end; i++) {
      if (b[i] === 13 && b[i + 1] === 10) return i;
    }
    return -1;
  }

  /**
   * Consumes up to `n` buffered bytes and returns a VIEW of them (no copy: a
   * fresh ArrayBuffer per chunk measurably costs CPU). The view is valid until
   * the next fill; every consumer writes (or copies) a chunk before it reads
   * the next one.
   */
  take(n: number): Uint8Array {
    const k = Math.min(n, this.end - this.start);
    const out = this.buf.subarray(this.start, this.start + k);
    this.start += k;
    return out;
  }

  /** Consumes and returns everything buffered (a view, see `take`). */
  takeAll(): Uint8Array {
    return this.take(this.end - this.start);
  }
}
