/**
 * The proxy pipeline, engine-neutral: route → filters → backend choice →
 * balancer → upstream exchange with timeouts and retries → response filters.
 * Every refusal gets a clear status, a plain-text reason body and an
 * access-log line carrying the same reason.
 */
import type { Filter, Route, WeightedCluster } from "../../snapshot/types.ts";
import type { RequestView, Router } from "../router/types.ts";
import type { PickContext } from "../lb/types.ts";
import { httpRequests, upstreamLatency } from "../../observe/metrics.ts";
import { accessLogEnabled, writeAccessLog } from "./access_log.ts";
import { Hdrs, stripHopByHop } from "./headers.ts";
import { type BodyReader, Cancel, type ProxyRequest, type ProxyResponse } from "./types.ts";
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
  type PolicySet,
} from "../policy/mod.ts";

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
{
  // Chain onto any collect hook the metric already has.
  const m = httpRequests as unknown as { collect?: (this: unknown) => unknown };
  const prev = m.collect;
  m.collect = function (this: unknown): unknown {
    flushRequestCounts();
    return prev ? prev.call(this) : undefined;
  };
}
type HistChild = { observe(v: number): void };
const latencyChildren = new Map<string, HistChild>();
function observeLatency(cluster: string, seconds: number): void {
  let h = latencyChildren.get(cluster);
  if (!h) {
    h = upstreamLatency.labels(cluster);
    latencyChildren.set(cluster, h);
  }
  h.observe(seconds);
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
  const m = /^(\d{1,8})([HMSmun])$/.exec(v);
  if (!m) return 0;
  const n = Number(m[1]);
  const mult: Record<string, number> = {
    H: 3600_000,
    M: 60_000,
    S: 1000,
    m: 1,
    u: 0.001,
    n: 0.000001,
  };
  return Math.max(1, Math.ceil(n * mult[m[2]]));
}

/** Per-request facts collected for the access log. */
interface LogCtx {
  route: string;
  cluster: string;
  upstream: string;
  reason: string | null;
  tries: number;
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

function chooseBackend(backends: readonly WeightedCluster[]): WeightedCluster | null {
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
    if (c !== null) {
      this.total += c.length;
      if (this.limit > 0 && this.total > this.limit) {
        this.tooLarge = true;
        this.inner.cancel("body too large");
        throw new UpstreamError("protocol", "request body too large", true);
      }
    }
    return c;
  }
  cancel(reason?: string): void {
    this.inner.cancel(reason);
  }
  trailers(): Hdrs | null {
    return this.inner.trailers();
  }
}

function filtersOf(route: Route, wc: WeightedCluster | null): Filter[] {
  return wc && wc.filters.length ? [...route.filters, ...wc.filters] : route.filters as Filter[];
}

