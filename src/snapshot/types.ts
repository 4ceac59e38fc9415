/**
 * TypeScript shape of `proto/novaedge/v1/snapshot.proto` (field names in
 * camelCase, as @grpc/proto-loader and protobufjs produce them). The builder
 * fills every scalar; sub-messages are optional only where the proto says "unset
 * means off". Durations are milliseconds, 0 meaning "use the default".
 */

export interface Snapshot {
  readonly version: string;
  readonly listeners: readonly Listener[];
  readonly routes: readonly Route[];
  readonly clusters: readonly Cluster[];
  readonly vips: readonly Vip[];
  readonly policies: readonly Policy[];
  readonly secrets: readonly SecretEntry[];
}

export type ListenerProtocol = "HTTP" | "HTTPS" | "TLS" | "TCP" | "UDP";

export interface Listener {
  readonly name: string;
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: ListenerProtocol;
  readonly hostnames: readonly string[];
  readonly tls?: ListenerTls;
  readonly limits?: ListenerLimits;
}

export interface ListenerTls {
  readonly mode: "Terminate" | "Passthrough";
  readonly certificates: readonly string[];
  readonly minVersion: string;
  readonly alpn: readonly string[];
  /** Client certificates are requested and checked against a CA (mTLS) when set. */
  readonly clientValidation?: ClientValidation;
}

/**
 * Frontend client-certificate validation (Gateway API `spec.tls.frontend`):
 * AllowValidOnly refuses the handshake without a certificate the CA bundle
 * verifies; AllowInsecureFallback asks for one but lets any client through.
 */
export interface ClientValidation {
  /** PEM CA bundle (one or more certificates). */
  readonly caPem: string;
  readonly mode: "AllowValidOnly" | "AllowInsecureFallback";
}

export interface ListenerLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaders: number;
  readonly maxBodyBytes: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConcurrentStreams: number;
}

export interface SecretEntry {
  readonly name: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly dnsNames: readonly string[];
  readonly caPem: string;
}

export interface Route {
  readonly name: string;
  readonly listeners: readonly string[];
  readonly hostnames: readonly string[];
  readonly matches: readonly RouteMatch[];
  readonly filters: readonly Filter[];
  readonly backends: readonly WeightedCluster[];
  readonly timeouts?: Timeouts;
  readonly retry?: Retry;
  readonly l4Protocol: "" | "TCP" | "TLS" | "UDP";
  readonly maxBodyBytes: number;
  readonly policies: readonly string[];
  readonly orderKey: string;
}

export type PathMatchType = "Exact" | "PathPrefix" | "RegularExpression";
export type KeyMatchType = "Exact" | "RegularExpression";

export interface RouteMatch {
  readonly path?: PathMatch;
  readonly headers: readonly KeyMatch[];
  readonly queryParams: readonly KeyMatch[];
  readonly method: string;
}

export interface PathMatch {
  readonly type: PathMatchType;
  readonly value: string;
}

export interface KeyMatch {
  readonly type: KeyMatchType;
  readonly name: string;
  readonly value: string;
}

/**
 * Prefix of a WeightedCluster `cluster` that deliberately names no cluster: the
 * backend reference could not be resolved, so its share of requests is
 * answered with 500 by the data plane (which answers 500 for any cluster
 * missing from `clusters`). The validator accepts these names.
 */
export const FAIL_CLUSTER_PREFIX = "unresolved:";

/** Is `name` a fail cluster (an unresolvable backend's share; see FAIL_CLUSTER_PREFIX)? */
export function isFailCluster(name: string): boolean {
  return name.startsWith(FAIL_CLUSTER_PREFIX);
}

export interface WeightedCluster {
  readonly cluster: string;
  readonly weight: number;
  readonly filters: readonly Filter[];
}

export interface Timeouts {
  readonly requestMs: number;
  readonly backendRequestMs: number;
}

export interface Retry {
  readonly attempts: number;
  readonly codes: readonly number[];
  readonly perTryTimeoutMs: number;
  readonly backoffMs: number;
  readonly retryNonIdempotent: boolean;
  readonly on: readonly string[];
}

export type FilterType =
  | "RequestHeaderModifier"
  | "ResponseHeaderModifier"
  | "RequestRedirect"
  | "URLRewrite"
  | "RequestMirror"
  | "CORS"
  | "ExtensionRef";

export interface Filter {
  readonly type: FilterType;
  readonly requestHeaderModifier?: HeaderModifier;
  readonly responseHeaderModifier?: HeaderModifier;
  readonly requestRedirect?: Redirect;
  readonly urlRewrite?: Rewrite;
  readonly requestMirror?: Mirror;
  readonly cors?: Cors;
  readonly extensionRef?: string;
}

