/**
 * Copies a BodyReader onto an HTTP/2 stream — response bodies in the server
 * engine, request bodies in the upstream client. While chunks are already
 * buffered it runs synchronously (no async frame per body), the last chunk
 * carries END_STREAM unless trailers follow, and only a wait (flow control,
 * a chunk not there yet) continues asynchronously.
 */
import type { BodyReader } from "../core/types.ts";
import type { H2Stream } from "../h2/session.ts";
import { NOT_ON_H2 } from "./fields.ts";

/** Fields for HTTP/2: pseudo and connection-specific ones dropped; with `len` >= 0, content-length set. */
export function h2Fields(kv: readonly string[], len: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    if (NOT_ON_H2.has(n) || n.charCodeAt(0) === 58) continue;
    if (len >= 0 && n === "content-length") continue;
    out.push(n, kv[i + 1]);
  }
  if (len >= 0) out.push("content-length", String(len));
  return out;
}

/** Thrown when the stream went away while its body was being sent. */
export class StreamGone extends Error {}

/** Ends a complete body: its trailers when it has some, else END_STREAM. */
function endWith(st: H2Stream, body: BodyReader): Promise<void> | undefined {
  const t = body.trailers();
  if (!t || !t.kv.length) return st.end(null);
  return st.end(h2Fields(t.kv, -1), trailerNever(body));
}

/** Trailer names the body's sender marked never indexed (HTTP/2 bodies only), or null. */
function trailerNever(body: BodyReader): ReadonlySet<string> | null {
  return body.neverIndexedTrailers ? body.neverIndexedTrailers() : null;
}

/**
 * Sends `body` on `st` and ends the stream. Returns the byte count, or a
 * promise of it when something had to be waited for. Read errors propagate
 * (the caller resets the stream); a stream reset meanwhile cancels the body
 * and throws StreamGone.
 */
export function pipeBody(st: H2Stream, body: BodyReader): number | Promise<number> {
  let bytes = 0;
  let c = body.readSync ? body.readSync() : undefined;
  while (c !== undefined) {
    if (st.aborted) {
      body.cancel("stream gone");
      throw new StreamGone("stream closed");
    }
    if (c === null) {
      const w = endWith(st, body);
      return w ? w.then(() => bytes) : bytes;
    }
    bytes += c.length;
    const next = body.readSync!();
    if (next === null) {
      const t = body.trailers();
      let w: Promise<void> | undefined;
      if (t && t.kv.length) {
        st.write(c);
        w = st.end(h2Fields(t.kv, -1), trailerNever(body));
      } else w = st.writeEnd(c);
      return w ? w.then(() => bytes) : bytes;
    }
    const w = st.write(c);
    if (w) return pipeRest(st, body, bytes, w, next);
    c = next;
  }
  return pipeRest(st, body, bytes, undefined, undefined);
}

async function pipeRest(
  st: H2Stream,
  body: BodyReader,
  bytes: number,
  w: Promise<void> | undefined,
  pending: Uint8Array | null | undefined,
): Promise<number> {
  if (w) await w;
  let c = pending;
  for (;;) {
    if (c === undefined) c = body.readSync ? body.readSync() : undefined;
    if (c === undefined) c = await body.read();
    if (c === null) break;
    if (st.aborted) {
      body.cancel("stream gone");
      throw new StreamGone("stream closed");
    }
    bytes += c.length;
    const wr = st.write(c);
    c = undefined;
    if (wr) await wr;
  }
  const we = endWith(st, body);
  if (we) await we;
  return bytes;
}
