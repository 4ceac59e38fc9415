/**
 * ProxyPolicy enforcement for the data plane: compile once per snapshot
 * (compilePolicies), look up per routed request (PolicySet.forRoute), decide
 * (RoutePolicy.check), apply (applyPolicyRequest / applyPolicyResponse).
 */
export { type CompileOptions, compilePolicies, PolicySet, RoutePolicy } from "./compile.ts";
export { applyPolicyRequest, applyPolicyResponse } from "./apply.ts";
export type { PolicyAllow, PolicyDecision, PolicyRequest, PolicyRespond } from "./types.ts";
export { IpMatcher, parseCidr, parseIp } from "./ip_match.ts";
export { type Clock, DEFAULT_MAX_BUCKETS, TokenBucketLimiter } from "./rate_limit.ts";
export { HtpasswdVerifier, parseBasicAuthorization } from "./basic_auth.ts";
export { ApiKeyVerifier, queryParam } from "./api_key.ts";
export { bearerToken, JWT_CLOCK_SKEW_S, JwtVerifier } from "./jwt.ts";
export {
  DEFAULT_SHARED_SLOTS,
  SharedBucketTable,
  sharedRateLimitBytes,
  sharedRateLimits,
  SharedTokenBucketLimiter,
  useSharedRateLimits,
} from "./shared_rate_limit.ts";
export {
  type ConcurrencyCounter,
  concurrencyCounter,
  DEFAULT_CONCURRENCY_SLOTS,
  type Hold,
  LocalConcurrency,
  SharedConcurrency,
  sharedConcurrencyBytes,
  SharedConcurrencyTable,
  useSharedConcurrency,
} from "./concurrency.ts";
export {
  JwkSet,
  JwksFetcher,
  jwksFetcherFor,
  type JwksFetchOptions,
  jwksUriProblem,
} from "./jwks_fetch.ts";
