/**
 * ProxyPolicy: cross-cutting behaviour attached by targetRef (Gateway API policy
 * attachment, same namespace): auth (basic, API key, JWT), rate limits, CORS,
 * IP allow/deny lists, per-client concurrency limits and header edits.
 */
import { arr, enumOf, int, obj, str } from "./schema.ts";
import type { Infer } from "./schema.ts";
import {
  caRef,
  cidr,
  corsSpec,
  headerModifier,
  headerName,
  objectName,
  sectionName,
} from "./common.ts";
import type { CrdDef } from "./crd_def.ts";

export const POLICY_TARGET_KINDS = ["ProxyGateway", "ProxyRoute", "ProxyBackend"] as const;

const localSecretKeyRef = () =>
  obj({
    name: objectName(),
    key: str({ minLength: 1, maxLength: 253 }).opt(),
  });

/** Why jwt.jwksCaCertificateRef was refused (CEL and parse check say the same). */
export const JWKS_CA_MESSAGE =
  "jwksCaCertificateRef applies only to an https:// jwksUri (not to jwksSecretRef or http://)";

export const proxyPolicySpec = obj({
  targetRefs: arr(
    obj({
      group: enumOf(["novaedge.io"]).opt(),
      kind: enumOf(POLICY_TARGET_KINDS),
      name: objectName(),
      sectionName: sectionName().opt(),
    }),
    { minItems: 1, maxItems: 16 },
  ),
  cors: corsSpec().opt(),
  rateLimit: obj({
    requestsPerSecond: int({ min: 1, max: 10000000 }),
    burst: int({ min: 0, max: 10000000 }).opt(),
    key: str({
      maxLength: 300,
      pattern: "^(|source-ip|header:[A-Za-z0-9!#$%&'*+\\-.^_`|~]+)$",
      patternName: 'rate-limit key ("", "source-ip" or "header:<name>")',
    }).opt(),
  }).opt(),
  connectionLimit: obj({
    perClientIp: int({
      min: 1,
      max: 1000000,
      description: "At most this many requests in progress at once from one client address " +
        "(an HTTP/2 stream counts as one, a WebSocket for its lifetime); more are answered 503.",
    }),
  }).opt(),
  ipAllow: arr(cidr(), { maxItems: 1024 }).opt(),
  ipDeny: arr(cidr(), { maxItems: 1024 }).opt(),
  basicAuth: obj({
    realm: str({ maxLength: 256 }).opt(),
    secretRef: localSecretKeyRef(),
  }).opt(),
  apiKey: obj({
    header: headerName().opt(),
    queryParam: str({ minLength: 1, maxLength: 128 }).opt(),
    secretRef: localSecretKeyRef(),
  }).opt(),
  jwt: obj({
    issuer: str({ minLength: 1, maxLength: 1024 }),
    audiences: arr(str({ minLength: 1, maxLength: 1024 }), { maxItems: 16 }).opt(),
    jwksUri: str({ maxLength: 2048, pattern: "^https?://", patternName: "http(s) URL" }).opt(),
    jwksSecretRef: localSecretKeyRef().opt(),
    // The CA bundle that verifies the jwksUri server (a private CA, e.g. an
    // in-cluster Keycloak or Dex): same reference shape and keys as
    // ProxyBackend spec.tls.caCertificateRef (Secret ca.crt / tls.crt, or
    // ConfigMap ca.crt); cross-namespace only with a ReferenceGrant.
    jwksCaCertificateRef: caRef().opt(),
  }, {
    oneOf: ["jwksUri", "jwksSecretRef"],
    oneRequired: true,
    description: "JWT bearer auth. Keys come from jwksUri (fetched by the data plane, cached, " +
      "re-fetched for an unknown kid, last good set kept; https; plain http only to loopback hosts " +
      "unless the agent has NOVAEDGE_JWKS_ALLOW_HTTP=1) or " +
      "from jwksSecretRef (a JWKS document in a Secret, key jwks.json). jwksCaCertificateRef " +
      "names the CA bundle of an https jwksUri served under a private CA (e.g. in-cluster " +
      "Keycloak or Dex): a Secret (ca.crt, else tls.crt) or a ConfigMap (ca.crt), trusted in " +
      "addition to the default roots; another namespace needs a ReferenceGrant. An unusable " +
      "bundle makes the policy Accepted=False and refuses every token on its targets.",
  })
    .check((j) =>
      j.jwksCaCertificateRef !== undefined && !j.jwksUri?.startsWith("https://")
        ? JWKS_CA_MESSAGE
        : undefined
    )
    .cel("has(self.jwksUri) != has(self.jwksSecretRef)", "exactly one of jwksUri or jwksSecretRef")
    .cel(
      "!has(self.jwksCaCertificateRef) || (has(self.jwksUri) && self.jwksUri.startsWith('https://'))",
      JWKS_CA_MESSAGE,
    )
    .opt(),
  requestHeaders: headerModifier().opt(),
  responseHeaders: headerModifier().opt(),
});

export type ProxyPolicySpec = Infer<typeof proxyPolicySpec>;

export const proxyPolicyCrd: CrdDef<ProxyPolicySpec> = {
  kind: "ProxyPolicy",
  plural: "proxypolicies",
  singular: "proxypolicy",
  shortNames: ["ppol"],
  categories: ["novaedge"],
  scope: "Namespaced",
  description:
    "Auth, rate and connection limits, CORS, IP lists and header edits attached to targets.",
  spec: proxyPolicySpec,
  statusExtra: {},
  printerColumns: [
    { name: "Targets", type: "string", jsonPath: ".spec.targetRefs[*].name" },
    {
      name: "Accepted",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
    },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
