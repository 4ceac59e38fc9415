/**
 * Gateway API regular expressions (RE2 flavoured in most implementations) as
 * anchored JavaScript RegExps. Full-match semantics: the whole path / value
 * must match. A leading RE2 inline flag group such as "(?i)" or "(?s)" becomes
 * the equivalent JavaScript flag, since JavaScript has no global inline flags.
 */

const INLINE_FLAGS = /^\(\?([imsU]+)\)/;

/** Compiles `source` for a full match; throws SyntaxError when invalid. */
export function compileFullMatch(source: string): RegExp {
  let flags = "";
  let body = source;
  const m = INLINE_FLAGS.exec(source);
  if (m !== null) {
    body = source.slice(m[0].length);
    for (const f of m[1]) {
      if (f === "i" && !flags.includes("i")) flags += "i";
      else if (f === "s" && !flags.includes("s")) flags += "s";
      else if (f === "m" && !flags.includes("m")) flags += "m";
      // "U" (ungreedy) has no JavaScript equivalent: keep greedy semantics.
    }
  }
  return new RegExp(`^(?:${body})$`, flags);
}
