/**
 * Just enough TLS to route by SNI without terminating: reassemble the
 * ClientHello from handshake records (it may span several records and arrive
 * in many TCP segments) and read the server_name extension (RFC 6066 §3).
 */
import type { Transport } from "../io/transport.ts";

/** Largest ClientHello we wait for (post-quantum key shares make them ~2 KiB; 64 KiB is generous). */
export const MAX_HELLO_BYTES = 64 * 1024;

export type HelloResult =
  | { readonly state: "more" }
  | { readonly state: "ok"; readonly sni: string }
  | { readonly state: "bad"; readonly reason: string };

const MORE: HelloResult = { state: "more" };

/**
 * Parses the bytes received so far. "more" = incomplete; "ok" carries the
 * lower-cased server name ("" when the client sent none).
 */
export function parseClientHello(b: Uint8Array): HelloResult {
  // Reassemble handshake bytes from consecutive handshake records.
  const hs: Uint8Array[] = [];
  let hsLen = 0;
  let off = 0;
  let need = -1; // total handshake message bytes (4 + body), once known
  while (need < 0 || hsLen < need) {
    if (b.length - off < 5) return MORE;
    if (b[off] !== 0x16) {
      return { state: "bad", reason: `not a TLS handshake (first byte 0x${hex(b[off])})` };
    }
    if (b[off + 1] !== 0x03) return { state: "bad", reason: "unknown TLS record version" };
    const len = (b[off + 3] << 8) | b[off + 4];
    if (len === 0 || len > 16384 + 2048) {
      return { state: "bad", reason: `bad TLS record length ${len}` };
    }
    const end = off + 5 + Math.min(len, b.length - off - 5);
    hs.push(b.subarray(off + 5, end));
    hsLen += end - off - 5;
    if (need < 0 && hsLen >= 4) {
      const h = concat(hs, 4);
      if (h[0] !== 0x01) {
        return { state: "bad", reason: "first handshake message is not a ClientHello" };
      }
      need = 4 + ((h[1] << 16) | (h[2] << 8) | h[3]);
      if (need > MAX_HELLO_BYTES) return { state: "bad", reason: "ClientHello too large" };
    }
    if (end - off - 5 < len) {
      if (need >= 0 && hsLen >= need) break;
      return MORE;
    }
    off = end;
  }
  return parseHelloBody(concat(hs, need).subarray(4, need));
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function concat(parts: Uint8Array[], upTo: number): Uint8Array {
  if (parts.length === 1) return parts[0].subarray(0, upTo);
  const out = new Uint8Array(Math.min(upTo, parts.reduce((s, p) => s + p.length, 0)));
  let o = 0;
  for (const p of parts) {
    if (o >= out.length) break;
    const k = Math.min(p.length, out.length - o);
    out.set(p.subarray(0, k), o);
    o += k;
  }
  return out;
}

function parseHelloBody(h: Uint8Array): HelloResult {
  const bad = (what: string): HelloResult => ({
    state: "bad",
    reason: `malformed ClientHello (${what})`,
  });
  let p = 2 + 32; // client_version, random
  if (p + 1 > h.length) return bad("random");
  p += 1 + h[p]; // session_id
  if (p + 2 > h.length) return bad("session id");
  p += 2 + ((h[p] << 8) | h[p + 1]); // cipher_suites
  if (p + 1 > h.length) return bad("cipher suites");
  p += 1 + h[p]; // compression_methods
  if (p === h.length) return { state: "ok", sni: "" }; // no extensions
  if (p + 2 > h.length) return bad("compression methods");
  const extEnd = p + 2 + ((h[p] << 8) | h[p + 1]);
  if (extEnd > h.length) return bad("extensions length");
  p += 2;
  while (p + 4 <= extEnd) {
    const type = (h[p] << 8) | h[p + 1];
    const len = (h[p + 2] << 8) | h[p + 3];
    p += 4;
    if (p + len > extEnd) return bad("extension length");
    if (type === 0) return serverName(h.subarray(p, p + len));
    p += len;
  }
  return { state: "ok", sni: "" };
}

function serverName(e: Uint8Array): HelloResult {
  if (e.length < 2) return { state: "bad", reason: "malformed server_name extension" };
  const end = Math.min(e.length, 2 + ((e[0] << 8) | e[1]));
  let p = 2;
  while (p + 3 <= end) {
    const type = e[p];
    const len = (e[p + 1] << 8) | e[p + 2];
    p += 3;
    if (p + len > end) break;
    if (type === 0) {
      let s = "";
      for (let i = p; i < p + len; i++) s += String.fromCharCode(e[i]);
      if (!/^[\x21-\x7e]*$/.test(s)) return { state: "bad", reason: "server name is not ASCII" };
      return { state: "ok", sni: s.toLowerCase().replace(/\.$/, "") };
    }
    p += len;
  }
  return { state: "bad", reason: "malformed server_name extension" };
}

/**
 * Reads from `t` until a whole ClientHello arrived (or it is malformed, too
 * large, or `timeoutMs` passed). Returns the bytes read (to forward) too.
 */
export async function readClientHello(
  t: Transport,
  timeoutMs: number,
): Promise<{ result: HelloResult; bytes: Uint8Array }> {
  let buf = new Uint8Array(4096);
  let n = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      t.close();
    } catch {
      // already closed
    }
  }, timeoutMs);
  try {
    for (;;) {
      if (n === buf.length) {
        if (buf.length >= MAX_HELLO_BYTES + 5 * 8) {
          return { result: { state: "bad", reason: "ClientHello too large" }, bytes: buf };
        }
        const nb = new Uint8Array(buf.length * 2);
        nb.set(buf);
        buf = nb;
      }
      let k: number | null;
      try {
        k = await t.read(buf.subarray(n));
      } catch (e) {
        const reason = timedOut
          ? `no complete ClientHello within ${timeoutMs} ms`
          : `read failed: ${(e as Error).message}`;
        return { result: { state: "bad", reason }, bytes: buf.subarray(0, n) };
      }
      if (k === null) {
        const reason = timedOut
          ? `no complete ClientHello within ${timeoutMs} ms`
          : "client closed before a complete ClientHello";
        return { result: { state: "bad", reason }, bytes: buf.subarray(0, n) };
      }
      n += k;
      const r = parseClientHello(buf.subarray(0, n));
      if (r.state !== "more") return { result: r, bytes: buf.subarray(0, n) };
    }
  } finally {
    clearTimeout(timer);
  }
}
