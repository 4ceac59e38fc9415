/**
 * Byte splice between a client and an upstream connection: one manual
 * read/write loop per direction (up to a 256 KiB buffer) and half-close
 * (`closeWrite()` when a side reaches EOF). deno-notes: `pipeTo` loses
 * half-close and moves half the bytes per second.
 */
import { type Deadline, unwatch, watch } from "../io/ticker.ts";
import { safeClose, type Transport, writeAll } from "../io/transport.ts";

/**
 * Each direction starts with a small buffer and switches to the large one
 * the first time a read fills it (a bulk transfer): an idle or chatty
 * connection holds 2 × 16 KiB, a stream gets the 256 KiB that deno-notes
 * measured fastest.
 */
const SMALL_BUF = 16 * 1024;
const BUF = 256 * 1024;

export interface SpliceResult {
  /** Bytes from the client to the upstream (including `first`). */
  bytesIn: number;
  /** Bytes from the upstream to the client. */
  bytesOut: number;
  /** Why the splice ended early ("idle timeout", "aborted", an I/O error), or null on clean EOF both ways. */
  reason: string | null;
}

export interface SpliceOptions {
  /** Close both sides after this long without a byte either way (0 = never). */
  readonly idleMs: number;
  /** Bytes already read from the client (a peeked ClientHello), sent upstream first. */
  readonly first?: Uint8Array;
  /** Aborts the splice (drain deadline). */
  readonly signal?: AbortSignal;
}

/** Copies both ways until both directions reached EOF (or a failure / timeout closes both). */
export async function splice(
  client: Transport,
  upstream: Transport,
  opts: SpliceOptions,
): Promise<SpliceResult> {
  const res: SpliceResult = { bytesIn: 0, bytesOut: 0, reason: null };
  let closed = false;
  const closeBoth = (why: string) => {
    if (closed) return;
    closed = true;
    res.reason ??= why;
    safeClose(client);
    safeClose(upstream);
  };
  const idle: Deadline = {
    deadline: opts.idleMs > 0 ? Date.now() + opts.idleMs : 0,
    fire: () => closeBoth("idle timeout"),
    slot: -1,
  };
  if (opts.idleMs > 0) watch(idle);
  const onAbort = () => closeBoth("aborted");
  opts.signal?.addEventListener("abort", onAbort);
  const pump = async (src: Transport, dst: Transport, up: boolean): Promise<void> => {
    let buf = new Uint8Array(SMALL_BUF);
    try {
      if (up && opts.first && opts.first.length > 0) {
        await writeAll(dst, opts.first);
        res.bytesIn += opts.first.length;
      }
      for (;;) {
        const n = await src.read(buf);
        if (n === null) break;
        if (opts.idleMs > 0) idle.deadline = Date.now() + opts.idleMs;
        await writeAll(dst, buf.subarray(0, n));
        if (up) res.bytesIn += n;
        else res.bytesOut += n;
        if (n === buf.length && buf.length < BUF) buf = new Uint8Array(BUF);
      }
      // EOF from src: pass the half-close on; the other direction keeps going.
      await dst.closeWrite().catch(() => {});
    } catch (e) {
      if (!closed) closeBoth((e as Error).message || String(e));
    }
  };
  try {
    await Promise.all([pump(client, upstream, true), pump(upstream, client, false)]);
  } finally {
    unwatch(idle);
    opts.signal?.removeEventListener("abort", onAbort);
    if (!closed) {
      closed = true;
      safeClose(client);
      safeClose(upstream);
    }
  }
  return res;
}