/** Runs one request through the pipeline. Never throws: failures become responses. */
export async function handleRequest(cfg: SocketConfig, req: ProxyRequest): Promise<ProxyResponse> {
  const { path, query } = splitTarget(req.target);
  const host = hostOf(req.authority);
  const view: RequestView = {
    method: req.method,
    host,
    path,
    query,
    header: (n: string) => req.headers.get(n),
  };
  const m = cfg.router.match(view);
  if (m === null) {
    return generated(cfg, req, 404, `no route for host "${host}" and path "${path}"`, null);
  }
  const route = m.route;
  const log: LogCtx = { route: route.name, cluster: "", upstream: "", reason: null, tries: 0 };

  // Body limits: the route's, else the listener's.
  const bodyLimit = route.maxBodyBytes > 0 ? route.maxBodyBytes : cfg.limits.maxBodyBytes;
  if (bodyLimit > 0 && req.body && req.body.length > bodyLimit) {
    req.body.cancel("body too large");
    return generated(
      cfg,
      req,
      413,
      `request body of ${req.body.length} bytes exceeds the limit of ${bodyLimit}`,
      log,
    );
  }

  // ProxyPolicy: after routing, before any backend work.
  let pol: PolicyAllow | null = null;
  const rp = cfg.policies?.forRoute(route) ?? null;
  if (rp !== null) {
    const r = rp.check({
      method: req.method,
      sourceIp: req.clientIp,
      header: (n: string) => req.headers.get(n),
      query,
    });
    const d = r instanceof Promise ? await r : r;
    if (!d.allow) {
      req.body?.cancel("refused by policy");
      const h = new Hdrs();
      for (const [n, v] of d.headers) h.append(n, v);
      if (d.status !== 200 && req.httpVersion === "2" && isGrpc(req.headers)) {
        const g = generated(cfg, req, d.status, d.body.trim(), log, h);
        log.reason = d.reason;
        return g;
      }
      log.reason = d.reason;
      return respond(
        cfg,
        req,
        d.status,
        h,
        d.body === "" ? null : encoder.encode(d.body),
        log,
        null,
      );
    }
    pol = d;
  }

  const wc = chooseBackend(route.backends);
  const filters = filtersOf(route, wc);
  const outHeaders = req.headers.clone();
  let outPath = path;
  let outAuthority: string | null = null;
  let cors: Filter["cors"] = undefined;
  const respMods: Filter[] = [];
  for (const f of filters) {
    switch (f.type) {
      case "RequestHeaderModifier":
        if (f.requestHeaderModifier) applyHeaderModifier(f.requestHeaderModifier, outHeaders);
        break;
      case "ResponseHeaderModifier":
        respMods.push(f);
        break;
      case "RequestRedirect":
        if (f.requestRedirect) {
          const r = redirectLocation(f.requestRedirect, {
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
          return respond(cfg, req, r.status, h, null, log, null);
        }
        break;
      case "URLRewrite":
        if (f.urlRewrite) {
          outPath = rewritePath(f.urlRewrite, path, m.matchedPrefix);
          outAuthority = rewriteHost(f.urlRewrite) ?? outAuthority;
        }
        break;
      case "CORS":
        cors = f.cors;
        break;
      case "RequestMirror":
        if (f.requestMirror) {
          mirror(cfg, req, f.requestMirror.cluster, f.requestMirror.percent, outPath, query);
        }
        break;
    }
  }
  if (pol !== null) applyPolicyRequest(pol, outHeaders);
  if (cors) {
    const h = new Hdrs();
    if (corsPreflight(cors, req.method, req.headers, h)) {
      req.body?.cancel("preflight");
      return respond(cfg, req, CORS_PREFLIGHT_STATUS, h, null, log, null);
    }
  }
  if (wc === null) {
    req.body?.cancel("no backend");
    return generated(cfg, req, 500, `route "${route.name}" has no usable backend`, log);
  }
  const cr = cfg.clusters.get(wc.cluster);
  log.cluster = wc.cluster;
  if (!cr) {
    req.body?.cancel("no backend");
    return generated(
      cfg,
      req,
      500,
      `backend cluster "${wc.cluster}" of route "${route.name}" is not defined`,
      log,
    );
  }
  // Circuit breaker: cap concurrent requests to the cluster (fail fast, 503).
  const maxReq = cr.cluster.circuitBreaker?.maxRequests ?? 0;
  if (maxReq > 0 && cr.active >= maxReq) {
    req.body?.cancel("circuit open");
    return generated(
      cfg,
      req,
      503,
      `circuit breaker open: cluster "${cr.cluster.name}" has ${cr.active} requests in flight (max ${maxReq})`,
      log,
    );
  }

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
  const body = req.body ? new GuardedBody(req.body, bodyLimit, req.body.length) : null;
  const out: OutboundRequest = {
    method: req.method,
    target: query ? `${outPath}?${query}` : outPath,
    authority,
    scheme: cr.cluster.tls ? "https" : "http",
    headers: outHeaders,
    body,
    upgrade: req.upgrade ? (req.headers.get("upgrade") ?? req.upgrade) : null,
  };

  // Retry policy.
  const retry = route.retry;
  const maxRetries = retry ? Math.max(0, retry.attempts) : 0;
  const plan = retryPlan(route);
  const retryOn = plan.on;
  const retryCodes = plan.codes;
  const idempotent = IDEMPOTENT.has(req.method) || (retry?.retryNonIdempotent ?? false);
  const perTry = (retry?.perTryTimeoutMs ?? 0) || (route.timeouts?.backendRequestMs ?? 0) ||
    cr.cluster.requestTimeoutMs || DEFAULT_HEAD_TIMEOUT_MS;
  let overall = route.timeouts?.requestMs ?? 0;
  const grpcMs = parseGrpcTimeout(req.headers.get("grpc-timeout"));
  if (grpcMs > 0) overall = overall > 0 ? Math.min(overall, grpcMs) : grpcMs;
  const overallDeadline = overall > 0 ? Date.now() + overall : 0;
  const budget = cr.cluster.circuitBreaker?.maxRetries || Math.max(3, Math.ceil(cr.active * 0.2));

  const pickCtx: PickContext = {
    sourceIp: req.clientIp,
    header: (n: string) => req.headers.get(n),
    cookie: (n: string) => cookieValue(req.headers.get("cookie"), n),
  };
  // Allocated only when a retry happens.
  let tried: Set<string> | null = null;
  let lastErr: UpstreamError | null = null;
  let connectRetries = 0;
  for (let attempt = 0;; attempt++) {
    if (attempt > 0) {
      if (cr.activeRetries >= budget) {
        log.reason = "retry budget exhausted";
        break;
      }
      if (retry && retry.backoffMs > 0) {
        await new Promise((r) => setTimeout(r, retry.backoffMs * attempt));
      }
    }
    const pick = cr.balancer.pick(pickCtx, tried ?? undefined) ??
      (tried ? cr.balancer.pick(pickCtx) : null);
    if (pick === null) {
      if (lastErr) break;
      body?.cancel("no endpoint");
      return generated(cfg, req, 503, `no healthy endpoint in cluster "${cr.cluster.name}"`, log);
    }
    (tried ??= new Set()).add(pick.key);
    log.upstream = pick.key;
    log.tries = attempt + 1;
    const attemptCancel = new Cancel();
    const unlink = req.cancel.on(() =>
      attemptCancel.cancel(req.cancel.reason ?? "client went away")
    );
    let timedOut = false;
    const now = Date.now();
    let dl = now + perTry;
    if (overallDeadline > 0 && overallDeadline < dl) dl = overallDeadline;
    const deadline: Deadline = {
      deadline: dl,
      fire: () => {
        timedOut = true;
        attemptCancel.cancel("upstream timeout");
      },
      slot: -1,
    };
    watch(deadline);
    cr.balancer.onStart(pick.key);
    cr.active++;
    if (attempt > 0) cr.activeRetries++;
    const t0 = performance.now();
    let res: UpstreamResponse | null = null;
    try {
      res = await cr.exchange(pick.endpoint, pick.key, out, attemptCancel);
    } catch (e) {
      lastErr = e instanceof UpstreamError
        ? e
        : new UpstreamError("reset", `upstream failed: ${(e as Error).message}`, true);
      if (timedOut) {
        lastErr = new UpstreamError(
          "timeout",
          `upstream did not answer within ${dl - now} ms`,
          true,
        );
      }
    } finally {
      unwatch(deadline);
      if (attempt > 0) cr.activeRetries--;
    }
    observeLatency(cr.cluster.name, (performance.now() - t0) / 1000);
    if (cr.health !== null && !(lastErr?.kind === "cancelled" && res === null)) {
      cr.health.observe(pick.key, res !== null ? res.status < 500 : false);
    }
    if (res !== null) {
      const retryable = retryCodes.has(res.status) && attempt < maxRetries && idempotent &&
        !(body?.started) && !req.upgrade;
      if (retryable) {
        res.body?.cancel("retrying");
        cr.balancer.onEnd(pick.key);
        cr.active--;
        unlink();
        lastErr = new UpstreamError("reset", `upstream answered ${res.status}`, true);
        continue;
      }
      return upstreamResponse(
        cfg,
        req,
        res,
        cr,
        pick.key,
        pick.setCookie,
        log,
        respMods,
        cors,
        unlink,
        pol,
      );
    }
    cr.balancer.onEnd(pick.key);
    cr.active--;
    unlink();
    const err = lastErr!;
    if (err.kind === "cancelled" || req.cancel.cancelled) {
      log.reason = req.cancel.reason ?? "client went away";
      return generated(cfg, req, 499, "client closed the request", log);
    }
    // Retry?
    const bodySafe = !(body?.started);
    let again = false;
    if (err.kind === "connect") {
      again = bodySafe && (attempt < maxRetries || (connectRetries < 2 && !retry));
      if (again && !retry) connectRetries++;
    } else if (attempt < maxRetries && bodySafe && (idempotent || !err.maybeProcessed)) {
      if (err.kind === "timeout") again = retryOn.size === 0 || retryOn.has("timeout");
      else {again = retryOn.size === 0 || retryOn.has("reset") || retryOn.has("gateway-error") ||
          retryOn.has("5xx");}
    }
    if (overallDeadline > 0 && Date.now() >= overallDeadline) again = false;
    if (!again) break;
  }
  const err = lastErr!;
  body?.cancel("upstream failed");
  if (err.kind === "timeout") return generated(cfg, req, 504, err.message, log);
  if (body?.clientError) {
    return generated(cfg, req, body.clientError.status, body.clientError.reason, log);
  }
  if (body?.tooLarge) {
    return generated(cfg, req, 413, `request body exceeds the limit of ${bodyLimit} bytes`, log);
  }
  if (log.reason === "retry budget exhausted") {
    return generated(cfg, req, 502, `${err.message} (retry budget exhausted)`, log);
  }
  if (err.kind === "connect") {
    return generated(cfg, req, 502, `upstream connect error: ${err.message}`, log);
  }
  return generated(cfg, req, 502, `upstream error: ${err.message}`, log);
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

function upstreamResponse(
  cfg: SocketConfig,
  req: ProxyRequest,
  res: UpstreamResponse,
  cr: ClusterRuntime,
  key: string,
  setCookie: string | undefined,
  log: LogCtx,
  respMods: Filter[],
  cors: Filter["cors"],
  unlink: () => void,
  pol: PolicyAllow | null = null,
): ProxyResponse {
  const h = res.headers;
  const upgradeValue = res.status === 101 ? h.get("upgrade") : null;
  stripHopByHop(h);
  if (upgradeValue) h.set("upgrade", upgradeValue);
  for (const f of respMods) {
    if (f.responseHeaderModifier) applyHeaderModifier(f.responseHeaderModifier, h);
  }
  if (cors) corsResponseHeaders(cors, req.headers.get("origin"), h);
  if (pol !== null) applyPolicyResponse(pol, req.headers.get("origin"), h);
  if (setCookie) h.append("set-cookie", setCookie);
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    cr.balancer.onEnd(key);
    cr.active--;
    unlink();
  };
  const up = res.upgraded;
  return {
    status: res.status,
    headers: h,
    body: res.body,
    upgraded: up
      ? { transport: up.transport, reader: up.reader, done: () => up.release() }
      : undefined,
    finish(bytesOut: number, error: string | null) {
      end();
      finishRequest(cfg, req, res.status, log, bytesOut, error);
    },
  };
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
