/**
 * Public face of the HTTP filters: pure, synchronous helpers the engines call
 * per request. Header-mutating helpers work on any `HeaderList` (web Headers
 * or an engine's own list).
 */
export type { HeaderList } from "./types.ts";
export { applyHeaderModifier } from "./header_modifier.ts";
export { modifyPath, replacePrefixMatch } from "./path.ts";
export { rewriteHost, rewritePath } from "./rewrite.ts";
export {
  DEFAULT_REDIRECT_STATUS,
  REDIRECT_STATUSES,
  type RedirectInput,
  redirectLocation,
  type RedirectResult,
} from "./redirect.ts";
export {
  compileCors,
  type CompiledCors,
  CORS_PREFLIGHT_STATUS,
  corsOriginAllowed,
  corsPreflight,
  corsResponseHeaders,
  type HeaderReader,
  isCorsPreflight,
} from "./cors.ts";
export { shouldMirror } from "./mirror.ts";
export {
  CONNECTION_PROTECTED,
  connectionTokens,
  HOP_BY_HOP,
  stripHopByHop,
  type StripResult,
  teHasTrailers,
} from "./hop_by_hop.ts";
export {
  applyForwardedHeaders,
  forwardedFor,
  type ForwardedInfo,
  normalizeClientIp,
  originalClient,
} from "./forwarded.ts";
