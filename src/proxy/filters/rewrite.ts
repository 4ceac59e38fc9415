/** URLRewrite (Gateway API HTTPURLRewriteFilter). */
import type { Rewrite } from "../../snapshot/types.ts";
import { modifyPath } from "./path.ts";

/** The upstream path after a URLRewrite (query string untouched: the caller keeps it). */
export function rewritePath(rw: Rewrite, path: string, matchedPrefix: string | undefined): string {
  return rw.path === undefined ? path : modifyPath(path, rw.path, matchedPrefix);
}

/** The Host to send upstream after a URLRewrite, or null to keep the request's. */
export function rewriteHost(rw: Rewrite): string | null {
  return rw.hostname === "" ? null : rw.hostname;
}
