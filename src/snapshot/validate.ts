/**
 * The agent's one decode boundary: `validateSnapshot` turns untrusted data (a
 * decoded protobuf message or JSON) into the domain `Snapshot`, filling proto3
 * defaults, checking enums, ranges and cross-references, and throwing with a
 * message that names the offending field. Everything after it trusts its types.
 */
import { arr, bool, custom, enumOf, int, obj, parseWith, str } from "../crds/schema.ts";
import type { Schema } from "../crds/schema.ts";
import type { Snapshot } from "./types.ts";
import { isFailCluster } from "./types.ts";
import { snapshotVersion } from "./version.ts";

// Proto3: missing scalars are their zero value; unknown fields are ignored so an
// older agent accepts a newer controller's snapshot.
const L = { strict: false } as const;
const S = () => str().default("");
const U32 = () => int({ min: 0, max: 4294967295 }).default(0);
/**
 * uint64: protobuf decoders hand these out as numbers, decimal strings or Long
 * objects ({low, high}) depending on options; all are accepted up to 2^53-1.
 */
const U64 = () =>
  custom<number>((v, field, errs) => {
    let n: number | undefined;
    if (typeof v === "number") n = v;
    else if (typeof v === "string" && /^[0-9]+$/.test(v)) n = Number(v);
    else if (typeof v === "bigint") n = Number(v);
    else if (typeof v === "object" && v !== null && "low" in v && "high" in v) {
      const { low, high } = v as { low: number; high: number };
      n = (high >>> 0) * 4294967296 + (low >>> 0);
    }
    if (n === undefined || !Number.isSafeInteger(n) || n < 0) {
      errs.push({ field, message: `must be an unsigned integer below 2^53, got ${String(v)}` });
      return undefined;
    }
    return n;
  }, () => ({ type: "integer", format: "int64" })).default(0);
const B = () => bool().default(false);
const list = <T>(s: Schema<T>) => arr(s).default([]);
const strs = () => list(str());
const port = () => int({ min: 1, max: 65535 });

const headerModifier = obj({
  set: list(obj({ name: str({ minLength: 1 }), value: S() }, L)),
  add: list(obj({ name: str({ minLength: 1 }), value: S() }, L)),
  remove: strs(),
}, L);
const pathModifier = obj(
  { type: enumOf(["ReplaceFullPath", "ReplacePrefixMatch"]), value: S() },
  L,
);
const cors = obj({
  allowOrigins: strs(),
  allowMethods: strs(),
  allowHeaders: strs(),
  exposeHeaders: strs(),
  allowCredentials: B(),
  maxAgeSeconds: U32(),
}, L);
const filter = obj({
  type: enumOf([
    "RequestHeaderModifier",
    "ResponseHeaderModifier",
    "RequestRedirect",
    "URLRewrite",
    "RequestMirror",
    "CORS",
    "ExtensionRef",
  ]),
  requestHeaderModifier: headerModifier.opt(),
  responseHeaderModifier: headerModifier.opt(),
  requestRedirect: obj({
    scheme: S(),
    hostname: S(),
    port: U32(),
    path: pathModifier.opt(),
    statusCode: U32(),
  }, L).opt(),
  urlRewrite: obj({ hostname: S(), path: pathModifier.opt() }, L).opt(),
  requestMirror: obj({
    cluster: str({ minLength: 1 }),
    percent: int({ min: 0, max: 100 }).default(0),
  }, L)
    .opt(),
  cors: cors.opt(),
  extensionRef: str().opt(),
}, L).check((f) => {
  const member: Record<string, unknown> = {
    RequestHeaderModifier: f.requestHeaderModifier,
    ResponseHeaderModifier: f.responseHeaderModifier,
    RequestRedirect: f.requestRedirect,
    URLRewrite: f.urlRewrite,
    RequestMirror: f.requestMirror,
    CORS: f.cors,
    ExtensionRef: f.extensionRef || undefined,
  };
  return member[f.type] === undefined ? `filter of type ${f.type} lacks its settings` : undefined;
});
const keyMatch = obj({
  type: enumOf(["Exact", "RegularExpression"]).default("Exact"),
  name: str({ minLength: 1 }),
  value: S(),
}, L);

