/**
 * Public face of the load balancers: `createBalancer(cluster)` and helpers.
 */
export type { Balancer, BalancerFactory, Pick, PickContext } from "./types.ts";
export {
  affinityCookie,
  type BalancerOptions,
  type ClusterBalancerView,
  createBalancer,
  type EndpointStatus,
} from "./balancer.ts";
export { cookieValue } from "./cookie.ts";
export { endpointKey } from "./endpoints.ts";
export { fmix32, hash32 } from "./hash.ts";
export { hashKeyOf } from "./hash_key.ts";
export { buildMaglevTable, MAGLEV_TABLE_SIZE } from "./maglev.ts";
