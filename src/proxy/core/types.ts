/**
 * Engine-neutral request/response shapes. The HTTP/1.1 engine and the
 * HTTP/2 engine both turn what they receive into a ProxyRequest, and both
 * write a ProxyResponse back in their own framing; the proxy core in between
 * never sees a socket.
 */
import type { Hdrs } from "./headers.ts";
import type { Transport } from "../io/transport.ts";
import type { BufReader } from "../io/reader.ts";

/** A pull-based body: each `read` resolves to the next chunk or null at the end. */
export interface BodyReader {
  /** Total length when known up front, else -1. */
  readonly length: number;
  read(): Promise<Uint8Array | null>;
  /**
   * Optional synchronous read: a chunk or null (the end) when that is known
   * without waiting, undefined when `read` must be awaited. Lets engines skip
   * a promise per chunk when the bytes are already buffered.
   */
  readSync?(): Uint8Array | null | undefined;
  /** Abandon the body: closes whatever feeds it. */
  cancel(reason?: string): void;
  /** Trailer fields, available once `read` has returned null. */
  trailers(): Hdrs | null;
  /**
   * Trailer names the sender marked "never indexed" (HTTP/2, RFC 7541
   * §6.2.3), or null; only HTTP/2 bodies have it.
   */
  neverIndexedTrailers?(): ReadonlySet<string> | null;
}

/** Aborts a request (client hung up, deadline hit). Cheaper than AbortController. */
export class Cancel {
  reason: string | null = null;
  // Listeners are callbacks or linked child Cancels (a child costs no
  // closure). The common case is one listener at a time: it lives in
  // `first`, and the array is only allocated for more.
  private first: Listener | null = null;
  private listeners: Listener[] | null = null;

  get cancelled(): boolean {
    return this.reason !== null;
  }

  cancel(reason: string): void {
    if (this.reason !== null) return;
    this.reason = reason;
    const f = this.first;
    const ls = this.listeners;
    this.first = null;
    this.listeners = null;
    if (f !== null) fire(f, reason);
    if (ls) { for (const l of ls) fire(l, reason); }
  }

  /** Runs `fn` on cancellation; returns an unsubscribe function. */
  on(fn: () => void): () => void {
    this.listen(fn);
    return () => this.off(fn);
  }

  /** Runs `fn` on cancellation (at once if already cancelled); undo with `off(fn)`. */
  listen(fn: () => void): void {
    if (this.reason !== null) fn();
    else this.add(fn);
  }

  /** Removes a listener added with `listen` (or a child added with `link`). */
  off(l: Listener): void {
    if (this.first === l) this.first = null;
    else this.removeListener(l);
  }

  /** Cancels `child` (with this reason) when this is cancelled; undo with `unlink`. */
  link(child: Cancel): void {
    if (this.reason !== null) child.cancel(this.reason);
    else this.add(child);
  }

  unlink(child: Cancel): void {
    this.off(child);
  }

  private add(l: Listener): void {
    // `first` only while the array is empty, so listeners fire in order.
    if (this.first === null && (this.listeners === null || this.listeners.length === 0)) {
      this.first = l;
    } else (this.listeners ??= []).push(l);
  }

  private removeListener(l: Listener): void {
    const ls = this.listeners;
    if (!ls) return;
    const i = ls.indexOf(l);
    if (i >= 0) ls.splice(i, 1);
  }
}

type Listener = (() => void) | Cancel;

function fire(l: Listener, reason: string): void {
  if (typeof l === "function") l();
  else l.cancel(reason);
}

export interface ProxyRequest {
  readonly method: string;
  /** "http" or "https" as the client used it. */
  readonly scheme: string;
  /** host[:port] as the client sent it. */
  readonly authority: string;
  /** Raw path + query. */
  readonly target: string;
  readonly headers: Hdrs;
  /** "1.0", "1.1" or "2". */
  readonly httpVersion: string;
  readonly body: BodyReader | null;
  readonly clientIp: string;
  readonly cancel: Cancel;
  /** Lowercased Upgrade protocol of an HTTP/1.1 upgrade request, else null. */
  readonly upgrade: string | null;
  /** Request start, performance.now(). */
  readonly start: number;
  /**
   * Field names the client sent as HPACK "never indexed" (RFC 7541 §6.2.3:
   * an intermediary must forward them so). Set only by the HTTP/2 engine and
   * only when there are some; belongs to this request alone.
   */
  readonly neverIndexed?: ReadonlySet<string> | null;
}

/** A raw byte stream handed back on a successful upgrade (101). */
export interface UpgradedStream {
  readonly transport: Transport;
  readonly reader: BufReader;
  /** Called once both directions are finished. */
  done(): void;
}

export interface ProxyResponse {
  readonly status: number;
  readonly headers: Hdrs;
  /** Bytes for generated responses, a reader for proxied ones, or null. */
  readonly body: BodyReader | Uint8Array | null;
  readonly upgraded?: UpgradedStream;
  /**
   * The header lines exactly as they may go to an HTTP/1.1 client (CRLF
   * after each; no framing or hop-by-hop fields), set while nobody needed
   * `headers` parsed: the HTTP/1.1 engine writes them instead of serializing.
   */
  readonly rawHeaders?: Uint8Array;
  /** Field names the upstream sent as HPACK "never indexed" (see ProxyRequest.neverIndexed). */
  readonly neverIndexed?: ReadonlySet<string> | null;
  /** Called by the engine when the response is fully written (or failed). */
  finish(bytesOut: number, error: string | null): void;
}
