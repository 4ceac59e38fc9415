/**
 * The proxy pipeline, engine-neutral: route → filters → backend choice →
 * balancer → upstream exchange with timeouts and retries → response filters.
 * Every refusal gets a clear status, a plain-text reason body and an
 * access-log line carrying the same reason.
 */
import type { Filter, Route, WeightedCluster } from "../../snapshot/types.ts";
import type { RequestView, RouteMatchResult, Router } from "../router/types.ts";
import type { Pick, PickContext } from "../lb/types.ts";
import { beforeCollect, httpRequests, upstreamLatencyBatch } from "../../observe/metrics.ts";
import { accessLogEnabled, writeAccessLog } from "./access_log.ts";
import { Hdrs, stripHopByHop } from "./headers.ts";
import { forwardableTrailers } from "./trailers.ts";
import {
  type BodyReader,
  Cancel,
  type ProxyRequest,
  type ProxyResponse,
  type UpgradedStream,
} from "./types.ts";
import type { ClusterRuntime } from "./cluster.ts";
import {
  applyHeaderModifier,
  CORS_PREFLIGHT_STATUS,
  corsPreflight,
  corsResponseHeaders,
  normalizeClientIp,
  redirectLocation,
  rewriteHost,
  rewritePath,
  shouldMirror,
} from "../filters/mod.ts";
import { type OutboundRequest, UpstreamError, type UpstreamResponse } from "../upstream/types.ts";
import { type Deadline, unwatch, watch } from "../io/ticker.ts";
import { HttpError } from "../http1/parser.ts";
import {
  applyPolicyRequest,
  applyPolicyResponse,
  type PolicyAllow,
  type PolicyDecision,
  type PolicySet,
  type RoutePolicy,
} from "../policy/mod.ts";
import type { Hold } from "../policy/concurrency.ts";

const encoder = new TextEncoder();

/** Limits in force on a listener (snapshot values with defaults filled in). */
export interface ResolvedLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  /** 0 = unlimited. */
  readonly maxBodyBytes: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConcurrentStreams: number;
}

export const DEFAULT_LIMITS: ResolvedLimits = {
  maxHeaderBytes: 32 * 1024,
  maxHeaders: 100,
  maxBodyBytes: 0,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  maxConcurrentStreams: 100,
};

/** What one listening socket serves under one snapshot; swapped whole on apply. */
export interface SocketConfig {
  /** Listener name(s) on this socket, for metrics and logs. */
  readonly label: string;
  readonly router: Router;
  readonly limits: ResolvedLimits;
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  readonly version: string;
  /** The port clients connected to (redirects keep it). */
  readonly port: number;
  /** Process-wide switches. */
  readonly accessLog: boolean;
  /** ProxyPolicy enforcement compiled for this snapshot (absent: no policies). */
  readonly policies?: PolicySet | null;
  /**
   * TLS connections whose server name selected a listener: true when a
   * request's host selects another one (answered 421 Misdirected Request).
   */
  readonly misdirected?: (host: string) => boolean;
}

const DEFAULT_HEAD_TIMEOUT_MS = 60_000;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

// Request counts are kept in plain numbers per (route, code) and handed to
// prom-client when the metric is collected: a prom-client child `inc()` still
// hashes and validates its labels on every call, which is measurable per
// request. Every reader goes through the registry, which calls `collect`.
type CounterChild = { inc(n?: number): void };
interface PendingCount {
  readonly child: CounterChild;
  n: number;
}
const reqCounts = new Map<string, Map<number, PendingCount>>();
const dirtyCounts: PendingCount[] = [];
function countRequest(route: string, code: number): void {
  let byCode = reqCounts.get(route);
  if (byCode === undefined) {
    byCode = new Map();
    reqCounts.set(route, byCode);
  }
  let e = byCode.get(code);
  if (e === undefined) {
    e = { child: httpRequests.labels(route, String(code)), n: 0 };
    byCode.set(code, e);
  }
  if (e.n++ === 0) dirtyCounts.push(e);
}
/** Moves pending request counts into the prom-client counter. */
export function flushRequestCounts(): void {
  for (const e of dirtyCounts) {
    e.child.inc(e.n);
    e.n = 0;
  }
  dirtyCounts.length = 0;
}
beforeCollect(httpRequests, flushRequestCounts);
function observeLatency(cluster: string, seconds: number): void {
  upstreamLatencyBatch.observe(cluster, seconds);
}

