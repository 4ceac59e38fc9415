/**
 * CORS (Gateway API HTTPCORSFilter semantics, also used by ProxyPolicy cors).
 * A `Cors` config is compiled once (origin patterns to matchers, joined header
 * values) and cached per config object, so per-request work is a set lookup or
 * a few regex tests plus header writes.
 */
import type { Cors } from "../../snapshot/types.ts";
import type { HeaderList } from "./types.ts";

/** Status the engine should answer a handled preflight with (conformance expects 200). */
export const CORS_PREFLIGHT_STATUS = 200;

/** A read-only view of request headers (HeaderList and web Headers both fit). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** A CORS config prepared for per-request use. */
export interface CompiledCors {
  readonly anyOrigin: boolean;
  readonly exact: ReadonlySet<string>;
  readonly patterns: readonly RegExp[];
  readonly credentials: boolean;
  readonly anyMethod: boolean;
  readonly methods: string;
  readonly anyHeader: boolean;
  readonly headers: string;
  readonly expose: string;
  readonly maxAge: string;
}

const cache = new WeakMap<Cors, CompiledCors>();

/** "https://a.com:443" → "https://a.com"; lowercased. */
function normalizeOrigin(o: string): string {
  const s = o.trim().toLowerCase();
  if (s.startsWith("https://") && s.endsWith(":443")) return s.slice(0, -4);
  if (s.startsWith("http://") && s.endsWith(":80")) return s.slice(0, -3);
  return s;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * An origin pattern with "*" (e.g. "https://*.example.com") becomes a regex
 * where "*" spans one or more host characters (labels and dots, no "/" or
 * ":"). A pattern without a scheme matches any scheme.
 */
function patternToRegex(p: string): RegExp {
  const hasScheme = p.includes("://");
  const body = escapeRe(p).replaceAll("\\*", "[^/:]+");
  return new RegExp(`^${hasScheme ? "" : "[a-z][a-z0-9+.-]*://"}${body}$`);
}

/** Compiles (and caches) a CORS config. */
export function compileCors(c: Cors): CompiledCors {
  let cc = cache.get(c);
  if (cc !== undefined) return cc;
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  let anyOrigin = false;
  for (const o of c.allowOrigins) {
    const n = normalizeOrigin(o);
    if (n === "*") anyOrigin = true;
    else if (n.includes("*")) patterns.push(patternToRegex(n));
    else exact.add(n);
  }
  const anyMethod = c.allowMethods.includes("*");
  const anyHeader = c.allowHeaders.includes("*");
  const expose = c.exposeHeaders.filter((h) => !(c.allowCredentials && h === "*"));
  cc = {
    anyOrigin,
    exact,
    patterns,
    credentials: c.allowCredentials,
    anyMethod,
    methods: c.allowMethods.join(", "),
    anyHeader,
    headers: c.allowHeaders.join(", "),
    expose: expose.join(", "),
    maxAge: c.maxAgeSeconds > 0 ? String(c.maxAgeSeconds) : "",
  };
  cache.set(c, cc);
  return cc;
}

/** Whether `origin` (the request's Origin header) is allowed by `c`. */
export function corsOriginAllowed(c: Cors, origin: string): boolean {
  const cc = compileCors(c);
  if (cc.anyOrigin) return true;
  const n = normalizeOrigin(origin);
  if (cc.exact.has(n)) return true;
  for (let i = 0; i < cc.patterns.length; i++) if (cc.patterns[i].test(n)) return true;
  return false;
}

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isCorsPreflight(method: string, h: HeaderReader): boolean {
  return method === "OPTIONS" && h.get("origin") !== null &&
    h.get("access-control-request-method") !== null;
}

function addVaryOrigin(out: HeaderList): void {
  const v = out.get("vary");
  if (v === null) out.set("vary", "Origin");
  else if (v.trim() !== "*" && !/(^|,)\s*origin\s*(,|$)/i.test(v)) out.append("vary", "Origin");
}

/**
 * Answers a CORS preflight. Returns false (and writes nothing) when the request
 * is not a preflight; the caller then routes it normally. Returns true when it
 * is: `out` then holds the response headers and the caller answers with
 * CORS_PREFLIGHT_STATUS without contacting the upstream. A disallowed origin
 * gets no Access-Control-Allow-* headers, so the browser blocks the request.
 *
 * Wildcards are answered by echoing, never with a literal "*": the allowed
 * Origin is echoed (with `Vary: Origin`), and "*" in allowMethods /
 * allowHeaders echoes the requested method / headers. That is valid with and
 * without credentials (the Fetch standard ignores a literal "*" when
 * credentials are included) and is what Envoy does.
 */
export function corsPreflight(c: Cors, method: string, h: HeaderReader, out: HeaderList): boolean {
  if (!isCorsPreflight(method, h)) return false;
  const origin = h.get("origin")!;
  const cc = compileCors(c);
  addVaryOrigin(out);
  if (!corsOriginAllowed(c, origin)) return true;
  out.set("access-control-allow-origin", origin);
  if (cc.credentials) out.set("access-control-allow-credentials", "true");
  if (cc.anyMethod) {
    out.set("access-control-allow-methods", h.get("access-control-request-method")!);
  } else if (cc.methods !== "") out.set("access-control-allow-methods", cc.methods);
  if (cc.anyHeader) {
    const requested = h.get("access-control-request-headers");
    if (requested !== null && requested !== "") {
      out.set("access-control-allow-headers", requested);
    }
  } else if (cc.headers !== "") out.set("access-control-allow-headers", cc.headers);
  if (cc.expose !== "") out.set("access-control-expose-headers", cc.expose);
  if (cc.maxAge !== "") out.set("access-control-max-age", cc.maxAge);
  return true;
}

/**
 * Adds CORS headers to the response of an actual (non-preflight) request whose
 * Origin is `origin` (null: not a CORS request, nothing is added). The allowed
 * origin is echoed (never "*"). Upstream Access-Control-* values are replaced,
 * so the gateway's policy wins.
 */
export function corsResponseHeaders(c: Cors, origin: string | null, out: HeaderList): void {
  if (origin === null) return;
  const cc = compileCors(c);
  addVaryOrigin(out);
  if (!corsOriginAllowed(c, origin)) return;
  out.set("access-control-allow-origin", origin);
  if (cc.credentials) out.set("access-control-allow-credentials", "true");
  if (cc.expose !== "") out.set("access-control-expose-headers", cc.expose);
}
