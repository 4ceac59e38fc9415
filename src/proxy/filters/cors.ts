/**
 * CORS (Gateway API HTTPCORSFilter semantics, also used by ProxyPolicy cors).
 * A `Cors` config is compiled once (origin patterns to matchers, joined header
 * values) and cached per config object, so per-request work is a set lookup or
 * a few regex tests plus header writes.
 */
import type { Cors } from "../../snapshot/types.ts";
import type { HeaderList } from "./types.ts";

/** Status the engine should answer a handled preflight with. */
export const CORS_PREFLIGHT_STATUS = 204;

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
  /** "*" allowed as a literal response value (only without credentials). */
  readonly wildcardOrigin: boolean;
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
    wildcardOrigin: anyOrigin && !c.allowCredentials,
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

function setAllowOrigin(cc: CompiledCors, origin: string, out: HeaderList): void {
  if (cc.wildcardOrigin) out.set("access-control-allow-origin", "*");
  else {
    // With credentials (or a specific list) the origin is echoed, never "*".
    out.set("access-control-allow-origin", origin);
  }
}

/**
 * Answers a CORS preflight. Returns false (and writes nothing) when the request
 * is not a preflight; the caller then routes it normally. Returns true when it
 * is: `out` then holds the response headers and the caller answers with
 * CORS_PREFLIGHT_STATUS without contacting the upstream. A disallowed origin
 * gets no Access-Control-Allow-* headers, so the browser blocks the request.
 *
 * "*" in allowMethods / allowHeaders answers "*" without credentials and
 * echoes the requested method / headers with credentials (the Fetch standard
 * treats "*" literally when credentials are included).
 */
export function corsPreflight(c: Cors, method: string, h: HeaderReader, out: HeaderList): boolean {
  if (!isCorsPreflight(method, h)) return false;
  const origin = h.get("origin")!;
  const cc = compileCors(c);
  if (!cc.wildcardOrigin) addVaryOrigin(out);
  if (!corsOriginAllowed(c, origin)) return true;
  setAllowOrigin(cc, origin, out);
  if (cc.credentials) out.set("access-control-allow-credentials", "true");
  if (cc.anyMethod) {
    out.set(
      "access-control-allow-methods",
      cc.credentials ? h.get("access-control-request-method")! : "*",
    );
  } else if (cc.methods !== "") out.set("access-control-allow-methods", cc.methods);
  if (cc.anyHeader) {
    const requested = h.get("access-control-request-headers");
    if (!cc.credentials) out.set("access-control-allow-headers", "*");
    else if (requested !== null && requested !== "") {
      out.set("access-control-allow-headers", requested);
    }
  } else if (cc.headers !== "") out.set("access-control-allow-headers", cc.headers);
  if (cc.maxAge !== "") out.set("access-control-max-age", cc.maxAge);
  return true;
}

/**
 * Adds CORS headers to the response of an actual (non-preflight) request whose
 * Origin is `origin` (null: not a CORS request, nothing is added). Upstream
 * Access-Control-* values are replaced, so the gateway's policy wins.
 */
export function corsResponseHeaders(c: Cors, origin: string | null, out: HeaderList): void {
  if (origin === null) return;
  const cc = compileCors(c);
  if (!cc.wildcardOrigin) addVaryOrigin(out);
  if (!corsOriginAllowed(c, origin)) return;
  setAllowOrigin(cc, origin, out);
  if (cc.credentials) out.set("access-control-allow-credentials", "true");
  if (cc.expose !== "") out.set("access-control-expose-headers", cc.expose);
}
