/** X-Forwarded-For / -Proto / -Host computation. */
import type { HeaderList } from "./types.ts";

/** "::ffff:10.0.0.1" → "10.0.0.1"; other addresses unchanged. */
export function normalizeClientIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/**
 * The X-Forwarded-For value to send upstream: the existing chain (only when
 * the downstream is trusted) followed by the client address.
 */
export function forwardedFor(existing: string | null, clientIp: string, trusted: boolean): string {
  const ip = normalizeClientIp(clientIp);
  if (!trusted || existing === null || existing.trim() === "") return ip;
  return `${existing}, ${ip}`;
}

/** The left-most (original client) address of an X-Forwarded-For chain, or null. */
export function originalClient(xff: string | null): string | null {
  if (xff === null) return null;
  const first = xff.split(",")[0].trim();
  return first === "" ? null : first;
}

export interface ForwardedInfo {
  /** Address of the peer that connected to us. */
  readonly clientIp: string;
  /** Scheme the request arrived with ("http" / "https"). */
  readonly scheme: string;
  /** Host the client asked for (with port if it sent one). */
  readonly host: string;
  /**
   * Whether the peer is a trusted proxy (e.g. a cloud load balancer): then its
   * X-Forwarded-* values are kept and extended; otherwise they are replaced,
   * so clients cannot spoof them.
   */
  readonly trusted: boolean;
}

/** Sets X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host on the upstream request. */
export function applyForwardedHeaders(h: HeaderList, info: ForwardedInfo): void {
  h.set("x-forwarded-for", forwardedFor(h.get("x-forwarded-for"), info.clientIp, info.trusted));
  const proto = info.trusted ? h.get("x-forwarded-proto") : null;
  h.set("x-forwarded-proto", proto !== null && proto !== "" ? proto : info.scheme);
  const host = info.trusted ? h.get("x-forwarded-host") : null;
  if (host !== null && host !== "") h.set("x-forwarded-host", host);
  else if (info.host !== "") h.set("x-forwarded-host", info.host);
  else h.delete("x-forwarded-host");
}
