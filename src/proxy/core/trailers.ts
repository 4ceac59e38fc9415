/**
 * Which request trailer fields are forwarded upstream. RFC 9110 §6.5.1: a
 * trailer must not carry fields needed for framing, routing, request
 * modifiers, authentication or content processing — a recipient could act on
 * them after the fact, or a client could smuggle them past checks made on
 * the head. Those, hop-by-hop fields and pseudo-fields are dropped; the rest
 * (checksums, gRPC-web style status fields …) pass.
 */
import { Hdrs } from "./headers.ts";

const DROP = new Set([
  // hop-by-hop
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "trailer",
  // framing and content processing
  "content-length",
  "content-encoding",
  "content-type",
  "content-range",
  // routing and request modifiers
  "host",
  "expect",
  "max-forwards",
  "range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "if-range",
  "cache-control",
  // authentication and state
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "www-authenticate",
  "proxy-authenticate",
]);

/** `t` without the fields above (lower-case names); null when nothing is left. */
export function forwardableTrailers(t: Hdrs | null): Hdrs | null {
  if (t === null) return null;
  const kv = t.kv;
  const out: string[] = [];
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    if (n.charCodeAt(0) === 58 /* ":" */ || DROP.has(n)) continue;
    out.push(n, kv[i + 1]);
  }
  return out.length === 0 ? null : new Hdrs(out);
}
