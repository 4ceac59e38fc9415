/** Gateway API HTTPPathModifier: ReplaceFullPath and ReplacePrefixMatch. */
import type { PathModifier } from "../../snapshot/types.ts";

/**
 * Replaces the matched PathPrefix of `path` with `replacement`, element-wise
 * as the Gateway API specifies: a trailing "/" on the prefix or on the
 * replacement is ignored, the rest of the path keeps its own leading "/", and
 * an empty result becomes "/".
 *
 * | path     | prefix | replacement | result   |
 * |----------|--------|-------------|----------|
 * | /foo/bar | /foo   | /xyz        | /xyz/bar |
 * | /foo/bar | /foo/  | /xyz/       | /xyz/bar |
 * | /foo     | /foo   | /xyz        | /xyz     |
 * | /foo/    | /foo   | /xyz        | /xyz/    |
 * | /foo/bar | /foo   | ""          | /bar     |
 * | /foo     | /foo   | /           | /        |
 *
 * When `path` does not start with the prefix (the caller passed a prefix that
 * did not match) the path is returned unchanged.
 */
export function replacePrefixMatch(path: string, prefix: string, replacement: string): string {
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (!path.startsWith(p)) return path;
  const rest = path.slice(p.length);
  if (rest.length !== 0 && rest.charCodeAt(0) !== 47) return path; // "/foobar" vs "/foo": not a match
  const r = replacement.endsWith("/") ? replacement.slice(0, -1) : replacement;
  const out = r + rest;
  if (out.length === 0) return "/";
  return out.charCodeAt(0) === 47 ? out : "/" + out;
}

/**
 * The path after a path modifier. ReplacePrefixMatch needs the route's matched
 * prefix (RouteMatchResult.matchedPrefix); without one the path is unchanged
 * (the Gateway API only allows it on PathPrefix matches).
 */
export function modifyPath(
  path: string,
  mod: PathModifier,
  matchedPrefix: string | undefined,
): string {
  if (mod.type === "ReplaceFullPath") return mod.value === "" ? "/" : mod.value;
  if (matchedPrefix === undefined) return path;
  return replacePrefixMatch(path, matchedPrefix, mod.value);
}
