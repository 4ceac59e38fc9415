/** Pod events as a kubelet and scheduler record them (so `kubectl describe pod` tells the story). */
import type { KubeApi } from "../api.ts";
import type { Pod } from "./types.ts";

/** Record one event about `pod`; failures are ignored (events are best effort, as in Kubernetes). */
export function podEvent(
  api: KubeApi,
  pod: Pod,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  component: "kubelet" | "default-scheduler",
  host?: string,
  fieldPath?: string,
): void {
  const m = pod.metadata;
  const t = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce(
    (s, n) => s + n.toString(16),
    "",
  );
  void api.create(`/api/v1/namespaces/${m.namespace}/events`, {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${m.name}.${suffix}`, namespace: m.namespace },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      fieldPath,
    },
    reason,
    message,
    type,
    source: { component, host },
    reportingComponent: component,
    reportingInstance: host ?? component,
    firstTimestamp: t,
    lastTimestamp: t,
    count: 1,
  }).catch(() => undefined);
}