// Request ids: a random per-thread prefix and a counter, shaped like a UUID.
// Unique across threads and restarts without a random-number op per request.
const idPrefix = (() => {
  const b = crypto.getRandomValues(new Uint8Array(10));
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${
    ((parseInt(h[16], 16) & 3) | 8).toString(16)
  }${h.slice(17, 20)}`;
})();
let idCounter = 0;

/** A fresh x-request-id. */
export function nextRequestId(): string {
  idCounter = (idCounter + 1) % 0x1000000000000;
  return `${idPrefix}-${idCounter.toString(16).padStart(12, "0")}`;
}

/** Splits a request target into path and query; handles absolute-form. */
export function splitTarget(
  target: string,
): { path: string; query: string; authority: string | null } {
  let authority: string | null = null;
  let t = target;
  if (t.charCodeAt(0) !== 47 /* / */ && t !== "*") {
    const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)(.*)$/.exec(t);
    if (m) {
      authority = m[1];
      t = m[2] || "/";
    }
  }
  const q = t.indexOf("?");
  return q < 0
    ? { path: t, query: "", authority }
    : { path: t.slice(0, q), query: t.slice(q + 1), authority };
}

/** Lowercase host without port. */
export function hostOf(authority: string): string {
  let h = authority;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const e = h.indexOf("]");
    h = e > 0 ? h.slice(0, e + 1) : h;
  } else {
    const c = h.lastIndexOf(":");
    if (c >= 0) h = h.slice(0, c);
  }
  return h.toLowerCase();
}

function isGrpc(h: Hdrs): boolean {
  const ct = h.get("content-type");
  return ct !== null && ct.startsWith("application/grpc");
}

/** grpc-message encoding: percent-encode "%" and bytes outside printable ASCII. */
export function grpcPercentEncode(s: string): string {
  let out = "";
  for (const b of encoder.encode(s)) {
    out += b >= 0x20 && b <= 0x7e && b !== 0x25
      ? String.fromCharCode(b)
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Parses a grpc-timeout value ("100m", "5S") into milliseconds. */
export function parseGrpcTimeout(v: string | null): number {
  if (!v) return 0;
  const m = GRPC_TIMEOUT.exec(v);
  if (!m) return 0;
  return Math.max(1, Math.ceil(Number(m[1]) * GRPC_TIMEOUT_UNIT_MS[m[2]]));
}

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
/** Milliseconds per grpc-timeout unit (built once, not per request). */
const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** Per-request facts collected for the access log. */
interface LogCtx {
  route: string;
  cluster: string;
  upstream: string;
  reason: string | null;
  tries: number;
  /** A connection-limit slot, given back when the response is finished. */
  held?: Hold | null;
}

function grpcStatusFor(status: number): number {
  if (status === 404) return 12; // UNIMPLEMENTED
  if (status === 504) return 4; // DEADLINE_EXCEEDED
  if (status === 413) return 8; // RESOURCE_EXHAUSTED
  if (status === 429) return 8;
  if (status >= 500) return 14; // UNAVAILABLE
  return 13; // INTERNAL
}

/** Builds a proxy-generated response with a plain-text reason (or gRPC status). */
export function generated(
  cfg: SocketConfig | null,
  req: ProxyRequest,
  status: number,
  reason: string,
  ctx: LogCtx | null,
  extra?: Hdrs,
): ProxyResponse {
  const h = extra ?? new Hdrs();
  const log = ctx ?? { route: "", cluster: "", upstream: "", reason, tries: 0 };
  log.reason = reason;
  if (req.httpVersion === "2" && isGrpc(req.headers)) {
    // gRPC clients read errors from grpc-status: answer trailers-only.
    h.set("content-type", "application/grpc");
    h.set("grpc-status", String(grpcStatusFor(status)));
    h.set("grpc-message", grpcPercentEncode(reason));
    return respond(cfg, req, 200, h, null, log, null);
  }
  h.set("content-type", "text/plain; charset=utf-8");
  const body = status === 204 || status === 304 ? null : encoder.encode(reason + "\n");
  return respond(cfg, req, status, h, body, log, null);
}

function respond(
  cfg: SocketConfig | null,
  req: ProxyRequest,
  status: number,
  headers: Hdrs,
  body: ProxyResponse["body"],
  log: LogCtx,
  onEnd: (() => void) | null,
): ProxyResponse {
  return {
    status,
    headers,
    body,
    finish(bytesOut: number, error: string | null) {
      if (onEnd) onEnd();
      finishRequest(cfg, req, status, log, bytesOut, error);
    },
  };
}

/** Metrics and the access-log line for a finished request. */
export function finishRequest(
  cfg: SocketConfig | null,
  req: ProxyRequest,
  status: number,
  log: LogCtx,
  bytesOut: number,
  error: string | null,
): void {
  const held = log.held;
  if (held) {
    log.held = null;
    held.release();
  }
  const code = error !== null && req.cancel.cancelled ? 499 : status;
  countRequest(log.route, code);
  if (cfg !== null && !cfg.accessLog) return;
  if (!accessLogEnabled()) return;
  writeAccessLog({
    method: req.method,
    authority: req.authority,
    path: req.target,
    proto: req.httpVersion,
    status: code,
    durationMs: Math.round((performance.now() - req.start) * 1000) / 1000,
    route: log.route || null,
    cluster: log.cluster || null,
    upstream: log.upstream || null,
    bytesOut,
    client: req.clientIp,
    listener: cfg?.label ?? null,
    requestId: req.headers.get("x-request-id"),
    tries: log.tries,
    reason: log.reason ?? (error !== null ? (req.cancel.reason ?? error) : null),
  });
}

/** Picks one of `backends` by weight (null when none has a positive weight). */
export function chooseBackend(backends: readonly WeightedCluster[]): WeightedCluster | null {
  if (backends.length === 0) return null;
  if (backends.length === 1) {
    return backends[0].weight > 0 || backends[0].weight === undefined ? backends[0] : null;
  }
  let total = 0;
  for (const b of backends) total += Math.max(0, b.weight);
  if (total <= 0) return null;
  let r = Math.random() * total;
  for (const b of backends) {
    r -= Math.max(0, b.weight);
    if (r < 0) return b;
  }
  return backends[backends.length - 1];
}

/** Wraps a request body: enforces the size limit and records whether reading started. */
class GuardedBody implements BodyReader {
  started = false;
  tooLarge = false;
  /** A framing error in the client's body (its fault: 400, not 502). */
  clientError: HttpError | null = null;
  total = 0;
  constructor(private inner: BodyReader, private limit: number, readonly length: number) {}
  async read(): Promise<Uint8Array | null> {
    this.started = true;
    let c: Uint8Array | null;
    try {
      c = await this.inner.read();
    } catch (e) {
      if (e instanceof HttpError) this.clientError = e;
      throw e;
    }
    if (c !== null) this.#count(c.length);
    return c;
  }
  /** The inner reader's synchronous read, under the same limit (the h2 client uses it). */
  readSync(): Uint8Array | null | undefined {
    let c: Uint8Array | null | undefined;
    try {
      c = this.inner.readSync ? this.inner.readSync() : undefined;
    } catch (e) {
      if (e instanceof HttpError) this.clientError = e;
      throw e;
    }
    if (c === undefined) return undefined;
    this.started = true;
    if (c !== null) this.#count(c.length);
    return c;
  }
  /** Adds a chunk to the total; over the route's limit the body is cancelled (413 upstream of here). */
  #count(n: number): void {
    this.total += n;
    if (this.limit > 0 && this.total > this.limit) {
      this.tooLarge = true;
      this.inner.cancel("body too large");
      throw new UpstreamError("protocol", "request body too large", true);
    }
  }
  cancel(reason?: string): void {
    this.inner.cancel(reason);
  }
  trailers(): Hdrs | null {
    // Request trailers go upstream (HTTP/1.1 last chunk, HTTP/2 HEADERS) minus unsafe fields.
    return forwardableTrailers(this.inner.trailers());
  }
  neverIndexedTrailers(): ReadonlySet<string> | null {
    return this.inner.neverIndexedTrailers ? this.inner.neverIndexedTrailers() : null;
  }
}

function filtersOf(route: Route, wc: WeightedCluster | null): Filter[] {
  return wc && wc.filters.length ? [...route.filters, ...wc.filters] : route.filters as Filter[];
}

/**
 * One request on its way through the pipeline. A single object carries what
 * the hot path needs per request — the router's view, the balancer's context,
 * the access-log facts, the per-try deadline and, once the upstream answered,
 * the response the engine writes — instead of a dozen closures and small
 * objects per request (allocation sampling showed them; each also costs GC).
 */
class Flight implements RequestView, PickContext, LogCtx, Deadline, ProxyResponse {
  // RequestView (router) and PickContext (balancer)
  readonly method: string;
  readonly sourceIp: string;
  // LogCtx
  route = "";
  cluster = "";
  upstream = "";
  reason: string | null = null;
  tries = 0;
  // Deadline of the current try (ticker.ts)
  deadline = 0;
  /** The current try's deadline (`deadline` is zeroed when it fires). */
  deadlineAt = 0;
  slot = -1;
  timedOut = false;
  attemptCancel: Cancel | null = null;
  // The plan, set by plan()
  routeRef: Route | null = null;
  cr: ClusterRuntime | null = null;
  out: OutboundRequest | null = null;
  guarded: GuardedBody | null = null;
  bodyLimit = 0;
  respMods: Filter[] | null = null;
  cors: Filter["cors"] = undefined;
  pol: PolicyAllow | null = null;
  retryPlan: RetryPlan = NO_RETRY;
  maxRetries = 0;
  idempotent = false;
  perTry = 0;
  overallDeadline = 0;
  // Tries so far
  attempt = 0;
  /** Endpoints tried (allocated only when a retry happens). */
  tried: Set<string> | null = null;
  lastErr: UpstreamError | null = null;
  connectRetries = 0;
  pick: Pick | null = null;
  tryStart = 0;
  /** performance.now() at the try's start (upstream latency histogram). */
  t0 = 0;
  /**
   * Whether the first try starts in the same task as the request (no async
   * policy check in between): then the request's start time is the try's,
   * and the hot path reads the clock once less.
   */
  syncStart = true;
  held: Hold | null = null;
  // ProxyResponse, once proxied
  status = 0;
  /** The response's header lines to forward unparsed (see ProxyResponse.rawHeaders). */
  rawHeaders: Uint8Array | undefined = undefined;
  #headers: Hdrs = EMPTY_HDRS;
  /** The upstream response whose headers are parsed on first use (raw pass-through). */
  #lazy: UpstreamResponse | null = null;
  body: BodyReader | null = null;
  upgraded: UpgradedStream | undefined = undefined;
  /** Names an HTTP/2 upstream sent as never indexed (ProxyResponse.neverIndexed). */
  neverIndexed: ReadonlySet<string> | null = null;
  private key = "";
  private ended = true;

  constructor(
    readonly cfg: SocketConfig,
    readonly req: ProxyRequest,
    readonly host: string,
    readonly path: string,
    readonly query: string,
  ) {
    this.method = req.method;
    this.sourceIp = req.clientIp;
  }

  header(name: string): string | null {
    return this.req.headers.get(name);
  }

  cookie(name: string): string | null {
    return cookieValue(this.req.headers.get("cookie"), name);
  }

  /** The per-try deadline passed. */
  fire(): void {
    this.timedOut = true;
    this.attemptCancel?.cancel("upstream timeout");
  }

  /** Picks an endpoint and starts a try; a response when there is no endpoint. */
  startTry(): Promise<UpstreamResponse> | ProxyResponse {
    const cr = this.cr!;
    const tried = this.tried;
    const pick = cr.balancer.pick(this, tried ?? undefined) ??
      (tried ? cr.balancer.pick(this) : null);
    if (pick === null) {
      if (this.lastErr) return this.failure();
      this.guarded?.cancel("no endpoint");
      return generated(
        this.cfg,
        this.req,
        503,
        `no healthy endpoint in cluster "${cr.cluster.name}"`,
        this,
      );
    }
    // Circuit breaker maxRequests, counted for all worker threads (503, never retried).
    if (!cr.enterRequest()) {
      this.guarded?.cancel("circuit open");
      return generated(this.cfg, this.req, 503, cr.requestRefusal(), this);
    }
    this.pick = pick;
    this.upstream = pick.key;
    this.tries = this.attempt + 1;
    const attemptCancel = new Cancel();
    this.attemptCancel = attemptCancel;
    this.req.cancel.link(attemptCancel);
    this.timedOut = false;
    const now = Date.now();
    this.tryStart = now;
    let dl = now + this.perTry;
    if (this.overallDeadline > 0 && this.overallDeadline < dl) dl = this.overallDeadline;
    this.deadline = dl;
    this.deadlineAt = dl;
    watch(this);
    cr.balancer.onStart(pick.key);
    if (this.attempt > 0) cr.retryStarted();
    this.t0 = this.attempt === 0 && this.syncStart ? this.req.start : performance.now();
    try {
      return cr.exchange(pick.endpoint, pick.key, this.out!, attemptCancel);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The try threw. */
  tryFailed(e: unknown): void {
    this.lastErr = e instanceof UpstreamError
      ? e
      : new UpstreamError("reset", `upstream failed: ${(e as Error).message}`, true);
    if (this.timedOut) {
      this.lastErr = new UpstreamError(
        "timeout",
        `upstream did not answer within ${this.deadlineAt - this.tryStart} ms`,
        true,
      );
    }
  }

  /** After a try: the response to give, or null to try again. */
  afterTry(res: UpstreamResponse | null): ProxyResponse | null {
    const cr = this.cr!;
    const pick = this.pick!;
    const req = this.req;
    this.deadline = 0;
    unwatch(this);
    if (this.attempt > 0) cr.retryEnded();
    observeLatency(cr.cluster.name, (performance.now() - this.t0) / 1000);
    const notSent = res === null &&
      (this.lastErr?.kind === "cancelled" || this.lastErr?.kind === "overflow");
    if (cr.health !== null && !notSent) {
      cr.health.observe(pick.key, res !== null ? res.status < 500 : false);
    }
    const body = this.guarded;
    const attempt = this.attempt;
    if (res !== null) {
      const retryable = this.retryPlan.codes.has(res.status) && attempt < this.maxRetries &&
        this.idempotent && !(body?.started) && !req.upgrade;
      if (!retryable) return this.answer(res, pick.key, pick.setCookie);
      res.body?.cancel("retrying");
      this.closeTry(pick.key);
      this.lastErr = new UpstreamError("reset", `upstream answered ${res.status}`, true);
      (this.tried ??= new Set()).add(pick.key);
      this.attempt++;
      return null;
    }
    this.closeTry(pick.key);
    (this.tried ??= new Set()).add(pick.key);
    const err = this.lastErr!;
    if (err.kind === "cancelled" || req.cancel.cancelled) {
      this.reason = req.cancel.reason ?? "client went away";
      return generated(this.cfg, req, 499, "client closed the request", this);
    }
    // A circuit-breaker limit: the endpoint is fine, the cluster is full (no retry).
    if (err.kind === "overflow") {
      body?.cancel("circuit breaker");
      return generated(this.cfg, req, 503, err.message, this);
    }
    // Retry?
    const bodySafe = !(body?.started);
    const retry = this.routeRef!.retry;
    let again = false;
    if (err.kind === "connect") {
      again = bodySafe && (attempt < this.maxRetries || (this.connectRetries < 2 && !retry));
      if (again && !retry) this.connectRetries++;
    } else if (
      attempt < this.maxRetries && bodySafe && (this.idempotent || !err.maybeProcessed)
    ) {
      const on = this.retryPlan.on;
      if (err.kind === "timeout") again = on.size === 0 || on.has("timeout");
      else {
        again = on.size === 0 || on.has("reset") || on.has("gateway-error") || on.has("5xx");
      }
    }
    if (this.overallDeadline > 0 && Date.now() >= this.overallDeadline) again = false;
    if (!again) return this.failure();
    this.attempt++;
    return null;
  }

  /** Before another try: null to go on, or the answer when the retry budget is spent. */
  beforeRetry(): ProxyResponse | null {
    // Computed only when a retry is wanted: reading the agent-wide counts is
    // not free, and most requests never retry.
    const cr = this.cr!;
    const budget = cr.cluster.circuitBreaker?.maxRetries || Math.max(3, Math.ceil(cr.active * 0.2));
    if (cr.activeRetries >= budget) {
      this.reason = "retry budget exhausted";
      return this.failure();
    }
    return null;
  }

  retryDelayMs(): number {
    const retry = this.routeRef!.retry;
    return retry && retry.backoffMs > 0 ? retry.backoffMs * this.attempt : 0;
  }

  /** The answer after the last failed try. */
  failure(): ProxyResponse {
    const { cfg, req } = this;
    const err = this.lastErr!;
    const body = this.guarded;
    body?.cancel("upstream failed");
    if (err.kind === "timeout") return generated(cfg, req, 504, err.message, this);
    if (body?.clientError) {
      return generated(cfg, req, body.clientError.status, body.clientError.reason, this);
    }
    if (body?.tooLarge) {
      return generated(
        cfg,
        req,
        413,
        `request body exceeds the limit of ${this.bodyLimit} bytes`,
        this,
      );
    }
    if (this.reason === "retry budget exhausted") {
      return generated(cfg, req, 502, `${err.message} (retry budget exhausted)`, this);
    }
    if (err.kind === "connect") {
      return generated(cfg, req, 502, `upstream connect error: ${err.message}`, this);
    }
    return generated(cfg, req, 502, `upstream error: ${err.message}`, this);
  }

  /** The response headers (hop-by-hop removed); parsed now if the upstream's were passed raw. */
  get headers(): Hdrs {
    const up = this.#lazy;
    if (up !== null) {
      // Someone needs them as a list (an HTTP/2 client, the general writer):
      // from here on they may change, so the raw lines no longer apply.
      this.#lazy = null;
      this.rawHeaders = undefined;
      const h = up.headers;
      stripHopByHop(h);
      this.#headers = h;
    }
    return this.#headers;
  }

  /** Takes the upstream's answer as this request's response (response filters applied). */
  answer(res: UpstreamResponse, key: string, setCookie: string | undefined): ProxyResponse {
    const req = this.req;
    const mods = this.respMods;
    const raw = res.rawHeaders;
    if (
      raw !== undefined && mods === null && !this.cors && this.pol === null && !setCookie &&
      res.upgraded === undefined
    ) {
      // Nothing rewrites this response's headers: they go out as received.
      this.#lazy = res;
      this.rawHeaders = raw;
      this.status = res.status;
      this.body = res.body;
      this.key = key;
      this.ended = false;
      return this;
    }
    this.#lazy = null;
    this.rawHeaders = undefined;
    // (Only HTTP/2 upstream answers have it, and they never come as raw lines.)
    this.neverIndexed = res.neverIndexed ?? null;
    const h = res.headers;
    const upgradeValue = res.status === 101 ? h.get("upgrade") : null;
    stripHopByHop(h);
    if (upgradeValue) h.set("upgrade", upgradeValue);
    if (mods !== null) {
      for (const f of mods) {
        if (f.responseHeaderModifier) applyHeaderModifier(f.responseHeaderModifier, h);
      }
    }
    if (this.cors) corsResponseHeaders(this.cors, req.headers.get("origin"), h);
    if (this.pol !== null) applyPolicyResponse(this.pol, req.headers.get("origin"), h);
    if (setCookie) h.append("set-cookie", setCookie);
    this.status = res.status;
    this.#headers = h;
    this.body = res.body;
    this.key = key;
    this.ended = false;
    const up = res.upgraded;
    if (up) {
      this.upgraded = {
        transport: up.transport,
        reader: up.reader,
        done: () => up.release(),
      };
    }
    return this;
  }

  /** Gives back the connection-limit slots (the pipeline failed without an answer). */
  dropHold(): void {
    const h = this.held;
    this.held = null;
    h?.release();
  }

  /** Ends a try that produced no response for the client (or the proxied one). */
  closeTry(key: string): void {
    const cr = this.cr!;
    cr.balancer.onEnd(key);
    cr.leaveRequest();
    this.req.cancel.unlink(this.attemptCancel!);
  }

  finish(bytesOut: number, error: string | null): void {
    if (!this.ended) {
      this.ended = true;
      this.closeTry(this.key);
    }
    finishRequest(this.cfg, this.req, this.status, this, bytesOut, error);
  }
}

const EMPTY_HDRS = new Hdrs();

/**
 * Runs one request through the pipeline. Never rejects for a request's own
 * failures: those become responses. The routing, filter and header work runs
 * synchronously; only the upstream tries are async (attempts), so the async
 * frame kept per request stays small.
 */
export function handleRequest(cfg: SocketConfig, req: ProxyRequest): Promise<ProxyResponse> {
  try {
    const { path, query } = splitTarget(req.target);
    const f = new Flight(cfg, req, hostOf(req.authority), path, query);
    if (cfg.misdirected !== undefined && cfg.misdirected(f.host)) {
      return Promise.resolve(generated(
        cfg,
        req,
        421,
        `host "${f.host}" is served by another listener than the TLS server name of this connection; open a new connection for it`,
        null,
      ));
    }
    const m = cfg.router.match(f);
    if (m === null) {
      return Promise.resolve(
        generated(cfg, req, 404, `no route for host "${f.host}" and path "${path}"`, null),
      );
    }
    const route = m.route;
    f.route = route.name;

    // Body limits: the route's, else the listener's.
    const bodyLimit = route.maxBodyBytes > 0 ? route.maxBodyBytes : cfg.limits.maxBodyBytes;
    f.bodyLimit = bodyLimit;
    if (bodyLimit > 0 && req.body && req.body.length > bodyLimit) {
      req.body.cancel("body too large");
      return Promise.resolve(generated(
        cfg,
        req,
        413,
        `request body of ${req.body.length} bytes exceeds the limit of ${bodyLimit}`,
        f,
      ));
    }

    // ProxyPolicy: after routing, before any backend work.
    const rp = cfg.policies?.forRoute(route) ?? null;
    if (rp !== null) {
      const r = rp.check(f);
      if (r instanceof Promise) {
        f.syncStart = false;
        return r.then((d) => admit(f, m, rp, d));
      }
      return admit(f, m, rp, r);
    }
    return plan(f, m, null);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * An allowed request takes its connection-limit slots (or is refused 503);
 * the slots go back when the response is finished (finishRequest) — or here,
 * if the pipeline throws instead of answering.
 */
function admit(
  f: Flight,
  m: RouteMatchResult,
  rp: RoutePolicy,
  d: PolicyDecision,
): Promise<ProxyResponse> {
  if (!d.allow || !rp.limitsConcurrency) return plan(f, m, d);
  const h = rp.enter(f);
  if (!("release" in h)) return plan(f, m, h);
  f.held = h;
  try {
    return plan(f, m, d).catch((e) => {
      f.dropHold();
      throw e;
    });
  } catch (e) {
    f.dropHold();
    throw e;
  }
}

/**
 * After routing and policy: filters, the outbound head and the backend
 * choice, all synchronous; then the upstream tries.
 */
function plan(f: Flight, m: RouteMatchResult, d: PolicyDecision | null): Promise<ProxyResponse> {
  const { cfg, req, path, query, host } = f;
  const route = m.route;
  if (d !== null && !d.allow) {
    req.body?.cancel("refused by policy");
    const h = new Hdrs();
    for (const [n, v] of d.headers) h.append(n, v);
    if (d.status !== 200 && req.httpVersion === "2" && isGrpc(req.headers)) {
      const g = generated(cfg, req, d.status, d.body.trim(), f, h);
      f.reason = d.reason;
      return Promise.resolve(g);
    }
    f.reason = d.reason;
    return Promise.resolve(respond(
      cfg,
      req,
      d.status,
      h,
      d.body === "" ? null : encoder.encode(d.body),
      f,
      null,
    ));
  }
  const pol = d;
  f.pol = pol;

  const wc = chooseBackend(route.backends);
  const filters = filtersOf(route, wc);
  const outHeaders = req.headers.clone();
  let outPath = path;
  let outAuthority: string | null = null;
  let cors: Filter["cors"] = undefined;
  for (const fl of filters) {
    switch (fl.type) {
      case "RequestHeaderModifier":
        if (fl.requestHeaderModifier) applyHeaderModifier(fl.requestHeaderModifier, outHeaders);
        break;
      case "ResponseHeaderModifier":
        (f.respMods ??= []).push(fl);
        break;
      case "RequestRedirect":
        if (fl.requestRedirect) {
          const r = redirectLocation(fl.requestRedirect, {
            scheme: req.scheme,
            host,
            port: cfg.port,
            path,
            query,
            matchedPrefix: m.matchedPrefix,
          });
          req.body?.cancel("redirected");
          const h = new Hdrs();
          h.set("location", r.location);
          return Promise.resolve(respond(cfg, req, r.status, h, null, f, null));
        }
        break;
      case "URLRewrite":
        if (fl.urlRewrite) {
          outPath = rewritePath(fl.urlRewrite, path, m.matchedPrefix);
          outAuthority = rewriteHost(fl.urlRewrite) ?? outAuthority;
        }
        break;
      case "CORS":
        cors = fl.cors;
        break;
      case "RequestMirror":
        if (fl.requestMirror) {
          mirror(cfg, req, fl.requestMirror.cluster, fl.requestMirror.percent, outPath, query);
        }
        break;
    }
  }
  f.cors = cors;
  if (pol !== null) applyPolicyRequest(pol, outHeaders);
  if (cors) {
    const h = new Hdrs();
    if (corsPreflight(cors, req.method, req.headers, h)) {
      req.body?.cancel("preflight");
      return Promise.resolve(respond(cfg, req, CORS_PREFLIGHT_STATUS, h, null, f, null));
    }
  }
  if (wc === null) {
    req.body?.cancel("no backend");
    return Promise.resolve(
      generated(cfg, req, 500, `route "${route.name}" has no usable backend`, f),
    );
  }
  const cr = cfg.clusters.get(wc.cluster);
  f.cluster = wc.cluster;
  if (!cr) {
    req.body?.cancel("no backend");
    return Promise.resolve(generated(
      cfg,
      req,
      500,
      `backend cluster "${wc.cluster}" of route "${route.name}" is not defined`,
      f,
    ));
  }
  // (Circuit breaker maxRequests: taken per try, in Flight.startTry.)

  // Outbound head.
  const teTrailers = stripHopByHop(outHeaders);
  if (teTrailers && cr.kind === "h2") outHeaders.setLower("te", "trailers");
  outHeaders.deleteLower("expect");
  // X-Forwarded-For is extended (as nginx and HAProxy do); -Proto and -Host
  // state what this proxy saw, so a client cannot claim https or another host.
  const prior = outHeaders.get("x-forwarded-for");
  const ip = normalizeClientIp(req.clientIp);
  outHeaders.setLower("x-forwarded-for", prior ? `${prior}, ${ip}` : ip);
  outHeaders.setLower("x-forwarded-proto", req.scheme);
  outHeaders.setLower("x-forwarded-host", req.authority);
  if (!outHeaders.has("x-request-id")) outHeaders.kv.push("x-request-id", nextRequestId());
  const authority = outAuthority ?? (cr.cluster.hostRewrite || req.authority);
  const body = req.body ? new GuardedBody(req.body, f.bodyLimit, req.body.length) : null;
  f.routeRef = route;
  f.cr = cr;
  f.guarded = body;
  // Retry policy and deadlines.
  const retry = route.retry;
  f.maxRetries = retry ? Math.max(0, retry.attempts) : 0;
  f.retryPlan = retryPlan(route);
  f.idempotent = IDEMPOTENT.has(req.method) || (retry?.retryNonIdempotent ?? false);
  f.perTry = (retry?.perTryTimeoutMs ?? 0) || (route.timeouts?.backendRequestMs ?? 0) ||
    cr.cluster.requestTimeoutMs || DEFAULT_HEAD_TIMEOUT_MS;
  let overall = route.timeouts?.requestMs ?? 0;
  const grpcMs = parseGrpcTimeout(req.headers.get("grpc-timeout"));
  if (grpcMs > 0) overall = overall > 0 ? Math.min(overall, grpcMs) : grpcMs;
  f.overallDeadline = overall > 0 ? Date.now() + overall : 0;
  f.out = {
    method: req.method,
    target: query ? `${outPath}?${query}` : outPath,
    authority,
    scheme: cr.cluster.tls ? "https" : "http",
    headers: outHeaders,
    body,
    upgrade: req.upgrade ? (req.headers.get("upgrade") ?? req.upgrade) : null,
    neverIndexed: req.neverIndexed ?? null,
  };
  return attempts(f);
}

/**
 * The upstream tries. The loop is all that is async — picks, deadlines and
 * retry decisions are Flight's synchronous steps — so the frame suspended
 * per request stays small.
 */
async function attempts(f: Flight): Promise<ProxyResponse> {
  for (;;) {
    const p = f.startTry();
    if (!(p instanceof Promise)) return p;
    let res: UpstreamResponse | null = null;
    try {
      res = await p;
    } catch (e) {
      f.tryFailed(e);
    }
    const answer = f.afterTry(res);
    if (answer !== null) return answer;
    const stop = f.beforeRetry();
    if (stop !== null) return stop;
    const ms = f.retryDelayMs();
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}

interface RetryPlan {
  readonly on: ReadonlySet<string>;
  readonly codes: ReadonlySet<number>;
}
const NO_RETRY: RetryPlan = { on: new Set(), codes: new Set() };
const retryPlans = new WeakMap<Route, RetryPlan>();

/** Per-route retry sets, built once per snapshot route (routes are frozen). */
function retryPlan(route: Route): RetryPlan {
  if (!route.retry) return NO_RETRY;
  let p = retryPlans.get(route);
  if (!p) {
    p = { on: new Set(route.retry.on), codes: new Set(route.retry.codes) };
    retryPlans.set(route, p);
  }
  return p;
}

function cookieValue(cookie: string | null, name: string): string | null {
  if (!cookie) return null;
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Fire-and-forget copy of a bodiless request to a mirror cluster; the answer is dropped. */
function mirror(
  cfg: SocketConfig,
  req: ProxyRequest,
  cluster: string,
  percent: number,
  path: string,
  query: string,
): void {
  if (req.body !== null || req.upgrade) return;
  if (!shouldMirror(percent, Math.random())) return;
  const cr = cfg.clusters.get(cluster);
  if (!cr) return;
  const pick = cr.balancer.pick({
    sourceIp: req.clientIp,
    header: (n) => req.headers.get(n),
    cookie: () => null,
  });
  if (!pick) return;
  const h = req.headers.clone();
  stripHopByHop(h);
  const out: OutboundRequest = {
    method: req.method,
    target: query ? `${path}?${query}` : path,
    authority: `${req.authority}-shadow`,
    scheme: cr.cluster.tls ? "https" : "http",
    headers: h,
    body: null,
    upgrade: null,
    neverIndexed: req.neverIndexed ?? null,
  };
  const cancel = new Cancel();
  const deadline: Deadline = {
    deadline: Date.now() + 10_000,
    fire: () => cancel.cancel("mirror timeout"),
  };
  watch(deadline);
  cr.exchange(pick.endpoint, pick.key, out, cancel).then(async (res) => {
    if (res.body) { while ((await res.body.read()) !== null) { /* drain */ } }
  }).catch(() => {}).finally(() => unwatch(deadline));
}
