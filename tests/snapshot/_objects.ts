/**
 * Kubernetes objects the pipeline-to-data-plane tests feed to runPipeline: a
 * Service and the EndpointSlice placing it on a loopback port.
 */
import type { KubeObject } from "../../src/store/types.ts";

/** Service `ns/name` on `servicePort`, served by 127.0.0.1:`endpointPort`. */
export function loopbackService(
  ns: string,
  name: string,
  servicePort: number,
  endpointPort: number,
): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns },
      spec: { ports: [{ port: servicePort }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: `${name}-1`,
        namespace: ns,
        labels: { "kubernetes.io/service-name": name },
      },
      addressType: "IPv4",
      ports: [{ port: endpointPort }],
      endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
    } as KubeObject,
  ];
}
