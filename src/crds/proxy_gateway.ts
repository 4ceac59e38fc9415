/**
 * ProxyGateway: where NovaEdge listens. Shaped like Gateway API's Gateway
 * (listeners with name/port/protocol/hostname/tls/allowedRoutes) so a Gateway
 * translates to it almost field for field.
 */
import { arr, enumOf, int, obj, str } from "./schema.ts";
import type { Infer } from "./schema.ts";
import {
  caRef,
  conditionSchema,
  duration,
  hostname,
  ipAddress,
  labelSelector,
  port,
  secretRef,
  sectionName,
} from "./common.ts";
import type { CrdDef } from "./crd_def.ts";

export const LISTENER_PROTOCOLS = ["HTTP", "HTTPS", "TLS", "TCP", "UDP"] as const;

const listenerTls = obj({
  mode: enumOf(["Terminate", "Passthrough"]).default("Terminate"),
  certificateRefs: arr(secretRef(), { maxItems: 64 }).opt(),
  minVersion: enumOf(["1.2", "1.3"]).opt(),
  alpn: arr(str({ minLength: 1, maxLength: 32 }), { maxItems: 8 }).opt(),
  clientValidation: obj({
    caCertificateRefs: arr(caRef(), {
      minItems: 1,
      maxItems: 16,
      description: "CA bundles (ConfigMap or Secret, key ca.crt) that verify client certificates",
    }),
    mode: enumOf(["AllowValidOnly", "AllowInsecureFallback"], {
      description:
        "AllowValidOnly refuses clients without a valid certificate; AllowInsecureFallback asks for one but lets every client in",
    }).default("AllowValidOnly"),
  }).opt(),
});

const listener = obj({
  name: sectionName(),
  port: port(),
  protocol: enumOf(LISTENER_PROTOCOLS),
  address: ipAddress().opt(),
  hostname: hostname().opt(),
  tls: listenerTls.opt(),
  allowedRoutes: obj({
    namespaces: obj({
      from: enumOf(["Same", "All", "Selector", "None"]).default("Same"),
      selector: labelSelector().opt(),
    }).check((n) =>
      n.from === "Selector" && n.selector === undefined
        ? 'from "Selector" needs a selector'
        : undefined
    ).cel(
      "!has(self.from) || self.from != 'Selector' || has(self.selector)",
      'from "Selector" needs a selector',
    )
      .opt(),
  }).opt(),
  limits: obj({
    maxHeaderBytes: int({ min: 1024, max: 1048576 }).opt(),
    maxHeaders: int({ min: 1, max: 1000 }).opt(),
    maxBodyBytes: int({ min: 0, max: Number.MAX_SAFE_INTEGER, format: "int64" }).opt(),
    headerTimeout: duration().opt(),
    idleTimeout: duration().opt(),
    maxConcurrentStreams: int({ min: 1, max: 100000 }).opt(),
  }).opt(),
}).check((l) => {
  const needsTls = l.protocol === "HTTPS" || l.protocol === "TLS";
  if (needsTls && l.tls === undefined) return `protocol ${l.protocol} needs tls`;
  if (!needsTls && l.tls !== undefined) return `protocol ${l.protocol} does not take tls`;
  if (l.protocol === "HTTPS" && l.tls?.mode === "Passthrough") {
    return "protocol HTTPS cannot use tls.mode Passthrough (use protocol TLS)";
  }
  if (l.tls?.mode === "Terminate" && !(l.tls.certificateRefs?.length)) {
    return "tls.mode Terminate needs at least one certificateRef";
  }
  // HTTPS, or TLS terminating for TLSRoutes: a passthrough listener never sees the client certificate.
  if (l.tls?.clientValidation && l.tls.mode !== "Terminate") {
    return "tls.clientValidation needs tls.mode Terminate";
  }
  if ((l.protocol === "TCP" || l.protocol === "UDP") && l.hostname !== undefined) {
    return `protocol ${l.protocol} does not take a hostname`;
  }
  return undefined;
})
  .cel(
    "self.protocol in ['HTTPS', 'TLS'] == has(self.tls)",
    "protocols HTTPS and TLS need tls; others take none",
  )
  .cel(
    "!(self.protocol == 'HTTPS' && has(self.tls) && self.tls.mode == 'Passthrough')",
    "protocol HTTPS cannot use tls.mode Passthrough (use protocol TLS)",
  )
  .cel(
    "!has(self.tls) || self.tls.mode != 'Terminate' || (has(self.tls.certificateRefs) && size(self.tls.certificateRefs) > 0)",
    "tls.mode Terminate needs at least one certificateRef",
  )
  .cel(
    "!has(self.tls) || !has(self.tls.clientValidation) || self.tls.mode == 'Terminate'",
    "tls.clientValidation needs tls.mode Terminate",
  )
  .cel(
    "!(self.protocol in ['TCP', 'UDP'] && has(self.hostname))",
    "TCP and UDP listeners take no hostname",
  );

export const proxyGatewaySpec = obj({
  listeners: arr(listener, {
    minItems: 1,
    maxItems: 64,
    uniqueBy: "name",
    listType: "map",
    listMapKeys: ["name"],
  }),
});

export type ProxyGatewaySpec = Infer<typeof proxyGatewaySpec>;
export type ListenerSpec = ProxyGatewaySpec["listeners"][number];

export const proxyGatewayCrd: CrdDef<ProxyGatewaySpec> = {
  kind: "ProxyGateway",
  plural: "proxygateways",
  singular: "proxygateway",
  shortNames: ["pgw"],
  categories: ["novaedge"],
  scope: "Namespaced",
  description: "Listeners NovaEdge agents bind (ports, protocols, hostnames, TLS).",
  spec: proxyGatewaySpec,
  statusExtra: {
    addresses: {
      type: "array",
      items: {
        type: "object",
        properties: { type: { type: "string" }, value: { type: "string" } },
        required: ["value"],
      },
    },
    listeners: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          attachedRoutes: { type: "integer", format: "int32" },
          conditions: { type: "array", items: conditionSchema().openapi() },
        },
        required: ["name", "attachedRoutes", "conditions"],
      },
    },
  },
  printerColumns: [
    { name: "Ports", type: "string", jsonPath: ".spec.listeners[*].port" },
    {
      name: "Accepted",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Accepted")].status',
    },
    {
      name: "Programmed",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Programmed")].status',
    },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
