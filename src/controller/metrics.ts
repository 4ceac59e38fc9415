/**
 * Controller metrics, on the process-wide registry from src/observe/metrics.ts.
 * Labels stay bounded by the cluster's size (kinds, nodes), never by traffic.
 */
import client from "prom-client";
import { registry } from "../observe/metrics.ts";

export const reconciles = new client.Counter({
  name: "novaedge_controller_reconciles_total",
  help: "Snapshot reconciles (store change → build → publish), by result.",
  labelNames: ["result"] as const,
  registers: [registry],
});

export const reconcileDuration = new client.Histogram({
  name: "novaedge_controller_reconcile_duration_seconds",
  help: "Time of one reconcile: every node's snapshot built and published.",
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

export const snapshotBuildDuration = new client.Histogram({
  name: "novaedge_controller_snapshot_build_seconds",
  help: "Time to build one node's snapshot with the pure pipeline.",
  buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const snapshotBytes = new client.Gauge({
  name: "novaedge_controller_snapshot_bytes",
  help: "Encoded size of each node's current snapshot.",
  labelNames: ["node"] as const,
  registers: [registry],
});

export const connectedAgents = new client.Gauge({
  name: "novaedge_controller_connected_agents",
  help: "Agent streams currently open on this replica.",
  registers: [registry],
});

export const agentVersion = new client.Gauge({
  name: "novaedge_controller_agent_snapshot_info",
  help: "Snapshot version each connected agent serves (last acked); value 1 per series.",
  labelNames: ["node", "version"] as const,
  registers: [registry],
});

export const agentInSync = new client.Gauge({
  name: "novaedge_controller_agent_in_sync",
  help: "1 when the node's agent serves the node's current snapshot version, else 0.",
  labelNames: ["node"] as const,
  registers: [registry],
});

export const agentNacks = new client.Counter({
  name: "novaedge_controller_agent_nacks_total",
  help: "Snapshot versions rejected by agents, by node.",
  labelNames: ["node"] as const,
  registers: [registry],
});

export const agentAuthFailures = new client.Counter({
  name: "novaedge_controller_agent_auth_failures_total",
  help: "Agent streams refused because authentication failed.",
  registers: [registry],
});

export const statusWrites = new client.Counter({
  name: "novaedge_controller_status_writes_total",
  help: "Status writes to the API server, by result (written, unchanged, conflict, error).",
  labelNames: ["result"] as const,
  registers: [registry],
});

export const isLeader = new client.Gauge({
  name: "novaedge_controller_is_leader",
  help: "1 while this replica holds the leader Lease (and so writes statuses).",
  registers: [registry],
});

export const watchRestarts = new client.Counter({
  name: "novaedge_controller_watch_restarts_total",
  help: "Informer restarts after a broken watch or failed list, by resource.",
  labelNames: ["resource"] as const,
  registers: [registry],
});

export const watchedObjects = new client.Gauge({
  name: "novaedge_controller_objects",
  help: "Objects held in the controller's store, by kind.",
  labelNames: ["kind"] as const,
  registers: [registry],
});
