/**
 * HTTPRoute and GRPCRoute rules → ProxyRoute rules: matches, filters,
 * backendRefs with weights, timeouts and retries. A rule the data plane cannot
 * express is rejected with UnsupportedValue (or IncompatibleFilters); a backend
 * that does not resolve keeps its weight but points at a ProxyBackend that does
 * not exist, so that share of requests gets a 500 as the spec requires.
 */
import { DURATION_PATTERN, durationMs } from "../../crds/common.ts";
import type {
  GrpcMatchIn,
  GrpcRuleIn,
  HeaderFilterIn,
  HttpBackendRefIn,
  HttpFilterIn,
  HttpMatchIn,
  HttpRuleIn,
  KeyMatchIn,
  PathModifierIn,
} from "./api_types.ts";
import { resolveBackendRef } from "./backends.ts";
import type { BackendSet, BackendUse } from "./backends.ts";
import { compact, objectNameOf } from "./generated.ts";
import type { World } from "./world.ts";

export interface RuleContext {
  readonly routeKind: "HTTPRoute" | "GRPCRoute";
  readonly routeNs: string;
  /** Base of generated names (the ProxyRoute's base name). */
  readonly base: string;
  readonly w: World;
  readonly backends: BackendSet;
  readonly use: BackendUse;
  /** ResolvedRefs problems found so far (the first one gives the reason). */
  readonly refProblems: { reason: string; message: string }[];
  /** Warnings (fields accepted but not acted on). */
  readonly warnings: string[];
  /** "<ns>/<svc>" of every Service the route uses (BackendTLSPolicy ancestors). */
  readonly usedServices: Set<string>;
}

export type RuleResult =
  | { readonly ok: true; readonly rule: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string; readonly message: string };

class Unsupported extends Error {
  constructor(message: string, readonly reason = "UnsupportedValue") {
    super(message);
  }
}

const DURATION_RE = new RegExp(DURATION_PATTERN);
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

function checkRegex(v: string, what: string): void {
  try {
    new RegExp(v);
  } catch (e) {
    throw new Unsupported(
      `${what}: regular expression ${JSON.stringify(v)} is not supported: ${(e as Error).message}`,
    );
  }
}

function keyMatch(m: KeyMatchIn, what: string): Record<string, unknown> {
  const type = m.type ?? "Exact";
  if (type !== "Exact" && type !== "RegularExpression") {
    throw new Unsupported(`${what} match type ${type} is not supported`);
  }
  if (type === "RegularExpression") checkRegex(m.value, what);
  return { type, name: m.name, value: m.value };
}

function httpMatch(m: HttpMatchIn): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const type = m.path?.type ?? "PathPrefix";
  const value = m.path?.value ?? "/";
  if (type !== "Exact" && type !== "PathPrefix" && type !== "RegularExpression") {
    throw new Unsupported(`path match type ${type} is not supported`);
  }
  if (type === "RegularExpression") checkRegex(value, "path");
  else if (!value.startsWith("/")) {
    throw new Unsupported(`path ${JSON.stringify(value)} must start with "/"`);
  }
  out.path = { type, value };
  if (m.headers?.length) out.headers = m.headers.map((h) => keyMatch(h, "header"));
  if (m.queryParams?.length) {
    out.queryParams = m.queryParams.map((q) => keyMatch(q, "query parameter"));
  }
  if (m.method !== undefined) {
    if (!METHODS.includes(m.method)) throw new Unsupported(`method ${m.method} is not supported`);
    out.method = m.method;
  }
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** gRPC method matches become matches on the request path `/<service>/<method>`. */
function grpcMatch(m: GrpcMatchIn): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const mm = m.method;
  if (mm !== undefined) {
    const type = mm.type ?? "Exact";
    if (type !== "Exact" && type !== "RegularExpression") {
      throw new Unsupported(`gRPC method match type ${type} is not supported`);
    }
    if (mm.service === undefined && mm.method === undefined) {
      throw new Unsupported("gRPC method match needs service or method");
    }
    if (type === "Exact") {
      if (mm.service !== undefined && mm.method !== undefined) {
        out.path = { type: "Exact", value: `/${mm.service}/${mm.method}` };
      } else if (mm.service !== undefined) {
        out.path = { type: "RegularExpression", value: `/${escapeRegex(mm.service)}/[^/]+` };
      } else {
        out.path = { type: "RegularExpression", value: `/[^/]+/${escapeRegex(mm.method!)}` };
      }
    } else {
      if (mm.service !== undefined) checkRegex(mm.service, "gRPC service");
      if (mm.method !== undefined) checkRegex(mm.method, "gRPC method");
      out.path = {
        type: "RegularExpression",
        value: `/(${mm.service ?? "[^/]+"})/(${mm.method ?? "[^/]+"})`,
      };
    }
  }
  if (m.headers?.length) out.headers = m.headers.map((h) => keyMatch(h, "header"));
  return out;
}

