/**
 * Compiles snapshot Policies once per snapshot apply and answers, per
 * request, whether a routed request may proceed. Route → RoutePolicy is
 * resolved lazily and cached on the (frozen) Route object, so a route without
 * policies costs one length check.
 *
 * Order of checks for a route: IP deny / allow → rate limits → CORS preflight
 * → authentication → header edits; an allowed request then takes a slot of
 * every connection limit (RoutePolicy.enter), held until its response ends.
 *
 * Combining several policies on one route (e.g. one on the Gateway and one on
 * the route):
 * - ipDeny: an address in ANY deny list is refused (403);
 * - ipAllow: the address must be in EVERY policy's allow list (a narrower
 *   route list cannot be widened by a gateway list);
 * - rateLimit: every limiter must admit the request (each takes a token);
 *   a limiter's buckets belong to its policy, so a route-wide key ("") on a
 *   Gateway-targeted policy is one budget for the whole Gateway;
 * - authentication: the route is protected when any policy configures an
 *   auth method, and a request passing ANY configured method (basic, API
 *   key, JWT, from any of the policies) is authenticated;
 * - connectionLimit: every policy's limit must have room for the client
 *   (each counts the request, keyed by policy name and client address);
 * - cors: the first policy (in Route.policies order) that has one;
 * - header edits: all of them, in Route.policies order.
 * A CORS preflight (OPTIONS + Origin + Access-Control-Request-Method) on a
 * route with a policy CORS config is answered before authentication, since
 * browsers never send credentials on preflights.
 */
import type { Cors, HeaderModifier, Policy, Route } from "../../snapshot/types.ts";
import type { HeaderList } from "../filters/types.ts";
import {
  corsPreflight,
  corsResponseHeaders,
  isCorsPreflight,
  normalizeClientIp,
} from "../filters/mod.ts";
import { IpMatcher, parseIp } from "./ip_match.ts";
import { type Clock, DEFAULT_MAX_BUCKETS, TokenBucketLimiter } from "./rate_limit.ts";
import {
  type SharedBucketTable,
  sharedRateLimits,
  SharedTokenBucketLimiter,
} from "./shared_rate_limit.ts";
import { HtpasswdVerifier, parseBasicAuthorization } from "./basic_auth.ts";
import { ApiKeyVerifier } from "./api_key.ts";
import { bearerToken, type JwtResult, JwtVerifier } from "./jwt.ts";
import type { PolicyAllow, PolicyDecision, PolicyRequest, PolicyRespond } from "./types.ts";
import { type ConcurrencyCounter, concurrencyCounter, type Hold } from "./concurrency.ts";

/** Options for compilePolicies (all optional). */
export interface CompileOptions {
  /** The previous set: rate-limit buckets and auth caches of unchanged policies carry over. */
  readonly previous?: PolicySet | null;
  /** Monotonic milliseconds for rate limits (default performance.now). */
  readonly clock?: Clock;
  /** Wall-clock milliseconds for JWT exp/nbf (default Date.now). */
  readonly now?: () => number;
  /** Cap on buckets per rate limiter (default 100,000). */
  readonly maxBuckets?: number;
  /**
   * Keep rate-limit buckets in this table shared with the other worker
   * threads (default: the one set by useSharedRateLimits, else per thread).
   */
  readonly sharedLimits?: SharedBucketTable | null;
  /**
   * Where requests in progress are counted for connection limits (default:
   * the thread's counter, shared with the other workers when set up).
   */
  readonly concurrency?: ConcurrencyCounter;
}

interface ConnLimit {
  readonly policy: string;
  /** Key prefix: the policy name (not its config, so a changed limit keeps the counts). */
  readonly prefix: string;
  readonly perClientIp: number;
  readonly counter: ConcurrencyCounter;
}

interface Limit {
  readonly policy: string;
  readonly limiter: { take(key: string): number };
  /** "" route-wide, "ip" source address, else a lower-case header name. */
  readonly by: string;
}

