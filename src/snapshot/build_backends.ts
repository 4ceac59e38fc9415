/**
 * ProxyBackend → snapshot Clusters, and implicit clusters for routes that name
 * a Service + port directly. Services resolve through EndpointSlices (ready
 * endpoints only, ports matched by Service port name) or ExternalName.
 */
import type { Typed } from "../crds/mod.ts";
import { durationMs } from "../crds/common.ts";
import { endpointSliceBody, serviceSpec } from "../crds/core.ts";
import type { ServiceSpec } from "../crds/core.ts";
import { parseWith } from "../crds/schema.ts";
import type { BuildContext } from "./build_context.ts";
import type { Cluster, Endpoint, UpstreamProtocol, UpstreamTls } from "./types.ts";
import { cmp } from "./object_index.ts";
import { caBundle, tlsSecretEntry } from "./tls_secrets.ts";

/** Endpoints of Service "<ns>/<name>" for a port (number or name), or why there are none. */
export function serviceEndpoints(
  ctx: BuildContext,
  ns: string,
  name: string,
  port: number | string,
): { endpoints: Endpoint[]; appProtocol?: string } | { reason: string; message: string } {
  const svc = ctx.index.get("Service", `${ns}/${name}`);
  if (!svc) return { reason: "BackendNotFound", message: `Service ${ns}/${name} not found` };
  const sp = parseWith(serviceSpec, svc.spec ?? {});
  if (!sp.ok) {
    return {
      reason: "BackendNotFound",
      message: `Service ${ns}/${name} is invalid: ${sp.errors[0].field}: ${sp.errors[0].message}`,
    };
  }
  const spec: ServiceSpec = sp.value;
  const svcPort = spec.ports.find((p) =>
    typeof port === "number" ? p.port === port : p.name === port
  );
  if (spec.type === "ExternalName") {
    if (!spec.externalName) {
      return { reason: "BackendNotFound", message: `Service ${ns}/${name} has no externalName` };
    }
    const p = typeof port === "number" ? port : svcPort?.port;
    if (p === undefined) {
      return {
        reason: "BackendNotFound",
        message: `Service ${ns}/${name} has no port named ${port}`,
      };
    }
    return {
      endpoints: [{
        address: spec.externalName,
        port: p,
        weight: 1,
        ready: true,
        node: "",
        zone: "",
      }],
    };
  }
  if (!svcPort) {
    return {
      reason: "BackendNotFound",
      message: `Service ${ns}/${name} has no port ${
        typeof port === "number" ? port : `named ${port}`
      }`,
    };
  }
  const portName = svcPort.name ?? "";
  const seen = new Map<string, Endpoint>();
  for (const slice of ctx.index.slicesFor(`${ns}/${name}`)) {
    const b = parseWith(endpointSliceBody, slice);
    if (!b.ok) continue;
    const slicePort = b.value.ports.find((p) =>
      (p.name ?? "") === portName && p.protocol === svcPort.protocol
    );
    if (slicePort?.port === undefined) continue;
    for (const ep of b.value.endpoints) {
      if (ep.conditions?.ready === false) continue;
      for (const addr of ep.addresses) {
        const key = `${addr}:${slicePort.port}`;
        if (!seen.has(key)) {
          seen.set(key, {
            address: addr,
            port: slicePort.port,
            weight: 1,
            ready: true,
            node: ep.nodeName ?? "",
            zone: ep.zone ?? "",
          });
        }
      }
    }
  }
  const endpoints = [...seen.values()].sort((a, b) => cmp(a.address, b.address) || a.port - b.port);
  return { endpoints, ...(svcPort.appProtocol ? { appProtocol: svcPort.appProtocol } : {}) };
}

function emptyCluster(name: string, protocol: UpstreamProtocol, endpoints: Endpoint[]): Cluster {
  return {
    name,
    protocol,
    lb: { policy: "RoundRobin" },
    endpoints,
    connectTimeoutMs: 0,
    requestTimeoutMs: 0,
    idleTimeoutMs: 0,
    hostRewrite: "",
    maxConnectionsPerEndpoint: 0,
  };
}

