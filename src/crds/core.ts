/**
 * The core Kubernetes kinds the builder reads (Service, EndpointSlice, Secret,
 * Node, ReferenceGrant), parsed leniently: unknown fields are ignored because
 * these objects come from the API server or from users' existing manifests.
 */
import { arr, bool, enumOf, int, intOrString, obj, str, stringMap } from "./schema.ts";
import type { Infer } from "./schema.ts";

const lenient = { strict: false } as const;

export const serviceSpec = obj({
  type: enumOf(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]).default("ClusterIP"),
  externalName: str().opt(),
  ports: arr(
    obj({
      name: str().opt(),
      port: int({ min: 1, max: 65535 }),
      targetPort: intOrString().opt(),
      protocol: enumOf(["TCP", "UDP", "SCTP"]).default("TCP"),
      appProtocol: str().opt(),
    }, lenient),
  ).default([]),
}, lenient);
export type ServiceSpec = Infer<typeof serviceSpec>;

export const endpointSliceBody = obj({
  addressType: enumOf(["IPv4", "IPv6", "FQDN"]),
  endpoints: arr(
    obj({
      addresses: arr(str({ minLength: 1 }), { minItems: 1 }),
      conditions: obj({
        ready: bool().opt(),
        serving: bool().opt(),
        terminating: bool().opt(),
      }, lenient).opt(),
      nodeName: str().opt(),
      zone: str().opt(),
    }, lenient),
  ).default([]),
  ports: arr(
    obj({
      name: str().opt(),
      port: int({ min: 1, max: 65535 }).opt(),
      protocol: enumOf(["TCP", "UDP", "SCTP"]).default("TCP"),
    }, lenient),
  ).default([]),
}, lenient);
export type EndpointSliceBody = Infer<typeof endpointSliceBody>;

export const secretBody = obj({
  type: str().default("Opaque"),
  data: stringMap().default({}),
  stringData: stringMap().default({}),
}, lenient);

export const referenceGrantSpec = obj({
  from: arr(obj({ group: str(), kind: str(), namespace: str() }, lenient), { minItems: 1 }),
  to: arr(obj({ group: str(), kind: str(), name: str().opt() }, lenient), { minItems: 1 }),
}, lenient);
export type ReferenceGrantSpec = Infer<typeof referenceGrantSpec>;
