/** Hop-by-hop header handling (RFC 9110 §7.6.1). */
import type { HeaderList } from "./types.ts";

/** Headers that describe one connection and must never be forwarded. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authenticate",
  "proxy-authorization",
]);

/**
 * Names a `Connection:` list may not remove: framing and routing stay the
 * proxy's decision (a client must not be able to strip Host or Content-Length).
 */
export const CONNECTION_PROTECTED: ReadonlySet<string> = new Set([
  "host",
  "content-length",
  ":authority",
  ":method",
  ":path",
  ":scheme",
]);

/** Lowercase tokens of a Connection header value, minus protected names. */
export function connectionTokens(value: string | null): string[] {
  if (value === null || value === "") return [];
  const out: string[] = [];
  for (const tok of value.split(",")) {
    const t = tok.trim().toLowerCase();
    if (t !== "" && !CONNECTION_PROTECTED.has(t) && !out.includes(t)) out.push(t);
  }
  return out;
}

/** Whether a TE value contains the "trailers" token (kept for gRPC over HTTP/2). */
export function teHasTrailers(value: string | null): boolean {
  if (value === null) return false;
  for (const part of value.split(",")) {
    const t = part.split(";")[0].trim().toLowerCase();
    if (t === "trailers") return true;
  }
  return false;
}

export interface StripResult {
  /** The client sent `TE: trailers` (forward it when the upstream speaks HTTP/2, e.g. gRPC). */
  readonly teTrailers: boolean;
  /** The Upgrade value before stripping (for WebSocket / upgrade handling), or null. */
  readonly upgrade: string | null;
}

/**
 * Removes every hop-by-hop header and every header named in `Connection` from
 * `h`, in place. Returns what the caller may still need to know about the
 * stripped fields.
 */
export function stripHopByHop(h: HeaderList): StripResult {
  const named = connectionTokens(h.get("connection"));
  const teTrailers = teHasTrailers(h.get("te"));
  const upgrade = h.get("upgrade");
  for (const n of named) h.delete(n);
  for (const n of HOP_BY_HOP) h.delete(n);
  return { teTrailers, upgrade };
}
