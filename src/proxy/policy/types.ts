/** The per-request contract between the proxy engine and policy enforcement. */
import type { Cors, HeaderModifier } from "../../snapshot/types.ts";

/** What a policy check needs to know about a request (after routing). */
export interface PolicyRequest {
  /** Request method, upper case as received ("GET", "OPTIONS"). */
  readonly method: string;
  /** Client address as the engine sees it ("10.1.2.3", "::1", "::ffff:10.1.2.3"). */
  readonly sourceIp: string;
  /** Request header by lower-case name (first value / combined value), or null. */
  header(name: string): string | null;
  /** Raw query string, with or without the leading "?" ("" when none). */
  readonly query: string;
}

/** The request may proceed; apply these edits (all precomputed, shared, never mutate). */
export interface PolicyAllow {
  readonly allow: true;
  /** Applied in order to the headers sent upstream (after route filters). */
  readonly requestHeaders: readonly HeaderModifier[];
  /** Applied in order to the response sent to the client (after route filters). */
  readonly responseHeaders: readonly HeaderModifier[];
  /** CORS response headers to add (corsResponseHeaders), or null. */
  readonly cors: Cors | null;
  /** Names of the policies in force (for logs / debugging). */
  readonly policies: readonly string[];
}

/**
 * The request is answered locally, without contacting a backend: a refusal
 * (401, 403, 429) or an answered CORS preflight (200).
 */
export interface PolicyRespond {
  readonly allow: false;
  readonly status: number;
  /** Response headers, lower-case names (content-type included). */
  readonly headers: readonly (readonly [string, string])[];
  /** Short plain-text body (no secrets; ends with "\n"; "" for a preflight). */
  readonly body: string;
  /** Detailed reason for the access log. */
  readonly reason: string;
}

/** The outcome of RoutePolicy.check. */
export type PolicyDecision = PolicyAllow | PolicyRespond;