/** Cluster name for a route's direct Service reference. */
export function serviceClusterName(ns: string, name: string, port: number): string {
  return `${ns}/Service/${name}:${port}`;
}

/**
 * The implicit cluster for a direct Service backendRef (created once, shared by
 * every route naming the same Service + port). Returns its name or an error.
 */
export function implicitServiceCluster(
  ctx: BuildContext,
  ns: string,
  name: string,
  port: number,
): { cluster: string } | { reason: string; message: string } {
  const cname = serviceClusterName(ns, name, port);
  if (ctx.clusters.has(cname)) return { cluster: cname };
  const r = serviceEndpoints(ctx, ns, name, port);
  if ("reason" in r) return r;
  const ap = (r.appProtocol ?? "").toLowerCase();
  const protocol: UpstreamProtocol = ap === "kubernetes.io/h2c" || ap === "h2c"
    ? "H2C"
    : ap === "grpc"
    ? "GRPC"
    : "HTTP";
  ctx.clusters.set(cname, emptyCluster(cname, protocol, r.endpoints));
  return { cluster: cname };
}

/** Builds a Cluster for each valid ProxyBackend and reports its status. */
export function buildBackends(ctx: BuildContext, backends: readonly Typed<"ProxyBackend">[]): void {
  for (const be of backends) {
    const st = ctx.status(be.source);
    const s = be.spec;
    const name = `${be.namespace}/${be.name}`;
    let endpoints: Endpoint[] = [];
    let resolved = true;
    if (s.service) {
      const ns = s.service.namespace ?? be.namespace;
      if (
        !ctx.refPermittedFrom(be.source, "", "Service", ns, s.service.name)
      ) {
        const msg =
          `Service ${ns}/${s.service.name} is in another namespace and no ReferenceGrant allows it`;
        st.set("ResolvedRefs", false, "RefNotPermitted", `spec.service: ${msg}`);
        ctx.error(be.source, "spec.service.namespace", msg);
        resolved = false;
      } else {
        const r = serviceEndpoints(ctx, ns, s.service.name, s.service.port);
        if ("reason" in r) {
          const field = r.message.includes("port") ? "spec.service.port" : "spec.service.name";
          st.set("ResolvedRefs", false, r.reason, `${field}: ${r.message}`);
          ctx.error(be.source, field, r.message);
          resolved = false;
        } else {
          endpoints = r.endpoints;
        }
      }
    } else {
      endpoints = (s.endpoints ?? []).map((e) => ({
        address: e.address,
        port: e.port,
        weight: e.weight,
        ready: true,
        node: e.node ?? "",
        zone: e.zone ?? "",
      })).sort((a, b) => cmp(a.address, b.address) || a.port - b.port);
    }
    // Upstream TLS: CA bundle inline, client certificate as a secret entry.
    let tls: UpstreamTls | undefined;
    if (s.tls || s.protocol === "HTTPS") {
      let caPem = "";
      let clientCert = "";
      const caRef = s.tls?.caCertificateRef;
      if (caRef) {
        const ns = caRef.namespace ?? be.namespace;
        const kind = caRef.kind ?? "Secret";
        const ca = caBundle(ctx.index, kind, ns, caRef.name);
        if (
          ns !== be.namespace && !ctx.refPermittedFrom(be.source, "", kind, ns, caRef.name)
        ) {
          const msg =
            `${kind} ${ns}/${caRef.name} is in another namespace and no ReferenceGrant allows it`;
          st.set("ResolvedRefs", false, "RefNotPermitted", `spec.tls.caCertificateRef: ${msg}`);
          ctx.error(be.source, "spec.tls.caCertificateRef", msg);
          resolved = false;
        } else if (ca.error !== undefined) {
          st.set(
            "ResolvedRefs",
            false,
            "InvalidCACertificateRef",
            `spec.tls.caCertificateRef: ${ca.error}`,
          );
          ctx.error(be.source, "spec.tls.caCertificateRef", ca.error);
          resolved = false;
        } else caPem = ca.pem;
      }
      const ccRef = s.tls?.clientCertificateRef;
      if (ccRef) {
        const ns = ccRef.namespace ?? be.namespace;
        const key = `${ns}/${ccRef.name}`;
        const sec = ctx.index.get("Secret", key);
        const e = sec ? tlsSecretEntry(key, sec) : `Secret ${key} not found`;
        if (ns !== be.namespace && !ctx.refPermittedFrom(be.source, "", "Secret", ns, ccRef.name)) {
          const msg = `Secret ${key} is in another namespace and no ReferenceGrant allows it`;
          st.set("ResolvedRefs", false, "RefNotPermitted", `spec.tls.clientCertificateRef: ${msg}`);
          ctx.error(be.source, "spec.tls.clientCertificateRef", msg);
          resolved = false;
        } else if (typeof e === "string") {
          st.set(
            "ResolvedRefs",
            false,
            "InvalidClientCertificateRef",
            `spec.tls.clientCertificateRef: ${e}`,
          );
          ctx.error(be.source, "spec.tls.clientCertificateRef", e);
          resolved = false;
        } else {
          ctx.secrets.set(key, e);
          clientCert = key;
        }
      }
      tls = {
        sni: s.tls?.sni ?? "",
        caPem,
        insecureSkipVerify: s.tls?.insecureSkipVerify ?? false,
        clientCert,
        ...(s.tls?.subjectAltNames?.length ? { subjectAltNames: [...s.tls.subjectAltNames] } : {}),
      };
    }
    const lb = s.loadBalancing;
    const hc = s.healthCheck;
    const od = s.outlierDetection;
    const cb = s.circuitBreaker;
    const protocol: UpstreamProtocol = s.protocol === "HTTPS" ? "HTTP" : s.protocol;
    ctx.clusters.set(name, {
      name,
      protocol,
      ...(tls ? { tls } : {}),
      lb: {
        policy: lb?.policy ?? "RoundRobin",
        ...(lb?.hashOn
          ? {
            hashOn: {
              header: lb.hashOn.header?.toLowerCase() ?? "",
              cookie: lb.hashOn.cookie ?? "",
              sourceIp: lb.hashOn.sourceIP ?? false,
            },
          }
          : {}),
        ...(lb?.sessionAffinity
          ? {
            sessionAffinity: {
              cookie: lb.sessionAffinity.cookie,
              ttlSeconds: Math.floor(durationMs(lb.sessionAffinity.ttl) / 1000),
            },
          }
          : {}),
      },
      endpoints,
      connectTimeoutMs: durationMs(s.timeouts?.connect),
      requestTimeoutMs: durationMs(s.timeouts?.request),
      idleTimeoutMs: durationMs(s.timeouts?.idle),
      hostRewrite: s.hostRewrite ?? "",
      ...(hc
        ? {
          healthCheck: {
            path: hc.path,
            intervalMs: durationMs(hc.interval),
            timeoutMs: durationMs(hc.timeout),
            healthyThreshold: hc.healthyThreshold,
            unhealthyThreshold: hc.unhealthyThreshold,
            expectedStatuses: [...(hc.expectedStatuses ?? [])],
          },
        }
        : {}),
      ...(od
        ? {
          outlierDetection: {
            consecutive5xx: od.consecutive5xx,
            intervalMs: durationMs(od.interval),
            baseEjectionMs: durationMs(od.baseEjectionTime),
            maxEjectionPercent: od.maxEjectionPercent,
          },
        }
        : {}),
      ...(cb
        ? {
          circuitBreaker: {
            maxConnections: cb.maxConnections ?? 0,
            maxPendingRequests: cb.maxPendingRequests ?? 0,
            maxRequests: cb.maxRequests ?? 0,
            maxRetries: cb.maxRetries ?? 0,
          },
        }
        : {}),
      maxConnectionsPerEndpoint: s.maxConnectionsPerEndpoint ?? 0,
    });
    st.set("Accepted", true, "Accepted", "backend accepted");
    if (resolved) {
      st.set("ResolvedRefs", true, "ResolvedRefs", `${endpoints.length} ready endpoint(s)`);
    }
    st.set("Programmed", true, "Programmed", "cluster is in the snapshot");
    st.extra.readyEndpoints = endpoints.length;
  }
}