/** One Policy with its expensive parts built; parts are reused across snapshots when unchanged. */
interface CompiledPolicy {
  readonly policy: Policy;
  readonly ipAllow: IpMatcher | null;
  readonly ipDeny: IpMatcher | null;
  readonly limit: Limit | null;
  readonly conn: ConnLimit | null;
  readonly basic: { readonly verifier: HtpasswdVerifier; readonly realm: string } | null;
  readonly apiKey: ApiKeyVerifier | null;
  readonly jwt: JwtVerifier | null;
  /** Same-config fingerprints, to reuse stateful parts across snapshot applies. */
  readonly fp: { readonly limit: string; readonly basic: string; readonly jwt: string };
}

const scratch = new Uint32Array(4);
const NO_HOLD: Hold = { release() {} };
const TEXT: readonly [string, string] = ["content-type", "text/plain; charset=utf-8"];

/** Collects response headers as pairs (a HeaderList for the CORS helpers). */
class PairList implements HeaderList {
  readonly pairs: [string, string][] = [];
  get(name: string): string | null {
    const n = name.toLowerCase();
    const hit = this.pairs.filter((p) => p[0] === n);
    return hit.length ? hit.map((p) => p[1]).join(", ") : null;
  }
  set(name: string, value: string): void {
    this.delete(name);
    this.pairs.push([name.toLowerCase(), value]);
  }
  append(name: string, value: string): void {
    this.pairs.push([name.toLowerCase(), value]);
  }
  delete(name: string): void {
    const n = name.toLowerCase();
    for (let i = this.pairs.length - 1; i >= 0; i--) {
      if (this.pairs[i][0] === n) this.pairs.splice(i, 1);
    }
  }
}

/** The enforcement for one route (shared by routes with the same policy list). */
export class RoutePolicy {
  readonly #deny: readonly IpMatcher[];
  readonly #allow: readonly IpMatcher[];
  readonly #limits: readonly Limit[];
  readonly #conns: readonly ConnLimit[];
  readonly #basic: readonly { readonly verifier: HtpasswdVerifier; readonly realm: string }[];
  readonly #apiKeys: readonly ApiKeyVerifier[];
  readonly #jwts: readonly JwtVerifier[];
  readonly #cors: Cors | null;
  readonly #ok: PolicyAllow;
  readonly #needsIp: boolean;
  readonly #authRequired: boolean;
  readonly #challenges: readonly (readonly [string, string])[];
  /** Names of the policies enforced, in order. */
  readonly names: readonly string[];
  /** Whether an allowed request must also pass `enter` (a connection limit is set). */
  readonly limitsConcurrency: boolean;

  constructor(compiled: readonly CompiledPolicy[]) {
    this.names = compiled.map((c) => c.policy.name);
    this.#deny = compiled.flatMap((c) => c.ipDeny ? [c.ipDeny] : []);
    this.#allow = compiled.flatMap((c) => c.ipAllow ? [c.ipAllow] : []);
    this.#needsIp = this.#deny.length > 0 || this.#allow.length > 0;
    this.#limits = compiled.flatMap((c) => c.limit ? [c.limit] : []);
    this.#conns = compiled.flatMap((c) => c.conn ? [c.conn] : []);
    this.limitsConcurrency = this.#conns.length > 0;
    this.#basic = compiled.flatMap((c) => c.basic ? [c.basic] : []);
    this.#apiKeys = compiled.flatMap((c) => c.apiKey ? [c.apiKey] : []);
    this.#jwts = compiled.flatMap((c) => c.jwt ? [c.jwt] : []);
    this.#authRequired = this.#basic.length + this.#apiKeys.length + this.#jwts.length > 0;
    this.#cors = compiled.find((c) => c.policy.cors)?.policy.cors ?? null;
    const ch: [string, string][] = [];
    for (const b of this.#basic) {
      const realm = (b.realm || "novaedge").replace(/["\\]/g, "");
      ch.push(["www-authenticate", `Basic realm="${realm}", charset="UTF-8"`]);
    }
    this.#challenges = ch;
    const req: HeaderModifier[] = [];
    const resp: HeaderModifier[] = [];
    for (const c of compiled) {
      if (c.policy.requestHeaders) req.push(c.policy.requestHeaders);
      if (c.policy.responseHeaders) resp.push(c.policy.responseHeaders);
    }
    this.#ok = Object.freeze({
      allow: true as const,
      requestHeaders: Object.freeze(req),
      responseHeaders: Object.freeze(resp),
      cors: this.#cors,
      policies: this.names,
    });
  }

