/**
 * The ingress-nginx annotations NovaEdge understands, parsed into one typed
 * config per Ingress. Every `nginx.ingress.kubernetes.io/*` annotation is either
 * mapped here or reported (never silently ignored); the table in
 * docs/ingress-nginx-annotations.md mirrors `SUPPORTED_ANNOTATIONS`.
 */
import { cidrError } from "../../crds/common.ts";
import { isIP } from "node:net";

export const NGINX_PREFIX = "nginx.ingress.kubernetes.io/";

/** Annotation (without prefix) → the NovaEdge feature it maps to. */
export const SUPPORTED_ANNOTATIONS: Readonly<Record<string, string>> = {
  "rewrite-target":
    "URLRewrite path (ReplacePrefixMatch for `<prefix>(/|$)(.*)` → `<new>/$2`, else ReplaceFullPath)",
  "use-regex":
    'RegularExpression path matches of ImplementationSpecific paths: case-insensitive prefixes, as nginx `~* "^<path>"`',
  "ssl-redirect":
    'RequestRedirect to https (308) on the HTTP listener for TLS hosts; "false" disables',
  "force-ssl-redirect": "RequestRedirect to https (308) even for hosts without TLS",
  "backend-protocol": "ProxyBackend protocol (HTTP, HTTPS, GRPC, GRPCS, AUTO_HTTP)",
  "proxy-ssl-verify": "ProxyBackend tls.insecureSkipVerify (off by default, as in ingress-nginx)",
  "proxy-body-size": 'ProxyRoute rule maxBodyBytes ("0" = unlimited)',
  "proxy-connect-timeout": "ProxyBackend timeouts.connect",
  "proxy-read-timeout": "ProxyBackend timeouts.idle (the larger of read/send)",
  "proxy-send-timeout": "ProxyBackend timeouts.idle (the larger of read/send)",
  "enable-cors": "CORS route filter",
  "cors-allow-origin": "CORS allowOrigins",
  "cors-allow-methods": "CORS allowMethods",
  "cors-allow-headers": "CORS allowHeaders",
  "cors-expose-headers": "CORS exposeHeaders",
  "cors-allow-credentials": "CORS allowCredentials",
  "cors-max-age": "CORS maxAge",
  "limit-rps": "ProxyPolicy rateLimit (per source IP, burst = rps × limit-burst-multiplier)",
  "limit-burst-multiplier": "ProxyPolicy rateLimit burst",
  "limit-connections":
    "ProxyPolicy connectionLimit.perClientIp (requests in progress per client address; over it → 503)",
  "whitelist-source-range": "ProxyPolicy ipAllow (old name; allowlist-source-range wins)",
  "allowlist-source-range": "ProxyPolicy ipAllow",
  "auth-type": "ProxyPolicy basicAuth (basic only)",
  "auth-secret":
    'ProxyPolicy basicAuth secretRef (key "auth", htpasswd lines, bcrypt, $apr1$ or {SHA}); missing or unusable: not served',
  "auth-secret-type": "auth-file only",
  "auth-realm": "ProxyPolicy basicAuth realm",
  "canary": "merged into the primary Ingress's route",
  "canary-weight": "backend weights of the primary's rule",
  "canary-weight-total": "backend weights of the primary's rule",
  "canary-by-header": 'extra rule with a header match (value "always")',
  "canary-by-header-value": "extra rule with an exact header match",
  "canary-by-header-pattern": "extra rule with a regular-expression header match",
  "affinity": "ProxyBackend loadBalancing.sessionAffinity (cookie only)",
  "session-cookie-name": "sessionAffinity cookie",
  "session-cookie-max-age": "sessionAffinity ttl",
  "session-cookie-expires": "sessionAffinity ttl (when max-age is not set)",
  "permanent-redirect": "RequestRedirect (301 or permanent-redirect-code)",
  "permanent-redirect-code": "RequestRedirect statusCode",
  "temporal-redirect": "RequestRedirect (302); wins over permanent-redirect, as in ingress-nginx",
  "app-root": 'RequestRedirect (302) of "/" to the app root',
  "upstream-vhost": "ProxyBackend hostRewrite",
};