const listener = obj({
  name: str({ minLength: 1 }),
  gateway: S(),
  address: str().default("0.0.0.0"),
  port: port(),
  protocol: enumOf(["HTTP", "HTTPS", "TLS", "TCP", "UDP"]),
  hostnames: strs(),
  tls: obj({
    mode: enumOf(["Terminate", "Passthrough"]).default("Terminate"),
    certificates: strs(),
    minVersion: S(),
    alpn: strs(),
    clientValidation: obj({
      caPem: str({ minLength: 1 }),
      mode: enumOf(["AllowValidOnly", "AllowInsecureFallback"]).default("AllowValidOnly"),
    }, L).opt(),
  }, L).opt(),
  limits: obj({
    maxHeaderBytes: U32(),
    maxHeaders: U32(),
    maxBodyBytes: U64(),
    headerTimeoutMs: U32(),
    idleTimeoutMs: U32(),
    maxConcurrentStreams: U32(),
  }, L).opt(),
}, L);

const route = obj({
  name: str({ minLength: 1 }),
  listeners: strs(),
  hostnames: strs(),
  matches: list(obj({
    path: obj({
      type: enumOf(["Exact", "PathPrefix", "RegularExpression"]).default("PathPrefix"),
      value: S(),
    }, L).check((p) => {
      if (p.type !== "RegularExpression") return undefined;
      try {
        new RegExp(p.value);
        return undefined;
      } catch {
        return `regular expression ${JSON.stringify(p.value)} does not compile`;
      }
    }).opt(),
    headers: list(keyMatch),
    queryParams: list(keyMatch),
    method: S(),
  }, L)),
  filters: list(filter),
  backends: list(obj({ cluster: str({ minLength: 1 }), weight: U32(), filters: list(filter) }, L)),
  timeouts: obj({ requestMs: U32(), backendRequestMs: U32() }, L).opt(),
  retry: obj({
    attempts: U32(),
    codes: list(int({ min: 0, max: 999 })),
    perTryTimeoutMs: U32(),
    backoffMs: U32(),
    retryNonIdempotent: B(),
    on: strs(),
  }, L).opt(),
  l4Protocol: enumOf(["", "TCP", "TLS", "UDP"]).default(""),
  maxBodyBytes: U64(),
  policies: strs(),
  orderKey: S(),
}, L);

const cluster = obj({
  name: str({ minLength: 1 }),
  protocol: enumOf(["HTTP", "H2C", "GRPC"]).default("HTTP"),
  tls: obj({
    sni: S(),
    caPem: S(),
    insecureSkipVerify: B(),
    clientCert: S(),
    subjectAltNames: arr(str({ minLength: 1 })).opt(),
  }, L).opt(),
  lb: obj({
    policy: enumOf([
      "RoundRobin",
      "WeightedRoundRobin",
      "Random",
      "LeastRequest",
      "RingHash",
      "Maglev",
    ])
      .default("RoundRobin"),
    hashOn: obj({ header: S(), cookie: S(), sourceIp: B() }, L).opt(),
    sessionAffinity: obj({ cookie: S(), ttlSeconds: U32() }, L).opt(),
  }, L).default({ policy: "RoundRobin" }),
  endpoints: list(obj({
    address: str({ minLength: 1 }),
    port: port(),
    weight: U32(),
    ready: B(),
    node: S(),
    zone: S(),
  }, L)),
  connectTimeoutMs: U32(),
  requestTimeoutMs: U32(),
  idleTimeoutMs: U32(),
  hostRewrite: S(),
  healthCheck: obj({
    path: S(),
    intervalMs: U32(),
    timeoutMs: U32(),
    healthyThreshold: U32(),
    unhealthyThreshold: U32(),
    expectedStatuses: list(int({ min: 0, max: 999 })),
  }, L).opt(),
  outlierDetection: obj({
    consecutive5xx: U32(),
    intervalMs: U32(),
    baseEjectionMs: U32(),
    maxEjectionPercent: int({ min: 0, max: 100 }).default(0),
  }, L).opt(),
  circuitBreaker: obj({
    maxConnections: U32(),
    maxPendingRequests: U32(),
    maxRequests: U32(),
    maxRetries: U32(),
  }, L).opt(),
  maxConnectionsPerEndpoint: U32(),
}, L);

