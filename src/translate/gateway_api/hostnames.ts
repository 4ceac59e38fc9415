/**
 * Hostname intersection between a Listener and a Route, as the Gateway API
 * spec defines it: a wildcard "*.example.com" covers any name with one or more
 * extra leading labels (never "example.com" itself); the more specific name of
 * a matching pair is the effective one.
 */

/** Does the wildcard `*.suffix` cover `name` (exact or wildcard)? */
function wildcardCovers(wild: string, name: string): boolean {
  const suffix = wild.slice(1); // ".example.com"
  const bare = name.startsWith("*.") ? name.slice(1) : `.${name}`;
  return bare.endsWith(suffix) && bare.length > suffix.length;
}

/** The effective hostname of a (listener, route) hostname pair, or undefined when they do not intersect. */
export function intersectHostname(listener: string, route: string): string | undefined {
  const lw = listener.startsWith("*.");
  const rw = route.startsWith("*.");
  if (listener === route) return route;
  if (!lw && !rw) return undefined;
  if (lw && wildcardCovers(listener, route)) return route;
  if (rw && wildcardCovers(route, listener)) return listener;
  return undefined;
}

/**
 * Effective hostnames of a route on a listener: `undefined` means "any host"
 * (neither restricts); an empty array means the route does not match the
 * listener's hostname at all (NoMatchingListenerHostname).
 */
export function effectiveHostnames(
  listenerHostname: string | undefined,
  routeHostnames: readonly string[] | undefined,
): readonly string[] | undefined {
  const rh = routeHostnames ?? [];
  if (listenerHostname === undefined || listenerHostname === "") {
    return rh.length ? [...new Set(rh)].sort() : undefined;
  }
  if (!rh.length) return [listenerHostname];
  const out = new Set<string>();
  for (const r of rh) {
    const x = intersectHostname(listenerHostname, r);
    if (x !== undefined) out.add(x);
  }
  return [...out].sort();
}
