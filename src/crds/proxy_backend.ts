/**
 * ProxyBackend: an upstream pool. Either a Service reference (+ port by number
 * or name, endpoints from EndpointSlices) or static endpoints; load balancing,
 * upstream protocol and TLS, timeouts, and room for health checks, outlier
 * detection and circuit breaking.
 */
import { arr, bool, enumOf, int, intOrString, obj, str } from "./schema.ts";
import type { Infer } from "./schema.ts";
import { caRef, duration, headerName, objectName, port, secretRef, sectionName } from "./common.ts";
import { isIP } from "node:net";
import type { CrdDef } from "./crd_def.ts";

export const LB_POLICIES = [
  "RoundRobin",
  "WeightedRoundRobin",
  "Random",
  "LeastRequest",
  "RingHash",
  "Maglev",
] as const;

/** Static endpoint: an IP address or DNS name, and a port. */
const staticEndpoint = obj({
  address: str({ minLength: 1, maxLength: 253 }).check((a) =>
    isIP(a) !== 0 || /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(a)
      ? undefined
      : `${JSON.stringify(a)} is not an IP address or DNS name`
  ),
  port: port(),
  weight: int({ min: 0, max: 1000000 }).default(1),
  zone: str({ maxLength: 63 }).opt(),
  node: str({ maxLength: 253 }).opt(),
});

export const proxyBackendSpec = obj({
  service: obj({
    name: objectName(),
    namespace: sectionName().opt(),
    port: intOrString().check((p) =>
      typeof p === "number" && (p < 1 || p > 65535)
        ? `must be a port number 1..65535 or a port name, got ${p}`
        : undefined
    ),
  }).opt(),
  endpoints: arr(staticEndpoint, { minItems: 1, maxItems: 1024 }).opt(),
  protocol: enumOf(["HTTP", "HTTPS", "H2C", "GRPC"], {
    description: "HTTP = HTTP/1.1, HTTPS = HTTP/1.1 or h2 over TLS, H2C = HTTP/2 cleartext, GRPC",
  }).default("HTTP"),
  tls: obj({
    sni: str({ maxLength: 253 }).opt(),
    caCertificateRef: caRef().opt(),
    subjectAltNames: arr(str({ minLength: 1, maxLength: 253 }), {
      maxItems: 16,
      description:
        "names the upstream certificate must carry (any one) instead of the SNI name: a hostname (DNS SAN, wildcards allowed in the certificate) or a URI with :// (URI SAN, exact); empty = the SNI name (or address)",
    }).opt(),
    insecureSkipVerify: bool().default(false),
    clientCertificateRef: secretRef().opt(),
  }).opt(),
  loadBalancing: obj({
    policy: enumOf(LB_POLICIES).default("RoundRobin"),
    hashOn: obj({
      header: headerName().opt(),
      cookie: str({ minLength: 1, maxLength: 128 }).opt(),
      sourceIP: bool().opt(),
    }, { oneOf: ["header", "cookie", "sourceIP"], oneRequired: true })
      .cel(
        "(has(self.header) ? 1 : 0) + (has(self.cookie) ? 1 : 0) + (has(self.sourceIP) ? 1 : 0) == 1",
        "exactly one of header, cookie or sourceIP",
      )
      .opt(),
    sessionAffinity: obj({
      cookie: str({ minLength: 1, maxLength: 128 }),
      ttl: duration().opt(),
    }).opt(),
  }).check((lb) =>
    lb.hashOn !== undefined && lb.policy !== "RingHash" && lb.policy !== "Maglev"
      ? `hashOn needs policy RingHash or Maglev, not ${lb.policy}`
      : undefined
  ).cel(
    "!has(self.hashOn) || (has(self.policy) && self.policy in ['RingHash', 'Maglev'])",
    "hashOn needs policy RingHash or Maglev",
  ).opt(),
  timeouts: obj({
    connect: duration().opt(),
    request: duration().opt(),
    idle: duration().opt(),
  }).opt(),
  hostRewrite: str({ minLength: 1, maxLength: 253 }).opt(),
  healthCheck: obj({
    path: str({ minLength: 1, maxLength: 1024, pattern: "^/", patternName: "path" }).default(
      "/",
    ),
    interval: duration().opt(),
    timeout: duration().opt(),
    healthyThreshold: int({ min: 1, max: 100 }).default(2),
    unhealthyThreshold: int({ min: 1, max: 100 }).default(3),
    expectedStatuses: arr(int({ min: 100, max: 599 }), { maxItems: 32 }).opt(),
  }).opt(),
  outlierDetection: obj({
    consecutive5xx: int({ min: 1, max: 1000 }).default(5),
    interval: duration().opt(),
    baseEjectionTime: duration().opt(),
    maxEjectionPercent: int({ min: 0, max: 100 }).default(50),
  }).opt(),
  circuitBreaker: obj({
    maxConnections: int({ min: 0, max: 1000000 }).opt(),
    maxPendingRequests: int({ min: 0, max: 1000000 }).opt(),
    maxRequests: int({ min: 0, max: 1000000 }).opt(),
    maxRetries: int({ min: 0, max: 1000000 }).opt(),
  }).opt(),
  maxConnectionsPerEndpoint: int({ min: 0, max: 100000 }).opt(),
}, { oneOf: ["service", "endpoints"], oneRequired: true })
  .cel(
    "has(self.service) != has(self.endpoints)",
    "exactly one of service or endpoints must be set",
  );

export type ProxyBackendSpec = Infer<typeof proxyBackendSpec>;

export const proxyBackendCrd: CrdDef<ProxyBackendSpec> = {
  kind: "ProxyBackend",
  plural: "proxybackends",
  singular: "proxybackend",
  shortNames: ["pbe"],
  categories: ["novaedge"],
  scope: "Namespaced",
  description: "An upstream pool: Service or static endpoints, protocol, load balancing.",
  spec: proxyBackendSpec,
  statusExtra: {
    readyEndpoints: { type: "integer", format: "int32" },
  },
  printerColumns: [
    { name: "Protocol", type: "string", jsonPath: ".spec.protocol" },
    { name: "Service", type: "string", jsonPath: ".spec.service.name" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyEndpoints" },
    {
      name: "ResolvedRefs",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="ResolvedRefs")].status',
    },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