  /**
   * Decides a routed request. Returns a Promise only when it has to run a
   * signature check (JWT) or a bcrypt comparison that no cache answers; every
   * other case — including refusals — is synchronous.
   */
  check(req: PolicyRequest): PolicyDecision | Promise<PolicyDecision> {
    if (this.#needsIp) {
      const bad = this.#checkIp(req);
      if (bad !== null) return bad;
    }
    const limits = this.#limits;
    for (let i = 0; i < limits.length; i++) {
      const l = limits[i];
      const key = l.by === ""
        ? ""
        : l.by === "ip"
        ? normalizeClientIp(req.sourceIp)
        : (req.header(l.by) ?? "\0none");
      const wait = l.limiter.take(key);
      if (wait > 0) {
        return this.#respond(
          req,
          429,
          "rate limit exceeded",
          `policy ${l.policy}: rate limit exceeded${
            l.by === ""
              ? ""
              : ` for ${l.by === "ip" ? "source" : l.by} "${key === "\0none" ? "" : key}"`
          }`,
          [["retry-after", String(wait)]],
        );
      }
    }
    if (this.#cors !== null && isCorsPreflight(req.method, { get: (n) => req.header(n) })) {
      const out = new PairList();
      corsPreflight(this.#cors, req.method, { get: (n) => req.header(n) }, out);
      return {
        allow: false,
        status: 200,
        headers: out.pairs,
        body: "",
        reason: "CORS preflight answered by policy",
      };
    }
    if (!this.#authRequired) return this.#ok;
    return this.#authenticate(req);
  }

  /**
   * Counts an allowed request against every connection limit: the Hold to
   * release when its response is finished, or a 503 when a limit is full
   * (what was taken is given back).
   */
  enter(req: PolicyRequest): Hold | PolicyRespond {
    const conns = this.#conns;
    const ip = normalizeClientIp(req.sourceIp);
    let held: Hold | Hold[] | null = null;
    for (let i = 0; i < conns.length; i++) {
      const c = conns[i];
      const h = c.counter.enter(c.prefix + ip, c.perClientIp);
      if (h === null) {
        if (held !== null) { for (const x of Array.isArray(held) ? held : [held]) x.release(); }
        const n = `${c.perClientIp} request${c.perClientIp === 1 ? "" : "s"}`;
        return this.#respond(
          req,
          503,
          `connection limit reached: ${n} already in progress from ${ip}`,
          `policy ${c.policy}: connection limit: source ${ip} already has ${n} in progress ` +
            `(connectionLimit.perClientIp)`,
        );
      }
      held = held === null ? h : Array.isArray(held) ? [...held, h] : [held, h];
    }
    if (held === null) return NO_HOLD;
    if (!Array.isArray(held)) return held;
    const all = held;
    return { release: () => all.forEach((h) => h.release()) };
  }

