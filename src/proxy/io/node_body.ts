/**
 * A BodyReader over a node Readable (an HTTP/2 stream), with backpressure:
 * the stream is paused while too much is queued and resumed as we read.
 */
import type { Readable } from "node:stream";
import type { Hdrs } from "../core/headers.ts";
import type { BodyReader } from "../core/types.ts";

const HIGH_WATER = 256 * 1024;

export class NodeBody implements BodyReader {
  private chunks: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;
  trail: Hdrs | null = null;

  constructor(
    private s: Readable,
    readonly length: number,
    private onCancel: (reason: string) => void,
  ) {
    s.on("data", (d: Uint8Array) => {
      this.chunks.push(d);
      this.queued += d.length;
      if (this.queued > HIGH_WATER) s.pause();
      this.notify();
    });
    s.on("end", () => {
      this.ended = true;
      this.notify();
    });
    s.on("error", (e: Error) => {
      this.error ??= e;
      this.notify();
    });
    s.on("close", () => {
      if (!this.ended) this.error ??= new Error("stream closed before its end");
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }

  async read(): Promise<Uint8Array | null> {
    while (this.chunks.length === 0) {
      if (this.ended) return null;
      if (this.error) throw this.error;
      await new Promise<void>((r) => (this.wake = r));
    }
    const c = this.chunks.shift()!;
    this.queued -= c.length;
    if (this.queued < HIGH_WATER / 2 && this.s.isPaused()) this.s.resume();
    return c;
  }

  cancel(reason?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onCancel(reason ?? "cancelled");
    this.notify();
  }

  trailers(): Hdrs | null {
    return this.trail;
  }
}