function headerMod(h: HeaderFilterIn | undefined, what: string): Record<string, unknown> {
  if (h === undefined) throw new Unsupported(`${what} filter needs its ${what} field`);
  return compact({
    set: h.set?.length ? h.set.map((x) => ({ name: x.name, value: x.value })) : undefined,
    add: h.add?.length ? h.add.map((x) => ({ name: x.name, value: x.value })) : undefined,
    remove: h.remove?.length ? [...h.remove] : undefined,
  });
}

function pathMod(
  p: PathModifierIn | undefined,
  prefixOk: boolean,
): Record<string, unknown> | undefined {
  if (p === undefined) return undefined;
  if (p.type === "ReplaceFullPath") {
    if (p.replaceFullPath === undefined) {
      throw new Unsupported("ReplaceFullPath needs replaceFullPath");
    }
    return { type: "ReplaceFullPath", replaceFullPath: p.replaceFullPath };
  }
  if (p.type === "ReplacePrefixMatch") {
    if (p.replacePrefixMatch === undefined) {
      throw new Unsupported("ReplacePrefixMatch needs replacePrefixMatch");
    }
    if (!prefixOk) {
      throw new Unsupported(
        "ReplacePrefixMatch needs every match of the rule to be a PathPrefix match",
      );
    }
    return { type: "ReplacePrefixMatch", replacePrefixMatch: p.replacePrefixMatch };
  }
  throw new Unsupported(`path modifier type ${p.type} is not supported`);
}

function filter(
  f: HttpFilterIn,
  ctx: RuleContext,
  prefixOk: boolean,
): Record<string, unknown> | undefined {
  switch (f.type) {
    case "RequestHeaderModifier":
      return {
        type: f.type,
        requestHeaderModifier: headerMod(f.requestHeaderModifier, "requestHeaderModifier"),
      };
    case "ResponseHeaderModifier":
      return {
        type: f.type,
        responseHeaderModifier: headerMod(f.responseHeaderModifier, "responseHeaderModifier"),
      };
    case "RequestRedirect": {
      const r = f.requestRedirect;
      if (r === undefined) throw new Unsupported("RequestRedirect filter needs requestRedirect");
      if (r.scheme !== undefined && r.scheme !== "http" && r.scheme !== "https") {
        throw new Unsupported(`redirect scheme ${r.scheme} is not supported`);
      }
      const code = r.statusCode ?? 302;
      if (![301, 302, 303, 307, 308].includes(code)) {
        throw new Unsupported(`redirect status code ${code} is not supported`);
      }
      return {
        type: f.type,
        requestRedirect: compact({
          scheme: r.scheme,
          hostname: r.hostname,
          port: r.port,
          path: pathMod(r.path, prefixOk),
          statusCode: code,
        }),
      };
    }
    case "URLRewrite": {
      const r = f.urlRewrite;
      if (r === undefined) throw new Unsupported("URLRewrite filter needs urlRewrite");
      return {
        type: f.type,
        urlRewrite: compact({ hostname: r.hostname, path: pathMod(r.path, prefixOk) }),
      };
    }
    case "RequestMirror": {
      const m = f.requestMirror;
      if (m === undefined) throw new Unsupported("RequestMirror filter needs requestMirror");
      const res = resolveBackendRef(
        m.backendRef,
        { kind: ctx.routeKind, namespace: ctx.routeNs },
        ctx.w,
        ctx.use,
        ctx.usedServices,
      );
      if (!res.ok) {
        // An unresolvable mirror is dropped (mirroring never affects the response).
        if (res.silent) ctx.warnings.push(`mirror: ${res.message}`);
        else ctx.refProblems.push({ reason: res.reason, message: `mirror: ${res.message}` });
        return undefined;
      }
      let percent = 100;
      if (m.percent !== undefined) percent = m.percent;
      else if (m.fraction !== undefined) {
        const den = m.fraction.denominator ?? 100;
        if (den <= 0 || m.fraction.numerator < 0 || m.fraction.numerator > den) {
          throw new Unsupported(
            "mirror fraction must have 0 <= numerator <= denominator, denominator > 0",
          );
        }
        percent = Math.round((100 * m.fraction.numerator) / den);
        if (percent * den !== 100 * m.fraction.numerator) {
          ctx.warnings.push(
            `mirror fraction ${m.fraction.numerator}/${den} is rounded to ${percent}%`,
          );
        }
      }
      if (percent < 0 || percent > 100) {
        throw new Unsupported(`mirror percent ${percent} is out of range`);
      }
      const ref = ctx.backends.refFor(res.backend);
      return {
        type: f.type,
        requestMirror: { backendRef: compact({ kind: "ProxyBackend", ...ref }), percent },
      };
    }
    case "CORS": {
      const c = f.cors;
      if (c === undefined) throw new Unsupported("CORS filter needs cors");
      return {
        type: f.type,
        cors: compact({
          allowOrigins: c.allowOrigins?.length ? [...c.allowOrigins] : undefined,
          allowMethods: c.allowMethods?.length ? [...c.allowMethods] : undefined,
          allowHeaders: c.allowHeaders?.length ? [...c.allowHeaders] : undefined,
          exposeHeaders: c.exposeHeaders?.length ? [...c.exposeHeaders] : undefined,
          allowCredentials: c.allowCredentials,
          maxAge: c.maxAge !== undefined ? `${c.maxAge}s` : undefined,
        }),
      };
    }
    case "ExtensionRef": {
      const e = f.extensionRef;
      if (e === undefined) throw new Unsupported("ExtensionRef filter needs extensionRef");
      if (e.group !== "novaedge.io" || e.kind !== "ProxyPolicy") {
        throw new ExtensionProblem(
          "InvalidKind",
          `extensionRef ${e.group}/${e.kind}/${e.name}: only novaedge.io/ProxyPolicy is supported`,
        );
      }
      if (!ctx.w.byKey.has(`ProxyPolicy/${ctx.routeNs}/${e.name}`)) {
        throw new ExtensionProblem(
          "BackendNotFound",
          `extensionRef ProxyPolicy ${ctx.routeNs}/${e.name} does not exist`,
        );
      }
      return {
        type: f.type,
        extensionRef: { group: "novaedge.io", kind: "ProxyPolicy", name: e.name },
      };
    }
    default:
      throw new Unsupported(`filter type ${f.type} is not supported`);
  }
}