const policy = obj({
  name: str({ minLength: 1 }),
  targets: strs(),
  cors: cors.opt(),
  rateLimit: obj({ requestsPerSecond: U32(), burst: U32(), key: S() }, L).opt(),
  ipAllow: obj({ cidrs: strs() }, L).opt(),
  ipDeny: obj({ cidrs: strs() }, L).opt(),
  basicAuth: obj({ realm: S(), htpasswd: strs() }, L).opt(),
  jwt: obj({
    issuer: S(),
    audiences: strs(),
    jwksJson: S(),
    jwksUri: S(),
    jwksCaPem: str({ minLength: 1 }).opt(),
  }, L).opt(),
  requestHeaders: headerModifier.opt(),
  responseHeaders: headerModifier.opt(),
  apiKey: obj({ header: S(), queryParam: S(), keySha256: strs() }, L).opt(),
  connectionLimit: obj({ perClientIp: U32() }, L).opt(),
}, L);

const vip = obj({
  name: str({ minLength: 1 }),
  address: str({ minLength: 1 }),
  mode: enumOf(["L2", "BGP", "OSPF"]),
  nodes: strs(),
  gateways: strs(),
  bgp: obj({
    localAsn: U32(),
    routerId: S(),
    peers: list(
      obj({ address: str({ minLength: 1 }), asn: U32(), port: U32(), holdTimeSeconds: U32() }, L),
    ),
    communities: strs(),
    localPref: U32(),
  }, L).opt(),
  ospf: obj({ area: S(), cost: U32(), routerId: S() }, L).opt(),
  interface: S(),
}, L);

const secret = obj({
  name: str({ minLength: 1 }),
  certPem: S(),
  keyPem: S(),
  dnsNames: strs(),
  caPem: S(),
}, L);

const snapshotSchema = obj({
  version: S(),
  listeners: list(listener),
  routes: list(route),
  clusters: list(cluster),
  vips: list(vip),
  policies: list(policy),
  secrets: list(secret),
}, L);

/** Thrown when a snapshot does not validate; `errors` name the fields. */
export class SnapshotValidationError extends Error {
  override name = "SnapshotValidationError";
  constructor(readonly errors: readonly { field: string; message: string }[]) {
    super(
      `invalid snapshot: ${
        errors.slice(0, 5).map((e) => `${e.field || "<root>"}: ${e.message}`).join("; ")
      }${errors.length > 5 ? ` (+${errors.length - 5} more)` : ""}`,
    );
  }
}

function uniqueNames(
  items: readonly { name: string }[],
  field: string,
  errs: { field: string; message: string }[],
): Set<string> {
  const seen = new Set<string>();
  items.forEach((x, i) => {
    if (seen.has(x.name)) {
      errs.push({
        field: `${field}[${i}].name`,
        message: `duplicate name ${JSON.stringify(x.name)}`,
      });
    }
    seen.add(x.name);
  });
  return seen;
}

/**
 * protobufjs / @grpc/proto-loader camel-case `consecutive_5xx` as
 * "consecutive_5xx" (no letter after the underscore); accept that spelling.
 */
function normalizeAliases(s: unknown): unknown {
  if (typeof s !== "object" || s === null) return s;
  let out = s as Record<string, unknown>;
  const clusters = out.clusters;
  if (Array.isArray(clusters)) {
    out = {
      ...out,
      clusters: clusters.map((c0) => {
        // Proto3 cannot tell an empty list from unset: no subjectAltNames means none.
        const t = (c0 as { tls?: Record<string, unknown> } | null)?.tls;
        const c = t && typeof t === "object" && Array.isArray(t.subjectAltNames) &&
            t.subjectAltNames.length === 0
          ? { ...c0 as object, tls: (({ subjectAltNames: _s, ...rest }) => rest)(t) }
          : c0;
        const od = (c as { outlierDetection?: Record<string, unknown> } | null)?.outlierDetection;
        if (!od || typeof od !== "object" || !("consecutive_5xx" in od)) return c;
        const { consecutive_5xx, ...rest } = od;
        return { ...c, outlierDetection: { consecutive5xx: consecutive_5xx, ...rest } };
      }),
    };
  }
  // Proto3 cannot tell an empty string from unset: extensionRef "" means none.
  const fixFilters = (fs: unknown) =>
    Array.isArray(fs)
      ? fs.map((f) => {
        if (
          typeof f !== "object" || f === null || (f as Record<string, unknown>).extensionRef !== ""
        ) {
          return f;
        }
        const { extensionRef: _e, ...rest } = f as Record<string, unknown>;
        return rest;
      })
      : fs;
  const routes = out.routes;
  if (Array.isArray(routes)) {
    out = {
      ...out,
      routes: routes.map((r) => {
        if (typeof r !== "object" || r === null) return r;
        const rr = r as Record<string, unknown>;
        return {
          ...rr,
          filters: fixFilters(rr.filters),
          backends: Array.isArray(rr.backends)
            ? rr.backends.map((b) =>
              typeof b === "object" && b !== null
                ? { ...b, filters: fixFilters((b as Record<string, unknown>).filters) }
                : b
            )
            : rr.backends,
        };
      }),
    };
  }
  // Proto3 cannot tell an empty string from unset: jwt.jwksCaPem "" means none.
  const policies = out.policies;
  if (Array.isArray(policies)) {
    out = {
      ...out,
      policies: policies.map((p) => {
        const j = (p as { jwt?: Record<string, unknown> } | null)?.jwt;
        if (!j || typeof j !== "object" || j.jwksCaPem !== "") return p;
        const { jwksCaPem: _c, ...rest } = j;
        return { ...p as object, jwt: rest };
      }),
    };
  }
  return out;
}

