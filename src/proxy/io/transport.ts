/**
 * The byte-stream contract the engines run on. `Deno.Conn` satisfies it as is
 * (the fast path); node sockets (TLS with SNI) are adapted to it.
 */

/** A bidirectional byte stream. `write` may write fewer bytes than given. */
export interface Transport {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
}

/** Writes every byte of `p`, looping over partial writes. */
export function writeAll(t: Transport, p: Uint8Array): Promise<void> {
  // Fast path: one write op, no extra async frame.
  return t.write(p).then((
    n,
  ): void | Promise<void> => (n < p.length ? writeRest(t, p, n) : undefined));
}

/** Writes `p` from offset `n` on (the tail of a partial write). */
export async function writeRest(t: Transport, p: Uint8Array, n: number): Promise<void> {
  while (n < p.length) n += await t.write(p.subarray(n));
}

/** Closes without throwing (the peer may already be gone). */
export function safeClose(t: Transport): void {
  try {
    t.close();
  } catch {
    // already closed
  }
}

const latin1Chunk = 8192;

const ascii = new TextDecoder();

/** Decodes bytes as Latin-1 (one char per byte); header sections are ASCII by grammar. */
export function latin1(b: Uint8Array): string {
  // Pure ASCII (the norm) decodes the same as UTF-8, and the decoder op is
  // ~5x cheaper than fromCharCode.apply (which first copies every byte into
  // an arguments array). A byte >= 0x80 takes the exact Latin-1 path.
  let i = 0;
  while (i < b.length && b[i] < 0x80) i++;
  if (i === b.length) return ascii.decode(b);
  if (b.length <= latin1Chunk) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = "";
  for (let i = 0; i < b.length; i += latin1Chunk) {
    s += String.fromCharCode.apply(null, b.subarray(i, i + latin1Chunk) as unknown as number[]);
  }
  return s;
}

const utf8 = new TextEncoder();

/**
 * Encodes a serialized head. Heads are Latin-1 by construction (we decode
 * them that way), so a JS loop avoids an encoder op per message; text with
 * characters above U+00FF (from configuration) falls back to UTF-8.
 */
export function encodeHead(s: string, extra = 0): Uint8Array {
  const out = new Uint8Array(s.length + extra);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) {
      const u = utf8.encode(s);
      const o2 = new Uint8Array(u.length + extra);
      o2.set(u);
      return o2.subarray(0, u.length + extra);
    }
    out[i] = c;
  }
  return out;
}

/**
 * Like encodeHead, but into `scratch` when it fits (a per-connection buffer
 * reused for every message: no ArrayBuffer allocation per request). The
 * result is valid until the caller's next message on that connection.
 */
export function encodeHeadInto(s: string, scratch: Uint8Array, extra = 0): Uint8Array {
  const n = s.length + extra;
  if (n > scratch.length) return encodeHead(s, extra);
  // Pure ASCII (the norm) encodes identically as UTF-8, and encodeInto is a
  // fast op: ~3x cheaper than the loop for a few hundred characters. Any
  // other character makes written != length; then the Latin-1 loop decides.
  const r = utf8.encodeInto(s, scratch);
  if (r.read === s.length && r.written === s.length) return scratch.subarray(0, n);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) return encodeHead(s, extra);
    scratch[i] = c;
  }
  return scratch.subarray(0, n);
}