export interface HeaderModifier {
  readonly set: readonly Header[];
  readonly add: readonly Header[];
  readonly remove: readonly string[];
}

export interface Header {
  readonly name: string;
  readonly value: string;
}

export interface Redirect {
  readonly scheme: string;
  readonly hostname: string;
  readonly port: number;
  readonly path?: PathModifier;
  readonly statusCode: number;
}

export interface Rewrite {
  readonly hostname: string;
  readonly path?: PathModifier;
}

export interface PathModifier {
  readonly type: "ReplaceFullPath" | "ReplacePrefixMatch";
  readonly value: string;
}

export interface Mirror {
  readonly cluster: string;
  readonly percent: number;
}

export interface Cors {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

export type UpstreamProtocol = "HTTP" | "H2C" | "GRPC";
export type LbPolicy =
  | "RoundRobin"
  | "WeightedRoundRobin"
  | "Random"
  | "LeastRequest"
  | "RingHash"
  | "Maglev";

export interface Cluster {
  readonly name: string;
  readonly protocol: UpstreamProtocol;
  readonly tls?: UpstreamTls;
  readonly lb: LoadBalancing;
  readonly endpoints: readonly Endpoint[];
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly hostRewrite: string;
  readonly healthCheck?: HealthCheck;
  readonly outlierDetection?: OutlierDetection;
  readonly circuitBreaker?: CircuitBreaker;
  readonly maxConnectionsPerEndpoint: number;
}

export interface UpstreamTls {
  readonly sni: string;
  readonly caPem: string;
  readonly insecureSkipVerify: boolean;
  readonly clientCert: string;
  /**
   * Names the upstream certificate must carry (any one), instead of the SNI
   * name. Unset when empty (proto3 cannot tell the two apart).
   */
  readonly subjectAltNames?: readonly string[];
}

export interface LoadBalancing {
  readonly policy: LbPolicy;
  readonly hashOn?: HashOn;
  readonly sessionAffinity?: CookieAffinity;
}

export interface HashOn {
  readonly header: string;
  readonly cookie: string;
  readonly sourceIp: boolean;
}

export interface CookieAffinity {
  readonly cookie: string;
  readonly ttlSeconds: number;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly ready: boolean;
  readonly node: string;
  readonly zone: string;
}

export interface HealthCheck {
  readonly path: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly expectedStatuses: readonly number[];
}

export interface OutlierDetection {
  readonly consecutive5xx: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionPercent: number;
}

export interface CircuitBreaker {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface Policy {
  readonly name: string;
  readonly targets: readonly string[];
  readonly cors?: Cors;
  readonly rateLimit?: RateLimit;
  readonly ipAllow?: IpList;
  readonly ipDeny?: IpList;
  readonly basicAuth?: BasicAuth;
  readonly jwt?: Jwt;
  readonly requestHeaders?: HeaderModifier;
  readonly responseHeaders?: HeaderModifier;
  readonly apiKey?: ApiKeyAuth;
  readonly connectionLimit?: ConnectionLimit;
}

/**
 * Concurrent requests in progress (an HTTP/2 stream each; an upgraded
 * connection for its lifetime), counted per policy; over the limit → 503.
 */
export interface ConnectionLimit {
  /** At most this many per client address (0 = no limit). */
  readonly perClientIp: number;
}

/** API-key auth: the key is read from `header` or `queryParam`; only hashes travel. */
export interface ApiKeyAuth {
  readonly header: string;
  readonly queryParam: string;
  readonly keySha256: readonly string[];
}

export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly burst: number;
  readonly key: string;
}

export interface IpList {
  readonly cidrs: readonly string[];
}

export interface BasicAuth {
  readonly realm: string;
  readonly htpasswd: readonly string[];
}

export interface Jwt {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly jwksJson: string;
  readonly jwksUri: string;
  /** PEM CA bundle verifying the jwksUri server instead of the default roots (absent = default). */
  readonly jwksCaPem?: string;
}

export interface Vip {
  readonly name: string;
  readonly address: string;
  readonly mode: "L2" | "BGP" | "OSPF";
  readonly nodes: readonly string[];
  readonly gateways: readonly string[];
  readonly bgp?: BgpConfig;
  readonly ospf?: OspfConfig;
  readonly interface: string;
}

export interface BgpConfig {
  readonly localAsn: number;
  readonly routerId: string;
  readonly peers: readonly BgpPeer[];
  readonly communities: readonly string[];
  readonly localPref: number;
}

export interface BgpPeer {
  readonly address: string;
  readonly asn: number;
  readonly port: number;
  readonly holdTimeSeconds: number;
}

export interface OspfConfig {
  readonly area: string;
  readonly cost: number;
  readonly routerId: string;
}
