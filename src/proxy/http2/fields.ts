/** HTTP/2 facts shared by both engines and the upstream client, free of proxy-core imports. */
import { CONNECTION_SPECIFIC } from "../h2/frames.ts";

/** Fields never sent on HTTP/2 (RFC 9113 §8.2.2) plus Host, which :authority replaces. */
export const NOT_ON_H2: ReadonlySet<string> = new Set([...CONNECTION_SPECIFIC, "host"]);

/**
 * The never-indexed names (RFC 7541 §6.2.3) of a node:http2 headers object,
 * which node reports under `http2.sensitiveHeaders` (passed as `sym`); null
 * when there are none. For the node:http2 fallback engines.
 */
export function sensitiveNames(h: object, sym: symbol): Set<string> | null {
  const s = (h as Record<symbol, unknown>)[sym];
  if (!Array.isArray(s) || s.length === 0) return null;
  return new Set(s.map((n) => String(n).toLowerCase()));
}

/** Marks `names` never indexed on a node:http2 outgoing headers object (see sensitiveNames). */
export function markSensitive(h: object, sym: symbol, names: ReadonlySet<string> | null): void {
  if (names !== null && names.size > 0) (h as Record<symbol, unknown>)[sym] = [...names];
}

/**
 * NOVAEDGE_H2_ENGINE: "node" puts both HTTP/2 sides on node:http2,
 * "node-server" / "node-client" only one of them (for comparisons and as an
 * escape hatch); unset or anything else: our own engine.
 */
export function nodeHttp2For(side: "server" | "client"): boolean {
  let v: string | undefined;
  try {
    v = Deno.env.get("NOVAEDGE_H2_ENGINE");
  } catch {
    return false; // no env permission: the default engine
  }
  return v === "node" || v === `node-${side}`;
}