/**
 * Validates untrusted data into a Snapshot (proto3 defaults filled, nulls read
 * as unset). Checks names are unique, every reference (listener, cluster,
 * secret, policy) resolves, and — when `opts.checkVersion` — that the version
 * is the content hash. Throws SnapshotValidationError.
 */
export function validateSnapshot(s: unknown, opts: { checkVersion?: boolean } = {}): Snapshot {
  const r = parseWith(snapshotSchema, normalizeAliases(s));
  if (!r.ok) throw new SnapshotValidationError(r.errors);
  const snap: Snapshot = r.value;
  const errs: { field: string; message: string }[] = [];
  const listeners = uniqueNames(snap.listeners, "listeners", errs);
  const clusters = uniqueNames(snap.clusters, "clusters", errs);
  const secrets = uniqueNames(snap.secrets, "secrets", errs);
  const policies = uniqueNames(snap.policies, "policies", errs);
  uniqueNames(snap.routes, "routes", errs);
  uniqueNames(snap.vips, "vips", errs);
  snap.listeners.forEach((l, i) => {
    l.tls?.certificates.forEach((c, j) => {
      if (!secrets.has(c)) {
        errs.push({
          field: `listeners[${i}].tls.certificates[${j}]`,
          message: `unknown secret ${c}`,
        });
      }
    });
  });
  const checkFilters = (fs: Snapshot["routes"][number]["filters"], field: string) =>
    fs.forEach((f, k) => {
      if (f.extensionRef && !policies.has(f.extensionRef)) {
        errs.push({
          field: `${field}[${k}].extensionRef`,
          message: `unknown policy ${f.extensionRef}`,
        });
      }
      if (f.requestMirror && !clusters.has(f.requestMirror.cluster)) {
        errs.push({
          field: `${field}[${k}].requestMirror.cluster`,
          message: `unknown cluster ${f.requestMirror.cluster}`,
        });
      }
    });
  snap.routes.forEach((rt, i) => {
    rt.listeners.forEach((l, j) => {
      if (!listeners.has(l)) {
        errs.push({ field: `routes[${i}].listeners[${j}]`, message: `unknown listener ${l}` });
      }
    });
    rt.backends.forEach((b, j) => {
      if (!clusters.has(b.cluster) && !isFailCluster(b.cluster)) {
        errs.push({
          field: `routes[${i}].backends[${j}].cluster`,
          message: `unknown cluster ${b.cluster}`,
        });
      }
      checkFilters(b.filters, `routes[${i}].backends[${j}].filters`);
    });
    checkFilters(rt.filters, `routes[${i}].filters`);
    rt.policies.forEach((p, j) => {
      if (!policies.has(p)) {
        errs.push({ field: `routes[${i}].policies[${j}]`, message: `unknown policy ${p}` });
      }
    });
  });
  snap.clusters.forEach((c, i) => {
    if (c.tls?.clientCert && !secrets.has(c.tls.clientCert)) {
      errs.push({
        field: `clusters[${i}].tls.clientCert`,
        message: `unknown secret ${c.tls.clientCert}`,
      });
    }
  });
  if (opts.checkVersion && snap.version !== snapshotVersion(snap)) {
    errs.push({
      field: "version",
      message: `${snap.version} is not the content hash ${snapshotVersion(snap)}`,
    });
  }
  if (errs.length) throw new SnapshotValidationError(errs);
  return snap;
}
