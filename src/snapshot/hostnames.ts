/**
 * Gateway API hostname intersection: a listener hostname and a route hostname
 * (either may be a "*." wildcard matching one or more leading labels) meet in
 * the more specific of the two, or not at all.
 */

/** True when `host` (exact or wildcard) is covered by the wildcard `wild` ("*.x"). */
function coveredBy(host: string, wild: string): boolean {
  const suffix = wild.slice(1); // ".x"
  const h = host.startsWith("*.") ? host.slice(1) : host;
  return h.endsWith(suffix) && h.length > suffix.length;
}

/** The intersection of two hostnames, or undefined when they cannot both match a request. */
export function intersectHostname(a: string, b: string): string | undefined {
  if (a === b) return a;
  const aw = a.startsWith("*."), bw = b.startsWith("*.");
  if (bw && coveredBy(a, b)) return a;
  if (aw && coveredBy(b, a)) return b;
  return undefined;
}

/**
 * Effective hostnames of a route on a listener. `undefined` means "no match":
 * the route does not attach. An empty list means "any host".
 */
export function effectiveHostnames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[],
): string[] | undefined {
  if (routeHostnames.length === 0) return listenerHostname ? [listenerHostname] : [];
  if (!listenerHostname) return [...routeHostnames];
  const out = new Set<string>();
  for (const r of routeHostnames) {
    const i = intersectHostname(listenerHostname, r);
    if (i !== undefined) out.add(i);
  }
  return out.size ? [...out] : undefined;
}
