/** Reading one cookie out of a request's Cookie header(s), for PickContext.cookie. */

/**
 * The value of cookie `name` in a Cookie header value ("a=1; b=2"; several
 * Cookie headers joined with ", " or "; " are fine), or null. The first
 * occurrence wins; surrounding double quotes are removed; no decoding.
 */
export function cookieValue(header: string | null, name: string): string | null {
  if (header === null || header === "") return null;
  const len = header.length;
  let i = 0;
  while (i < len) {
    // Skip separators and whitespace before a pair.
    let c = header.charCodeAt(i);
    while (i < len && (c === 32 || c === 9 || c === 59 || c === 44)) c = header.charCodeAt(++i);
    // Cookie values cannot contain "," (RFC 6265 cookie-octet), so a "," can
    // only come from joining several Cookie headers: treat it like ";".
    let end = i;
    while (end < len) {
      const ch = header.charCodeAt(end);
      if (ch === 59 || ch === 44) break;
      end++;
    }
    const eq = header.indexOf("=", i);
    if (eq !== -1 && eq < end) {
      let kEnd = eq;
      while (
        kEnd > i && (header.charCodeAt(kEnd - 1) === 32 || header.charCodeAt(kEnd - 1) === 9)
      ) kEnd--;
      if (kEnd - i === name.length && header.startsWith(name, i)) {
        let v = header.slice(eq + 1, end).trim();
        if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
        return v;
      }
    }
    i = end + 1;
  }
  return null;
}
