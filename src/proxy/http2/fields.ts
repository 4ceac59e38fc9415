/** HTTP/2 facts shared by both engines and the upstream client, free of proxy-core imports. */
import { CONNECTION_SPECIFIC } from "../h2/frames.ts";

/** Fields never sent on HTTP/2 (RFC 9113 §8.2.2) plus Host, which :authority replaces. */
export const NOT_ON_H2: ReadonlySet<string> = new Set([...CONNECTION_SPECIFIC, "host"]);

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