  #checkIp(req: PolicyRequest): PolicyRespond | null {
    const parsed = parseIp(req.sourceIp, scratch) >= 0;
    for (let i = 0; i < this.#deny.length; i++) {
      if (parsed && this.#deny[i].matchesWords(scratch)) {
        return this.#respond(
          req,
          403,
          "forbidden",
          `source ${req.sourceIp} is in an ipDeny list of ${this.names.join(", ")}`,
        );
      }
    }
    for (let i = 0; i < this.#allow.length; i++) {
      if (!parsed || !this.#allow[i].matchesWords(scratch)) {
        return this.#respond(
          req,
          403,
          "forbidden",
          `source ${req.sourceIp} is not in the ipAllow list of ${this.names.join(", ")}`,
        );
      }
    }
    return null;
  }

  #authenticate(req: PolicyRequest): PolicyDecision | Promise<PolicyDecision> {
    const failures: string[] = [];
    // Cheapest first: API keys (one SHA-256), then cached / SHA basic, then JWT.
    let sawKey = false;
    for (const v of this.#apiKeys) {
      const k = v.presented((n) => req.header(n), req.query);
      if (k === null) continue;
      sawKey = true;
      if (v.verify(k)) return this.#ok;
    }
    if (sawKey) failures.push("api key not recognised");
    const authz = req.header("authorization");
    const slow: (() => Promise<boolean>)[] = [];
    const slowJwt: (() => Promise<JwtResult>)[] = [];
    if (this.#basic.length > 0) {
      const creds = parseBasicAuthorization(authz);
      if (creds !== null) {
        for (const b of this.#basic) {
          const r = b.verifier.check(creds);
          if (r === true) return this.#ok;
          if (r !== false) slow.push(r);
        }
        if (slow.length === 0) failures.push(`basic auth failed for user "${creds.user}"`);
      }
    }
    let token: string | null = null;
    if (this.#jwts.length > 0) {
      token = bearerToken(authz);
      if (token !== null) {
        for (const j of this.#jwts) {
          const r = j.check(token);
          if (typeof r === "function") slowJwt.push(r);
          else if (r.ok) return this.#ok;
          else failures.push(`jwt: ${r.reason}`);
        }
      }
    }
    if (slow.length === 0 && slowJwt.length === 0) {
      return this.#unauthorized(req, failures, token !== null);
    }
    return this.#slowAuth(req, slow, slowJwt, failures, token !== null);
  }

  async #slowAuth(
    req: PolicyRequest,
    slow: (() => Promise<boolean>)[],
    slowJwt: (() => Promise<JwtResult>)[],
    failures: string[],
    hadToken: boolean,
  ): Promise<PolicyDecision> {
    // JWT signatures are cheap next to bcrypt: try them first.
    let keysUnavailable = false;
    for (const j of slowJwt) {
      const r = await j();
      if (r.ok) return this.#ok;
      failures.push(`jwt: ${r.reason}`);
      if (r.unavailable) keysUnavailable = true;
    }
    for (const b of slow) if (await b()) return this.#ok;
    if (slow.length > 0) failures.push("basic auth failed");
    if (keysUnavailable) {
      // The token could not be checked at all (remote JWKS never fetched):
      // a server-side problem, not bad credentials.
      return this.#respond(
        req,
        503,
        "authentication unavailable",
        `policy ${this.names.join(", ")}: ${failures.join("; ")}`,
      );
    }
    return this.#unauthorized(req, failures, hadToken);
  }

  #unauthorized(req: PolicyRequest, failures: string[], hadToken: boolean): PolicyRespond {
    const extra: (readonly [string, string])[] = [...this.#challenges];
    if (this.#jwts.length > 0) {
      extra.push([
        "www-authenticate",
        hadToken ? `Bearer error="invalid_token"` : "Bearer",
      ]);
    }
    const why = failures.length ? failures.join("; ") : "no credentials";
    return this.#respond(
      req,
      401,
      "unauthorized",
      `policy ${this.names.join(", ")}: ${why}`,
      extra,
    );
  }

  #respond(
    req: PolicyRequest,
    status: number,
    body: string,
    reason: string,
    extra: readonly (readonly [string, string])[] = [],
  ): PolicyRespond {
    const out = new PairList();
    out.pairs.push([TEXT[0], TEXT[1]]);
    for (const [n, v] of extra) out.append(n, v);
    // A cross-origin caller can only read the refusal if CORS headers are on it.
    if (this.#cors !== null) corsResponseHeaders(this.#cors, req.header("origin"), out);
    return { allow: false, status, headers: out.pairs, body: body + "\n", reason };
  }
}

/** Every policy of a snapshot, compiled; answers forRoute per request. */
export class PolicySet {
  readonly #byName: ReadonlyMap<string, CompiledPolicy>;
  readonly #byRoute = new WeakMap<Route, RoutePolicy | null>();
  readonly #byList = new Map<string, RoutePolicy | null>();
  /** Configuration problems found while compiling (bad CIDRs, unsupported hashes, JWKS errors). */
  readonly problems: readonly string[];

  /** @internal use compilePolicies. */
  constructor(byName: ReadonlyMap<string, CompiledPolicy>, problems: readonly string[]) {
    this.#byName = byName;
    this.problems = problems;
  }

  /** Number of compiled policies. */
  get size(): number {
    return this.#byName.size;
  }

  /** @internal the compiled form of a policy (reuse across snapshots). */
  compiled(name: string): CompiledPolicy | undefined {
    return this.#byName.get(name);
  }

