/**
 * ProxyVIP: a virtual IP announced by agents, in L2 (ARP/NDP), BGP or OSPF mode,
 * restricted to nodes by a selector and tied to the gateways it fronts.
 */
import { arr, enumOf, int, obj, str } from "./schema.ts";
import type { Infer } from "./schema.ts";
import { cidrError, ipAddress, labelSelector, objectName, port, sectionName } from "./common.ts";
import type { CrdDef } from "./crd_def.ts";

/** ASN: 1..4294967295 (4-byte). */
const asn = () => int({ min: 1, max: 4294967295, format: "int64" });

export const proxyVipSpec = obj({
  address: str({ minLength: 1, maxLength: 64 }).check((a) =>
    cidrError(a) ?? (
      (a.includes(":") ? !a.endsWith("/128") : !a.endsWith("/32"))
        ? `${JSON.stringify(a)} must be a single address (/32 or /128)`
        : undefined
    )
  ),
  mode: enumOf(["L2", "BGP", "OSPF"]),
  gatewayRefs: arr(obj({ name: objectName(), namespace: sectionName().opt() }), {
    maxItems: 16,
  }).opt(),
  nodeSelector: labelSelector().opt(),
  interface: str({ minLength: 1, maxLength: 15 }).opt(),
  bgp: obj({
    localASN: asn(),
    routerID: ipAddress().opt(),
    peers: arr(
      obj({
        address: ipAddress(),
        asn: asn(),
        port: port().opt(),
        holdTime: str({ pattern: "^([0-9]{1,5}(h|m|s|ms)){1,4}$", patternName: "duration" })
          .opt(),
      }),
      { minItems: 1, maxItems: 32 },
    ),
    communities: arr(
      str({ pattern: "^[0-9]{1,5}:[0-9]{1,5}$", patternName: 'community ("asn:value")' }),
      { maxItems: 32 },
    ).opt(),
    localPref: int({ min: 0, max: 4294967295, format: "int64" }).opt(),
  }).opt(),
  ospf: obj({
    area: str({
      pattern: "^([0-9]+|[0-9]{1,3}(\\.[0-9]{1,3}){3})$",
      patternName: 'OSPF area ("0" or dotted "0.0.0.0")',
    }).default("0.0.0.0"),
    cost: int({ min: 1, max: 65535 }).opt(),
    routerID: ipAddress().opt(),
  }).opt(),
}).check((v) =>
  v.mode === "BGP" && v.bgp === undefined
    ? "mode BGP needs bgp"
    : v.mode !== "BGP" && v.bgp !== undefined
    ? `mode ${v.mode} does not take bgp`
    : v.mode === "OSPF" && v.ospf === undefined
    ? "mode OSPF needs ospf"
    : v.mode !== "OSPF" && v.ospf !== undefined
    ? `mode ${v.mode} does not take ospf`
    : undefined
)
  .cel("(self.mode == 'BGP') == has(self.bgp)", "mode BGP needs bgp; other modes take none")
  .cel("(self.mode == 'OSPF') == has(self.ospf)", "mode OSPF needs ospf; other modes take none");

export type ProxyVipSpec = Infer<typeof proxyVipSpec>;

export const proxyVipCrd: CrdDef<ProxyVipSpec> = {
  kind: "ProxyVIP",
  plural: "proxyvips",
  singular: "proxyvip",
  shortNames: ["pvip"],
  categories: ["novaedge"],
  scope: "Namespaced",
  description: "A virtual IP announced by NovaEdge agents (L2, BGP or OSPF).",
  spec: proxyVipSpec,
  statusExtra: {
    nodes: { type: "array", items: { type: "string" } },
  },
  printerColumns: [
    { name: "Address", type: "string", jsonPath: ".spec.address" },
    { name: "Mode", type: "string", jsonPath: ".spec.mode" },
    {
      name: "Programmed",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Programmed")].status',
    },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ],
};
