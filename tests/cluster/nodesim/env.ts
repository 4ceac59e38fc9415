/**
 * A container's environment, resolved the way a kubelet does: `envFrom`, then `env`
 * in order with `$(VAR)` expansion, the downward API (`fieldRef`,
 * `resourceFieldRef`), and ConfigMap / Secret keys read through the API server.
 */
import type { KubeApi } from "../api.ts";
import type { Container, Pod } from "./types.ts";

const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

interface DataObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

function decodeB64(s: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
}

/** Read a ConfigMap's or Secret's data as strings; undefined when it does not exist. */
export async function readData(
  api: KubeApi,
  ns: string,
  kind: "configmaps" | "secrets",
  name: string,
): Promise<Record<string, string> | undefined> {
  const obj = await api.tryGet<DataObject>(`/api/v1/namespaces/${ns}/${kind}/${name}`);
  if (!obj) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj.data ?? {})) {
    out[k] = kind === "secrets" ? decodeB64(v) : v;
  }
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) out[k] = decodeB64(v);
  return out;
}

/** Resolve a downward-API field path against the pod. */
export function fieldValue(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace ?? "default";
    case "metadata.uid":
      return pod.metadata.uid;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "default";
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.hostIPs":
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(",");
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(",");
    default:
      throw new Error(`unsupported fieldRef ${path}`);
  }
}

function resourceValue(pod: Pod, c: Container, resource: string, containerName?: string): string {
  const target = containerName ? pod.spec.containers.find((x) => x.name === containerName) ?? c : c;
  const [kind, name] = resource.split(".");
  const v = (kind === "limits" ? target.resources?.limits : target.resources?.requests)?.[name];
  if (v !== undefined) {
    if (name === "cpu") return String(Math.max(1, Math.ceil(parseCpu(v))));
    return v;
  }
  // Unset limits default to the node's allocatable, like a kubelet.
  if (name === "cpu") return String(navigator.hardwareConcurrency ?? 2);
  if (name === "memory") return String(Deno.systemMemoryInfo().total);
  return "0";
}

function parseCpu(v: string): number {
  return v.endsWith("m") ? Number(v.slice(0, -1)) / 1000 : Number(v);
}

function expand(s: string, env: Record<string, string>): string {
  // $(VAR) expands to a defined variable; $$(VAR) escapes to a literal $(VAR).
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name?: string) => {
    if (all === "$$") return "$";
    return name !== undefined && name in env ? env[name] : all;
  });
}

/** Expand `$(VAR)` references in command/args with the container's environment. */
export function expandAll(
  list: string[] | undefined,
  env: Record<string, string>,
): string[] | undefined {
  return list?.map((s) => expand(s, env));
}

/** The full environment for one container. */
export async function containerEnv(
  api: KubeApi,
  pod: Pod,
  c: Container,
): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? "default";
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
  };
  for (const src of c.envFrom ?? []) {
    const ref = src.configMapRef ?? src.secretRef;
    if (!ref) continue;
    const kind = src.configMapRef ? "configmaps" : "secrets";
    const data = await readData(api, ns, kind, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new Error(`${kind === "configmaps" ? "configmap" : "secret"} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${src.prefix ?? ""}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expand(e.value, env);
      continue;
    }
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = "";
    } else if (vf.fieldRef) {
      env[e.name] = fieldValue(pod, vf.fieldRef.fieldPath);
    } else if (vf.resourceFieldRef) {
      env[e.name] = resourceValue(
        pod,
        c,
        vf.resourceFieldRef.resource,
        vf.resourceFieldRef.containerName,
      );
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const kind = vf.configMapKeyRef ? "configmaps" : "secrets";
      const data = await readData(api, ns, kind, ref.name);
      const v = data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new Error(`couldn't find key ${ref.key} in ${kind.slice(0, -1)} ${ns}/${ref.name}`);
      }
      env[e.name] = v;
    }
  }
  return env;
}
