/**
 * Prometheus metrics shared by every role. One registry per process; the admin
 * server renders it. Label sets are kept small (route and code, not path) so
 * cardinality stays bounded by configuration, not by traffic.
 */
import client from "prom-client";

export const registry = new client.Registry();

export const httpRequests = new client.Counter({
  name: "novaedge_http_requests_total",
  help: "HTTP requests served, by route and response status code.",
  labelNames: ["route", "code"] as const,
  registers: [registry],
});

export const upstreamLatency = new client.Histogram({
  name: "novaedge_upstream_request_duration_seconds",
  help: "Time from sending a request upstream to its response head, by cluster.",
  labelNames: ["cluster"] as const,
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const activeConnections = new client.Gauge({
  name: "novaedge_active_connections",
  help: "Client connections currently open, by listener.",
  labelNames: ["listener"] as const,
  registers: [registry],
});

export const snapshotInfo = new client.Gauge({
  name: "novaedge_snapshot_info",
  help: "The snapshot version in use (value 1 on the current version's series).",
  labelNames: ["version"] as const,
  registers: [registry],
});

export const snapshotApplies = new client.Counter({
  name: "novaedge_snapshot_applies_total",
  help: "Snapshot apply attempts, by result (applied or rejected).",
  labelNames: ["result"] as const,
  registers: [registry],
});

/** Mark `version` as the one in use, clearing the previous series. */
export function setSnapshotVersion(version: string): void {
  snapshotInfo.reset();
  snapshotInfo.set({ version }, 1);
}
