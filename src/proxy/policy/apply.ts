/**
 * Applying an allowed PolicyDecision to the engine's header lists, with the
 * existing filter helpers (same semantics as route filters).
 */
import { applyHeaderModifier, corsResponseHeaders } from "../filters/mod.ts";
import type { HeaderList } from "../filters/types.ts";
import type { PolicyAllow } from "./types.ts";

/** Applies the policy request-header edits to the headers going upstream. */
export function applyPolicyRequest(d: PolicyAllow, upstreamHeaders: HeaderList): void {
  const m = d.requestHeaders;
  for (let i = 0; i < m.length; i++) applyHeaderModifier(m[i], upstreamHeaders);
}

/**
 * Applies the policy response-header edits and CORS headers to the response
 * going to the client. `origin` is the request's Origin header (or null).
 */
export function applyPolicyResponse(
  d: PolicyAllow,
  origin: string | null,
  responseHeaders: HeaderList,
): void {
  const m = d.responseHeaders;
  for (let i = 0; i < m.length; i++) applyHeaderModifier(m[i], responseHeaders);
  if (d.cors !== null) corsResponseHeaders(d.cors, origin, responseHeaders);
}
