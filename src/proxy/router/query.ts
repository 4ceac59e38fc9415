/**
 * Query-string lookup used by query-parameter matches. It scans the raw query
 * in place instead of building a map, so requests whose candidate routes have
 * no query matches pay nothing, and those that do allocate only the value.
 */

/**
 * Decodes one query component the way `URLSearchParams` does for well-formed
 * input: "+" is a space, then percent-decoding. Malformed percent sequences
 * leave the component as received (after "+" replacement).
 */
export function decodeQueryComponent(s: string): string {
  const plus = s.indexOf("+") !== -1;
  const pct = s.indexOf("%") !== -1;
  if (!plus && !pct) return s;
  const spaced = plus ? s.replaceAll("+", " ") : s;
  if (!pct) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * Returns the decoded value of the FIRST occurrence of query parameter `name`
 * (compared after decoding, case-sensitively), "" for a bare `name`, or null
 * when absent. `query` is the raw query string without "?".
 */
export function queryParam(query: string, name: string): string | null {
  const len = query.length;
  let start = 0;
  while (start <= len) {
    let end = query.indexOf("&", start);
    if (end === -1) end = len;
    if (end > start) {
      const eq = query.indexOf("=", start);
      const keyEnd = eq !== -1 && eq < end ? eq : end;
      // Compare in place without slicing; decode only keys that carry escapes.
      const hit = hasEscapes(query, start, keyEnd)
        ? decodeQueryComponent(query.slice(start, keyEnd)) === name
        : keyEnd - start === name.length && query.startsWith(name, start);
      if (hit) {
        return keyEnd === end ? "" : decodeQueryComponent(query.slice(keyEnd + 1, end));
      }
    }
    start = end + 1;
  }
  return null;
}

function hasEscapes(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 || c === 43) return true; // "%" or "+"
  }
  return false;
}