export interface IngressConfig {
  useRegex: boolean;
  rewriteTarget?: string;
  sslRedirect: boolean;
  forceSslRedirect: boolean;
  backendProtocol?: "HTTP" | "HTTPS" | "GRPC";
  backendTls: boolean;
  backendTlsVerify: boolean;
  maxBodyBytes?: number;
  connectTimeout?: string;
  idleTimeout?: string;
  cors?: {
    allowOrigins: string[];
    allowMethods: string[];
    allowHeaders: string[];
    exposeHeaders: string[];
    allowCredentials: boolean;
    maxAge: string;
  };
  rateLimit?: { requestsPerSecond: number; burst: number };
  limitConnections?: number;
  ipAllow?: string[];
  basicAuth?: { realm: string; secretName: string };
  canary: boolean;
  canaryWeight?: number;
  canaryWeightTotal: number;
  canaryHeader?: { name: string; value: string; regex: boolean };
  affinityCookie?: { cookie: string; ttl?: string };
  /** A redirect target, checked and split up here (the one place that validates it). */
  redirect?: RedirectTarget & { code: number };
  appRoot?: string;
  upstreamVhost?: string;
}

/** An absolute http(s) redirect target, without query string or fragment. */
export interface RedirectTarget {
  scheme: "http" | "https";
  hostname: string;
  /** Only when not the scheme's default port. */
  port?: number;
  path: string;
}

export interface AnnotationProblem {
  readonly annotation: string;
  readonly message: string;
  /** An access-control annotation that could not be applied: the Ingress must not be served. */
  readonly security?: boolean;
}

/** Is this ingress-nginx annotation (without prefix) about access control? */
export function isSecurityAnnotation(name: string): boolean {
  return name.startsWith("auth-") || name.endsWith("-source-range") || name === "satisfy";
}

