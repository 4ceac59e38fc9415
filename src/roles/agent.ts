/**
 * `novaedge agent`: wiring only. A configuration source (a directory of YAML
 * run through the pure pipeline, or a controller stream) feeds snapshots to
 * the applier, which swaps them into the data plane. The admin server reports
 * health, readiness, metrics and the snapshot in use.
 */
import { numberFlag, parseRole, type RoleSpec, stringFlag, UsageError } from "../cli/flags.ts";
import { waitForSignal } from "../cli/signals.ts";
import { isLogLevel, logger, setLogLevel } from "../observe/log.ts";
import { registry } from "../observe/metrics.ts";
import { startAdminServer } from "../observe/admin.ts";
import { SnapshotApplier } from "../agent/applier.ts";
import { redactSnapshot } from "../agent/redact.ts";
import { DataPlane } from "../proxy/mod.ts";
import { watchDirectory } from "../source/dir.ts";
import { runPipeline } from "../snapshot/mod.ts";
import type { Diagnostic, ObjectStatus } from "../store/types.ts";

export const spec: RoleSpec = {
  name: "agent",
  summary: "Serve traffic for this node: listeners, routing, load balancing, health.\n" +
    "Configuration comes from a directory of Kubernetes YAML (--config-dir, no cluster needed)\n" +
    "or from a NovaEdge controller (--controller).",
  flags: [
    { name: "config-dir", kind: "string", help: "serve the objects in this directory (watched)" },
    { name: "controller", kind: "string", help: "controller gRPC address host:port" },
    { name: "node", kind: "string", help: "this node's name (default: the hostname)" },
    {
      name: "state-dir",
      kind: "string",
      help: "where the last applied snapshot is kept",
      default: "/var/lib/novaedge",
    },
    {
      name: "admin-address",
      kind: "string",
      help: "admin server (/healthz /readyz /metrics /debug/snapshot)",
      default: "127.0.0.1:9901",
    },
    {
      name: "controller-ca",
      kind: "string",
      help: "PEM file of the CA that signed the controller's certificate",
      default: "/var/run/novaedge/ca/ca.crt",
    },
    {
      name: "controller-server-name",
      kind: "string",
      help: "TLS name to verify when --controller is an IP address",
    },
    {
      name: "token-file",
      kind: "string",
      help: "bearer token presented to the controller (re-read on every connect)",
      default: "/var/run/secrets/novaedge/token",
    },
    { name: "log-level", kind: "string", help: "debug | info | warn | error", default: "info" },
    { name: "workers", kind: "number", help: "data-plane workers (0 = one per core)", default: 0 },
    {
      name: "drain-timeout",
      kind: "number",
      help: "seconds to finish in-flight requests on SIGTERM",
      default: 30,
    },
  ],
  epilog: "examples:\n" +
    "  novaedge agent --config-dir examples/quickstart/config\n" +
    "  novaedge agent --controller novaedge-controller.novaedge-system.svc:9443 --node $NODE_NAME",
};

const log = logger("agent");

export async function main(args: string[]): Promise<number> {
  const flags = parseRole(args, spec);
  if (!flags) return 0;
  const level = stringFlag(flags, "log-level") ?? "info";
  if (!isLogLevel(level)) {
    throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
  }
  setLogLevel(level);
  const configDir = stringFlag(flags, "config-dir");
  const controller = stringFlag(flags, "controller");
  if (!configDir && !controller) {
    throw new UsageError(
      "say where configuration comes from: --config-dir DIR or --controller ADDR",
    );
  }
  if (configDir && controller) {
    throw new UsageError("--config-dir and --controller are exclusive: choose one source");
  }
  const node = stringFlag(flags, "node") ?? Deno.hostname();
  const workers = numberFlag(flags, "workers") ?? 0;
  const drainSeconds = numberFlag(flags, "drain-timeout") ?? 30;

  const dataPlane = new DataPlane({ log: logger("dataplane"), workers });
  const applier = new SnapshotApplier(dataPlane);
  let statuses: readonly ObjectStatus[] = [];
  let diagnostics: readonly Diagnostic[] = [];

  const admin = await startAdminServer({
    address: stringFlag(flags, "admin-address") ?? "127.0.0.1:9901",
    registry,
    ready: () =>
      applier.current
        ? { ready: true, reason: "" }
        : { ready: false, reason: applier.lastError?.error ?? "no snapshot applied yet" },
    debug: {
      "/debug/snapshot": () => applier.current ? redactSnapshot(applier.current) : undefined,
      "/debug/status": () => ({
        node,
        version: applier.current?.version ?? null,
        lastError: applier.lastError,
        statuses,
        diagnostics,
      }),
    },
  });

  const stops: (() => void | Promise<void>)[] = [];
  if (configDir) {
    log.info("serving from a directory", { dir: configDir, node });
    const watcher = await watchDirectory(configDir, (result) => {
      const built = runPipeline(result.objects, { node });
      statuses = built.statuses;
      diagnostics = [...result.diagnostics, ...built.diagnostics];
      for (const d of diagnostics) {
        (d.severity === "error" ? log.warn : log.info)("configuration problem", { ...d });
      }
      void applier.submit(built.snapshot);
    });
    stops.push(() => watcher.close());
  } else if (controller) {
    const { connectAgentToController } = await import("../agent/connect.ts");
    const stop = await connectAgentToController({
      address: controller,
      node,
      stateDir: stringFlag(flags, "state-dir") ?? "/var/lib/novaedge",
      applier,
      caFile: stringFlag(flags, "controller-ca") ?? "/var/run/novaedge/ca/ca.crt",
      tokenFile: stringFlag(flags, "token-file") ?? "/var/run/secrets/novaedge/token",
      serverName: stringFlag(flags, "controller-server-name"),
    });
    stops.push(stop);
  }

  await waitForSignal();
  log.info("stopping: draining in-flight work", { deadlineSeconds: drainSeconds });
  for (const stop of stops) await stop();
  await dataPlane.drain(drainSeconds * 1000);
  await dataPlane.close();
  await admin.close();
  log.info("stopped");
  return 0;
}
