/** RequestRedirect (Gateway API HTTPRequestRedirectFilter). */
import type { Redirect } from "../../snapshot/types.ts";
import { modifyPath } from "./path.ts";

/** What a redirect needs to know about the request and the listener. */
export interface RedirectInput {
  /** Scheme the request arrived with: "http" or "https". */
  readonly scheme: string;
  /** Request host without port. */
  readonly host: string;
  /** The Gateway listener's port; null when unknown (then the scheme's default). */
  readonly port: number | null;
  /** Request path without query. */
  readonly path: string;
  /** Raw query string without "?" ("" when none); always carried over. */
  readonly query: string;
  /** RouteMatchResult.matchedPrefix, for ReplacePrefixMatch. */
  readonly matchedPrefix?: string;
}

export interface RedirectResult {
  readonly status: number;
  readonly location: string;
}

/** Status codes the Gateway API allows; anything else falls back to the default. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Gateway API default (`+kubebuilder:default=302`). */
export const DEFAULT_REDIRECT_STATUS = 302;

const WELL_KNOWN: Readonly<Record<string, number>> = { http: 80, https: 443 };

/**
 * Computes the redirect response. Per the Gateway API:
 * - scheme: the filter's, else the request's;
 * - hostname: the filter's, else the request's;
 * - port: the filter's; else, when the filter sets a scheme, that scheme's
 *   well-known port (so "http → https" drops ":8080"); else the listener port;
 *   never written when it is the scheme's default (http:80, https:443);
 * - path: ReplaceFullPath / ReplacePrefixMatch, else unchanged; query kept;
 * - status: 301/302/303/307/308, default 302.
 */
export function redirectLocation(r: Redirect, req: RedirectInput): RedirectResult {
  const scheme = (r.scheme || req.scheme).toLowerCase();
  let host = r.hostname || req.host;
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  let port: number | null;
  if (r.port > 0) port = r.port;
  else if (r.scheme !== "") port = WELL_KNOWN[scheme] ?? req.port;
  else port = req.port;
  const hostPort = port === null || port === WELL_KNOWN[scheme] ? host : `${host}:${port}`;
  const path = r.path === undefined ? req.path : modifyPath(req.path, r.path, req.matchedPrefix);
  const q = req.query === "" ? "" : "?" + req.query;
  const status = REDIRECT_STATUSES.has(r.statusCode) ? r.statusCode : DEFAULT_REDIRECT_STATUS;
  return { status, location: `${scheme}://${hostPort}${path}${q}` };
}