  /**
   * The enforcement for a route, or null when the route has no policy (the
   * fast path: one length check). Cached per Route object.
   */
  forRoute(route: Route): RoutePolicy | null {
    if (route.policies.length === 0) return null;
    const hit = this.#byRoute.get(route);
    if (hit !== undefined) return hit;
    const key = route.policies.join("\n");
    let rp = this.#byList.get(key);
    if (rp === undefined) {
      const list: CompiledPolicy[] = [];
      for (const n of route.policies) {
        const c = this.#byName.get(n);
        if (c) list.push(c);
      }
      rp = list.length ? new RoutePolicy(list) : null;
      this.#byList.set(key, rp);
    }
    this.#byRoute.set(route, rp);
    return rp;
  }
}

function rateKey(k: string): string | null {
  if (k === "") return "";
  if (k === "source-ip") return "ip";
  if (k.startsWith("header:") && k.length > 7) return k.slice(7).toLowerCase();
  return null;
}

/** Compiles a snapshot's policies (call once per snapshot apply). */
export function compilePolicies(
  policies: readonly Policy[],
  opts: CompileOptions = {},
): PolicySet {
  const problems: string[] = [];
  const byName = new Map<string, CompiledPolicy>();
  const shared = opts.sharedLimits !== undefined ? opts.sharedLimits : sharedRateLimits();
  const counter = opts.concurrency ?? concurrencyCounter();
  for (const p of policies) {
    const prev = opts.previous?.compiled(p.name);
    const fp = {
      limit: p.rateLimit ? JSON.stringify(p.rateLimit) : "",
      basic: p.basicAuth ? JSON.stringify(p.basicAuth.htpasswd) : "",
      jwt: p.jwt ? JSON.stringify(p.jwt) : "",
    };
    const ip = (l: { cidrs: readonly string[] } | undefined, what: string) => {
      if (!l) return null;
      const m = new IpMatcher(l.cidrs);
      for (const bad of m.invalid) {
        problems.push(`policy ${p.name}: ${what}: invalid CIDR "${bad}"`);
      }
      return m;
    };
    let limit: Limit | null = null;
    if (p.rateLimit) {
      const by = rateKey(p.rateLimit.key);
      if (by === null) {
        problems.push(
          `policy ${p.name}: rateLimit.key "${p.rateLimit.key}" unknown; limiting route-wide`,
        );
      }
      limit = prev?.limit && prev.fp.limit === fp.limit ? prev.limit : {
        policy: p.name,
        by: by ?? "",
        // Shared buckets are named by policy and config, so every worker
        // (and the next snapshot, while unchanged) finds the same ones.
        limiter: shared !== null
          ? new SharedTokenBucketLimiter(
            shared,
            `${p.name}\0${fp.limit}`,
            p.rateLimit.requestsPerSecond,
            p.rateLimit.burst,
            opts.clock,
          )
          : new TokenBucketLimiter(
            p.rateLimit.requestsPerSecond,
            p.rateLimit.burst,
            opts.clock,
            opts.maxBuckets ?? DEFAULT_MAX_BUCKETS,
          ),
      };
    }
    let basic: CompiledPolicy["basic"] = null;
    if (p.basicAuth) {
      const verifier = prev?.basic && prev.fp.basic === fp.basic
        ? prev.basic.verifier
        : new HtpasswdVerifier(p.basicAuth.htpasswd);
      for (const u of verifier.unsupported) {
        problems.push(`policy ${p.name}: basicAuth: user "${u}" has an unsupported hash`);
      }
      basic = { verifier, realm: p.basicAuth.realm };
    }
    let jwt: JwtVerifier | null = null;
    if (p.jwt) {
      jwt = prev?.jwt && prev.fp.jwt === fp.jwt ? prev.jwt : new JwtVerifier(p.jwt, opts.now);
      if (jwt.configError) problems.push(`policy ${p.name}: jwt: ${jwt.configError}`);
    }
    byName.set(p.name, {
      policy: p,
      ipAllow: ip(p.ipAllow, "ipAllow"),
      ipDeny: ip(p.ipDeny, "ipDeny"),
      limit,
      conn: p.connectionLimit && p.connectionLimit.perClientIp > 0
        ? {
          policy: p.name,
          prefix: `${p.name}\0`,
          perClientIp: p.connectionLimit.perClientIp,
          counter,
        }
        : null,
      basic,
      apiKey: p.apiKey ? new ApiKeyVerifier(p.apiKey) : null,
      jwt,
      fp,
    });
  }
  return new PolicySet(byName, problems);
}