/** An ExtensionRef that does not resolve: the rule must answer with an error (500). */
class ExtensionProblem extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

function filters(list: readonly HttpFilterIn[] | undefined, ctx: RuleContext, prefixOk: boolean): {
  out: Record<string, unknown>[];
  broken?: ExtensionProblem;
} {
  const out: Record<string, unknown>[] = [];
  let broken: ExtensionProblem | undefined;
  const types = new Set((list ?? []).map((f) => f.type));
  if (types.has("RequestRedirect") && types.has("URLRewrite")) {
    throw new Unsupported(
      "RequestRedirect and URLRewrite cannot be used in the same rule",
      "IncompatibleFilters",
    );
  }
  for (const f of list ?? []) {
    if (
      f.type !== "RequestMirror" && f.type !== "ExtensionRef" &&
      f.type !== "RequestHeaderModifier" &&
      f.type !== "ResponseHeaderModifier" && (list ?? []).filter((g) =>
          g.type === f.type
        ).length > 1
    ) {
      throw new Unsupported(`filter ${f.type} may appear only once per rule`);
    }
    try {
      const x = filter(f, ctx, prefixOk);
      if (x !== undefined) out.push(x);
    } catch (e) {
      if (e instanceof ExtensionProblem) {
        broken ??= e;
        continue;
      }
      throw e;
    }
  }
  return { out, broken };
}

function backendRefs(
  refs: readonly HttpBackendRefIn[] | undefined,
  ctx: RuleContext,
  ruleIndex: number,
  prefixOk: boolean,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  (refs ?? []).forEach((b, j) => {
    const weight = b.weight ?? 1;
    if (weight < 0 || weight > 1000000) {
      throw new Unsupported(`backend weight ${weight} is out of range`);
    }
    const res = resolveBackendRef(
      b,
      { kind: ctx.routeKind, namespace: ctx.routeNs },
      ctx.w,
      ctx.use,
      ctx.usedServices,
    );
    const f = filters(b.filters, ctx, prefixOk);
    if (!res.ok || f.broken) {
      const reason = res.ok ? f.broken!.reason : res.reason;
      const message = res.ok ? f.broken!.message : res.message;
      if (!res.ok && res.silent) ctx.warnings.push(message);
      else ctx.refProblems.push({ reason, message });
      // Keep the weight: requests for this share must fail (500), not go elsewhere.
      out.push({
        kind: "ProxyBackend",
        name: objectNameOf([ctx.base, "unresolved", ruleIndex, j]),
        weight,
      });
      return;
    }
    const ref = ctx.backends.refFor(res.backend);
    out.push(
      compact({ kind: "ProxyBackend", ...ref, weight, filters: f.out.length ? f.out : undefined }),
    );
  });
  return out;
}

