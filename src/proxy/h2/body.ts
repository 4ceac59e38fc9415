/**
 * The request body of an HTTP/2 stream as a pull-based BodyReader. Bytes are
 * returned to the peer's flow-control window as they are read, so a reader
 * that stops reading stops the client (no unbounded buffering).
 */
import { Hdrs } from "../core/headers.ts";
import type { BodyReader } from "../core/types.ts";
import type { H2Stream } from "./session.ts";

export class H2Body implements BodyReader {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private queued = 0;
  private received = 0;
  private ended = false;
  private error: string | null = null;
  private abandoned = false;
  private wake: (() => void) | null = null;
  /** Trailer fields (name, value, ...) once the stream ended with trailers. */
  trail: string[] | null = null;
  /** Trailer names the peer sent as "never indexed" (RFC 7541 §6.2.3), or null. */
  trailNever: Set<string> | null = null;
  /** Called once when the consumer cancels the body. */
  onCancel: ((reason: string) => void) | null = null;

  constructor(private st: H2Stream, public length: number) {}

  /** Adds received data (null: none) and/or the end; returns why the stream is malformed, if it is. */
  push(c: Uint8Array | null, end: boolean): string | null {
    if (c) {
      this.received += c.length;
      if (this.length >= 0 && this.received > this.length) {
        return `body longer than its content-length ${this.length}`;
      }
      if (this.abandoned) this.st.conn.credit(this.st, c.length);
      else {
        this.chunks.push(c);
        this.queued += c.length;
      }
    }
    if (end) {
      if (this.length >= 0 && this.received !== this.length) {
        return `body of ${this.received} bytes, content-length ${this.length}`;
      }
      this.ended = true;
    }
    this.notify();
    return null;
  }

  private notify(): void {
    const w = this.wake;
    if (w) {
      this.wake = null;
      w();
    }
  }

  readSync(): Uint8Array | null | undefined {
    if (this.head < this.chunks.length) return this.take();
    if (this.error !== null) return undefined;
    return this.ended ? null : undefined;
  }

  private take(): Uint8Array {
    const c = this.chunks[this.head];
    this.chunks[this.head++] = undefined as unknown as Uint8Array;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    }
    this.queued -= c.length;
    this.st.conn.credit(this.st, c.length);
    return c;
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.head < this.chunks.length) return this.take();
      if (this.error !== null) throw new Error(this.error);
      if (this.ended) return null;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  cancel(reason?: string): void {
    if (this.abandoned) return;
    this.abandoned = true;
    const f = this.onCancel;
    this.onCancel = null;
    this.discardQueued();
    if (f) f(reason ?? "cancelled");
    this.notify();
  }

  trailers(): Hdrs | null {
    return this.trail ? new Hdrs(this.trail) : null;
  }

  neverIndexedTrailers(): ReadonlySet<string> | null {
    return this.trailNever;
  }

  /** The stream is done with: later data is dropped. */
  abandon(): void {
    this.abandoned = true;
    this.ended = true;
    this.discardQueued();
    this.notify();
  }

  /** The stream failed: pending and later reads throw `reason`. */
  fail(reason: string): void {
    if (this.ended && this.head >= this.chunks.length) return;
    this.error ??= reason;
    this.notify();
  }

  private discardQueued(): void {
    const n = this.queued;
    this.chunks.length = 0;
    this.head = 0;
    this.queued = 0;
    if (n > 0) this.st.conn.credit(this.st, n);
  }

  /** Drops what is still queued; returns the byte count (for the connection window). */
  discard(): number {
    const n = this.queued;
    this.chunks.length = 0;
    this.head = 0;
    this.queued = 0;
    return n;
  }
}
