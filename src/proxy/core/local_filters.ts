/**
 * Route filter semantics (Gateway API HTTPRoute filters) applied by the
 * proxy core: header modifiers, redirect, URL rewrite, CORS. Kept local to
 * the engine until the shared filters library lands.
 */
import type { Cors, HeaderModifier, Redirect, Rewrite } from "../../snapshot/types.ts";
import type { HeaderList } from "../filters/types.ts";

export function applyHeaderModifier(m: HeaderModifier, h: HeaderList): void {
  for (const x of m.set) h.set(x.name, x.value);
  for (const x of m.add) h.append(x.name, x.value);
  for (const n of m.remove) h.delete(n);
}

function modifyPath(
  path: string,
  mod: { type: string; value: string },
  matchedPrefix: string | undefined,
): string {
  if (mod.type === "ReplaceFullPath") return mod.value;
  const prefix = matchedPrefix ?? "/";
  let rest = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  if (prefix.endsWith("/") && !rest.startsWith("/")) rest = "/" + rest;
  let base = mod.value;
  if (base.endsWith("/") && rest.startsWith("/")) base = base.slice(0, -1);
  const out = base + (rest === "/" && base !== "" ? "" : rest);
  return out === "" ? "/" : out;
}

export interface RedirectInput {
  readonly scheme: string;
  readonly host: string;
  readonly port: number | null;
  readonly path: string;
  readonly query: string;
  readonly matchedPrefix?: string;
}

/** Location and status for a RequestRedirect filter. */
export function redirectLocation(
  r: Redirect,
  req: RedirectInput,
): { status: number; location: string } {
  const scheme = r.scheme || req.scheme;
  const host = r.hostname || req.host;
  let port: number | null = r.port > 0 ? r.port : null;
  if (port === null) {
    if (r.scheme) port = null; // scheme change: default port of the new scheme
    else port = req.port;
  }
  const defPort = scheme === "https" ? 443 : 80;
  const hostPart = port !== null && port !== defPort ? `${host}:${port}` : host;
  const path = r.path ? modifyPath(req.path, r.path, req.matchedPrefix) : req.path;
  const q = req.query ? `?${req.query}` : "";
  return { status: r.statusCode || 302, location: `${scheme}://${hostPart}${path}${q}` };
}

/** New path (and hostname, "" = unchanged) for a URLRewrite filter. */
export function rewritePath(rw: Rewrite, path: string, matchedPrefix: string | undefined): string {
  return rw.path ? modifyPath(path, rw.path, matchedPrefix) : path;
}

function originAllowed(c: Cors, origin: string): boolean {
  for (const o of c.allowOrigins) {
    if (o === "*" || o === origin) return true;
    if (o.startsWith("*.") || o.includes("://*.")) {
      const suffix = o.slice(o.indexOf("*") + 1);
      const schemePrefix = o.slice(0, o.indexOf("*"));
      if (origin.startsWith(schemePrefix) && origin.endsWith(suffix)) return true;
    }
  }
  return false;
}

/** Writes the preflight answer into `out`; false when this is not a CORS preflight. */
export function corsPreflight(c: Cors, method: string, h: HeaderList, out: HeaderList): boolean {
  const origin = h.get("origin");
  if (method !== "OPTIONS" || !origin || !h.get("access-control-request-method")) return false;
  if (originAllowed(c, origin)) {
    out.set(
      "access-control-allow-origin",
      c.allowOrigins.includes("*") && !c.allowCredentials ? "*" : origin,
    );
    if (c.allowMethods.length) out.set("access-control-allow-methods", c.allowMethods.join(", "));
    const reqHeaders = h.get("access-control-request-headers");
    if (c.allowHeaders.length) out.set("access-control-allow-headers", c.allowHeaders.join(", "));
    else if (reqHeaders) out.set("access-control-allow-headers", reqHeaders);
    if (c.allowCredentials) out.set("access-control-allow-credentials", "true");
    if (c.maxAgeSeconds > 0) out.set("access-control-max-age", String(c.maxAgeSeconds));
  }
  out.append("vary", "Origin");
  return true;
}

/** CORS headers added to an actual (non-preflight) response. */
export function corsResponseHeaders(c: Cors, origin: string | null, out: HeaderList): void {
  if (!origin || !originAllowed(c, origin)) return;
  out.set(
    "access-control-allow-origin",
    c.allowOrigins.includes("*") && !c.allowCredentials ? "*" : origin,
  );
  if (c.allowCredentials) out.set("access-control-allow-credentials", "true");
  if (c.exposeHeaders.length) out.set("access-control-expose-headers", c.exposeHeaders.join(", "));
  out.append("vary", "Origin");
}