function timeouts(t: HttpRuleIn["timeouts"]): Record<string, unknown> | undefined {
  if (t === undefined) return undefined;
  for (const [k, v] of Object.entries(t)) {
    if (typeof v === "string" && !DURATION_RE.test(v)) {
      throw new Unsupported(`timeouts.${k} ${JSON.stringify(v)} is not a valid duration`);
    }
  }
  // "0s" disables a timeout; otherwise a backend request cannot outlast the request.
  const req = durationMs(t.request), be = durationMs(t.backendRequest);
  if (req > 0 && be > req) {
    throw new Unsupported(
      `timeouts.backendRequest ${t.backendRequest} is longer than timeouts.request ${t.request}`,
    );
  }
  const out = compact({ request: t.request, backendRequest: t.backendRequest });
  return Object.keys(out).length ? out : undefined;
}

function retry(r: HttpRuleIn["retry"]): Record<string, unknown> | undefined {
  if (r === undefined) return undefined;
  if (r.backoff !== undefined && !DURATION_RE.test(r.backoff)) {
    throw new Unsupported(`retry.backoff ${JSON.stringify(r.backoff)} is not a valid duration`);
  }
  if (r.attempts !== undefined && (r.attempts < 0 || r.attempts > 10)) {
    throw new Unsupported(`retry.attempts ${r.attempts} is out of range (0..10)`);
  }
  for (const c of r.codes ?? []) {
    if (c < 400 || c > 599) throw new Unsupported(`retry code ${c} is out of range (400..599)`);
  }
  return compact({
    attempts: r.attempts ?? 1,
    codes: r.codes?.length ? [...r.codes] : undefined,
    backoff: r.backoff,
    // Gateway API retries connection errors (HTTPRouteRetryConnectionError: a refused
    // connect, a reset before any response) and a try that reached the
    // backendRequest timeout (HTTPRouteRetryBackendTimeout), besides the codes.
    retryOn: ["connect-failure", "reset", "timeout"],
  });
}

function run(fn: () => Record<string, unknown>): RuleResult {
  try {
    return { ok: true, rule: fn() };
  } catch (e) {
    if (e instanceof Unsupported) return { ok: false, reason: e.reason, message: e.message };
    throw e;
  }
}

/** Translates one HTTPRoute rule. */
export function translateHttpRule(rule: HttpRuleIn, index: number, ctx: RuleContext): RuleResult {
  return run(() => {
    const matches = (rule.matches?.length ? rule.matches : [{}]).map(httpMatch);
    const prefixOk = matches.every((m) => (m.path as { type: string }).type === "PathPrefix");
    const f = filters(rule.filters, ctx, prefixOk);
    let refs: Record<string, unknown>[] = [];
    if (f.broken) {
      // No backends: every request of this rule gets a 500.
      ctx.refProblems.push({ reason: f.broken.reason, message: f.broken.message });
    } else refs = backendRefs(rule.backendRefs, ctx, index, prefixOk);
    if (rule.sessionPersistence !== undefined) {
      ctx.warnings.push(`rules[${index}].sessionPersistence is not supported and is ignored`);
    }
    return compact({
      name: rule.name,
      matches,
      filters: f.out.length ? f.out : undefined,
      backendRefs: refs.length ? refs : undefined,
      timeouts: timeouts(rule.timeouts),
      retry: retry(rule.retry),
    });
  });
}

/** Translates one GRPCRoute rule (method matches become path matches). */
export function translateGrpcRule(rule: GrpcRuleIn, index: number, ctx: RuleContext): RuleResult {
  return run(() => {
    const matches = (rule.matches?.length ? rule.matches : [{}]).map(grpcMatch);
    const f = filters(rule.filters, ctx, false);
    let refs: Record<string, unknown>[] = [];
    if (f.broken) ctx.refProblems.push({ reason: f.broken.reason, message: f.broken.message });
    else refs = backendRefs(rule.backendRefs, ctx, index, false);
    return compact({
      name: rule.name,
      matches: matches.map((
        m,
      ) => (m.path === undefined ? { ...m, path: { type: "PathPrefix", value: "/" } } : m)),
      filters: f.out.length ? f.out : undefined,
      backendRefs: refs.length ? refs : undefined,
    });
  });
}
