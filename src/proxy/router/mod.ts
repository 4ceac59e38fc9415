/**
 * Public face of the HTTP router: `compileRouter` (indexed, for production),
 * `compileLinearRouter` (reference, for tests), and the contract types.
 */
export type { RequestView, RouteMatchResult, Router, RouterFactory } from "./types.ts";
export { compileRouter, normalizeHostname } from "./router.ts";
export { compileLinearRouter } from "./linear.ts";
export { compileListenerRouter, ListenerRouter } from "./listeners.ts";
export { RouterCompileError } from "./compiled.ts";
export { decodeQueryComponent, queryParam } from "./query.ts";