/** Seconds → a Gateway API duration ("90s" → "1m30s"; ≤ 5 digits per unit). */
export function secondsToDuration(total: number): string {
  const s = Math.max(0, Math.floor(total));
  if (s === 0) return "0s";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h ? `${Math.min(h, 99999)}h` : ""}${m ? `${m}m` : ""}${sec ? `${sec}s` : ""}`;
}

/** nginx size ("8m", "512k", "1g", "100") → bytes, or undefined when malformed. */
export function parseSize(v: string): number | undefined {
  const m = /^\s*([0-9]+)\s*([kKmMgG]?)\s*$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  const mult =
    { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as "" | "k" | "m" | "g"];
  return n * mult;
}

/** nginx time ("60", "60s", "5m") → seconds, or undefined. */
function parseSeconds(v: string): number | undefined {
  const m = /^\s*([0-9]+)\s*(s|m|h)?\s*$/.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * (m[2] === "m" ? 60 : m[2] === "h" ? 3600 : 1);
}

const list = (v: string) => v.split(",").map((x) => x.trim()).filter((x) => x !== "");

const DEFAULT_CORS_METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"];
const DEFAULT_CORS_HEADERS = [
  "DNT",
  "Keep-Alive",
  "User-Agent",
  "X-Requested-With",
  "If-Modified-Since",
  "Cache-Control",
  "Content-Type",
  "Range",
  "Authorization",
];

/** Parses an Ingress's annotations; returns the config and every problem found. */
export function parseAnnotations(
  annotations: Readonly<Record<string, string>>,
  namespace: string,
): { config: IngressConfig; problems: AnnotationProblem[] } {
  const problems: AnnotationProblem[] = [];
  const a: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) {
    if (!k.startsWith(NGINX_PREFIX)) continue;
    const name = k.slice(NGINX_PREFIX.length);
    if (!Object.hasOwn(SUPPORTED_ANNOTATIONS, name)) {
      problems.push({
        annotation: k,
        message: `annotation ${k} is not supported by NovaEdge`,
        security: isSecurityAnnotation(name),
      });
      continue;
    }
    a[name] = v;
  }
  const bad = (name: string, why: string) =>
    problems.push({
      annotation: NGINX_PREFIX + name,
      message: `${NGINX_PREFIX}${name}: ${why}`,
      security: isSecurityAnnotation(name),
    });
  const boolOf = (name: string, def: boolean): boolean => {
    const v = a[name];
    if (v === undefined) return def;
    // The spellings ingress-nginx accepts (Go's strconv.ParseBool).
    if (["1", "t", "T", "true", "TRUE", "True"].includes(v)) return true;
    if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
    bad(name, `must be "true" or "false", got ${JSON.stringify(v)}`);
    return def;
  };
  const intOf = (name: string): number | undefined => {
    const v = a[name];
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v.trim())) {
      bad(name, `must be a non-negative integer, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return Number(v.trim());
  };

  /** Annotations that only qualify another one do nothing alone: report them. */
  const needs = (names: readonly string[], what: string): void => {
    for (const k of names) if (a[k] !== undefined) bad(k, `has no effect without ${what}`);
  };

  const config: IngressConfig = {
    useRegex: boolOf("use-regex", false),
    sslRedirect: boolOf("ssl-redirect", true),
    forceSslRedirect: boolOf("force-ssl-redirect", false),
    backendTls: false,
    backendTlsVerify: false,
    canary: boolOf("canary", false),
    canaryWeightTotal: 100,
  };
  if (a["rewrite-target"] !== undefined) config.rewriteTarget = a["rewrite-target"];

  const bp = a["backend-protocol"]?.toUpperCase();
  if (bp !== undefined) {
    if (bp === "HTTP" || bp === "AUTO_HTTP") config.backendProtocol = "HTTP";
    else if (bp === "HTTPS") (config.backendProtocol = "HTTPS", config.backendTls = true);
    else if (bp === "GRPC") config.backendProtocol = "GRPC";
    else if (bp === "GRPCS") (config.backendProtocol = "GRPC", config.backendTls = true);
    else {bad(
        "backend-protocol",
        `protocol ${bp} is not supported (HTTP, HTTPS, GRPC, GRPCS, AUTO_HTTP are)`,
      );}
  }
  if (a["proxy-ssl-verify"] !== undefined) {
    const v = a["proxy-ssl-verify"];
    if (!config.backendTls) needs(["proxy-ssl-verify"], "backend-protocol HTTPS or GRPCS");
    else if (v === "on" || v === "off") config.backendTlsVerify = v === "on";
    else bad("proxy-ssl-verify", `must be "on" or "off", got ${JSON.stringify(v)}`);
  }

  if (a["proxy-body-size"] !== undefined) {
    const n = parseSize(a["proxy-body-size"]);
    if (n === undefined) {
      bad("proxy-body-size", `${JSON.stringify(a["proxy-body-size"])} is not a size`);
    } else config.maxBodyBytes = n === 0 ? Number.MAX_SAFE_INTEGER : n;
  }
  const secs = (name: string): number | undefined => {
    const v = a[name];
    if (v === undefined) return undefined;
    const n = parseSeconds(v);
    if (n === undefined) bad(name, `${JSON.stringify(v)} is not a time in seconds`);
    return n;
  };
  const ct = secs("proxy-connect-timeout");
  if (ct !== undefined) config.connectTimeout = secondsToDuration(ct);
  const rt = secs("proxy-read-timeout");
  const st = secs("proxy-send-timeout");
  if (rt !== undefined || st !== undefined) {
    config.idleTimeout = secondsToDuration(Math.max(rt ?? 0, st ?? 0));
  }

  if (boolOf("enable-cors", false)) {
    const maxAge = a["cors-max-age"] !== undefined ? intOf("cors-max-age") : 1728000;
    config.cors = {
      allowOrigins: a["cors-allow-origin"] !== undefined ? list(a["cors-allow-origin"]) : ["*"],
      allowMethods: a["cors-allow-methods"] !== undefined
        ? list(a["cors-allow-methods"]).map((m) => m.toUpperCase())
        : DEFAULT_CORS_METHODS,
      allowHeaders: a["cors-allow-headers"] !== undefined
        ? list(a["cors-allow-headers"])
        : DEFAULT_CORS_HEADERS,
      exposeHeaders: a["cors-expose-headers"] !== undefined ? list(a["cors-expose-headers"]) : [],
      allowCredentials: boolOf("cors-allow-credentials", true),
      maxAge: secondsToDuration(maxAge ?? 1728000),
    };
  } else {
    needs([
      "cors-allow-origin",
      "cors-allow-methods",
      "cors-allow-headers",
      "cors-expose-headers",
      "cors-allow-credentials",
      "cors-max-age",
    ], 'enable-cors: "true"');
  }

  const rps = intOf("limit-rps");
  if (rps !== undefined && rps > 0) {
    const mult = intOf("limit-burst-multiplier") ?? 5;
    config.rateLimit = { requestsPerSecond: rps, burst: rps * mult };
  } else needs(["limit-burst-multiplier"], "limit-rps");
  const conns = intOf("limit-connections");
  // 0 switches the limit off, as in ingress-nginx.
  if (conns !== undefined && conns > 1_000_000) {
    bad("limit-connections", `must be at most 1000000, got ${conns}`);
  } else if (conns !== undefined && conns > 0) config.limitConnections = conns;

  // As in ingress-nginx, allowlist-source-range wins; whitelist-source-range is its old alias.
  const rangeName = (a["allowlist-source-range"] ?? "").trim() !== ""
    ? "allowlist-source-range"
    : a["whitelist-source-range"] !== undefined
    ? "whitelist-source-range"
    : undefined;
  if (rangeName === "allowlist-source-range" && a["whitelist-source-range"] !== undefined) {
    // Not an access-control failure: the allow list that ingress-nginx would use is applied.
    problems.push({
      annotation: `${NGINX_PREFIX}whitelist-source-range`,
      message:
        `${NGINX_PREFIX}whitelist-source-range: has no effect: allowlist-source-range takes precedence (as in ingress-nginx)`,
    });
  }
  const ranges = rangeName !== undefined ? a[rangeName] : undefined;
  if (rangeName !== undefined && ranges !== undefined) {
    const cidrs: string[] = [];
    for (const r of list(ranges)) {
      const c = r.includes("/") ? r : `${r}/${isIP(r) === 6 ? 128 : 32}`;
      const why = cidrError(c);
      if (why) {
        bad(rangeName, why);
      } else cidrs.push(c);
    }
    if (cidrs.length) config.ipAllow = cidrs;
  }

  if (a["auth-type"] === undefined) {
    // Fails closed (access-control annotations): the user asked for protection that is not applied.
    needs(["auth-secret", "auth-secret-type", "auth-realm"], "auth-type: basic");
  } else if (a["auth-type"] !== "basic") {
    bad("auth-type", `only "basic" is supported, got ${JSON.stringify(a["auth-type"])}`);
  } else if ((a["auth-secret-type"] ?? "auth-file") !== "auth-file") {
    bad(
      "auth-secret-type",
      `only "auth-file" is supported, got ${JSON.stringify(a["auth-secret-type"])}`,
    );
  } else if (a["auth-secret"] === undefined) bad("auth-type", "basic auth needs auth-secret");
  else {
    const [sns, sname] = a["auth-secret"].includes("/")
      ? a["auth-secret"].split("/", 2)
      : [namespace, a["auth-secret"]];
    if (sns !== namespace) {
      bad(
        "auth-secret",
        `Secret ${sns}/${sname} is in another namespace (only the Ingress's namespace is supported)`,
      );
    } else {config.basicAuth = {
        realm: a["auth-realm"] ?? "Authentication Required",
        secretName: sname,
      };}
  }

  if (config.canary) {
    const w = intOf("canary-weight");
    const total = intOf("canary-weight-total");
    if (total === 0) bad("canary-weight-total", "must be greater than 0 (100 is used)");
    else if (total !== undefined) config.canaryWeightTotal = total;
    if (w !== undefined) config.canaryWeight = Math.min(w, config.canaryWeightTotal);
    if (a["canary-by-header"] === undefined) {
      needs(["canary-by-header-value", "canary-by-header-pattern"], "canary-by-header");
    } else {
      if (
        a["canary-by-header-value"] !== undefined && a["canary-by-header-pattern"] !== undefined
      ) {
        bad("canary-by-header-pattern", "has no effect: canary-by-header-value takes precedence");
      }
      const pattern = a["canary-by-header-pattern"];
      config.canaryHeader = a["canary-by-header-value"] !== undefined
        ? { name: a["canary-by-header"], value: a["canary-by-header-value"], regex: false }
        : pattern !== undefined
        ? { name: a["canary-by-header"], value: pattern, regex: true }
        : { name: a["canary-by-header"], value: "always", regex: false };
    }
  } else {
    needs([
      "canary-weight",
      "canary-weight-total",
      "canary-by-header",
      "canary-by-header-value",
      "canary-by-header-pattern",
    ], 'canary: "true"');
  }

  if (a["affinity"] === undefined) {
    needs(
      ["session-cookie-name", "session-cookie-max-age", "session-cookie-expires"],
      'affinity: "cookie"',
    );
  } else if (a["affinity"] !== "cookie") {
    bad("affinity", `only "cookie" is supported, got ${JSON.stringify(a["affinity"])}`);
  } else {
    const ttl = intOf("session-cookie-max-age") ?? intOf("session-cookie-expires");
    config.affinityCookie = {
      cookie: a["session-cookie-name"] ?? "INGRESSCOOKIE",
      ttl: ttl !== undefined ? secondsToDuration(ttl) : undefined,
    };
  }

  /** A redirect annotation's target, checked here so problems name the annotation that was set. */
  const redirectTarget = (name: string): RedirectTarget | undefined => {
    const v = a[name];
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      bad(name, `redirect target ${JSON.stringify(v)} is not an absolute URL`);
      return undefined;
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      bad(name, `redirect scheme ${u.protocol} is not supported (http and https are)`);
      return undefined;
    }
    if (u.search !== "" || u.hash !== "") {
      bad(name, `the query string and fragment of ${v} are dropped (a redirect cannot set them)`);
    }
    return {
      scheme: u.protocol === "https:" ? "https" : "http",
      hostname: u.hostname,
      // URL leaves the port empty when it is the scheme's default.
      port: u.port === "" ? undefined : Number(u.port),
      path: u.pathname || "/",
    };
  };

  // ingress-nginx checks temporal-redirect first: with both set, the permanent one does nothing.
  if (a["temporal-redirect"] !== undefined) {
    const target = redirectTarget("temporal-redirect");
    if (target !== undefined) config.redirect = { ...target, code: 302 };
    for (const k of ["permanent-redirect", "permanent-redirect-code"]) {
      if (a[k] !== undefined) {
        bad(k, "has no effect: temporal-redirect takes precedence (as in ingress-nginx)");
      }
    }
  } else if (a["permanent-redirect"] !== undefined) {
    const code = intOf("permanent-redirect-code") ?? 301;
    if (![301, 302, 303, 307, 308].includes(code)) {
      bad("permanent-redirect-code", `status ${code} is not a redirect code NovaEdge supports`);
    }
    const target = redirectTarget("permanent-redirect");
    if (target !== undefined) {
      config.redirect = { ...target, code: [301, 302, 303, 307, 308].includes(code) ? code : 301 };
    }
  } else if (a["permanent-redirect-code"] !== undefined) {
    bad("permanent-redirect-code", "has no effect without permanent-redirect");
  }
  if (a["app-root"] !== undefined) {
    if (!a["app-root"].startsWith("/")) {
      bad("app-root", `must start with "/", got ${JSON.stringify(a["app-root"])}`);
    } else config.appRoot = a["app-root"];
  }
  if (a["upstream-vhost"] !== undefined) config.upstreamVhost = a["upstream-vhost"];
  return { config, problems };
}
