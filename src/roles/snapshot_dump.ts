/**
 * `novaedge snapshot dump --config-dir DIR [--format json|yaml]`: wiring only.
 * Loads the directory, runs the pure pipeline and prints the snapshot with
 * every object's status and the diagnostics. Exits 1 when anything was
 * rejected, after naming the file, object, field and reason on stderr.
 */
import { toYaml } from "../source/yaml_out.ts";
import { parseRole, type RoleSpec, roleUsage, stringFlag, UsageError } from "../cli/flags.ts";
import { redactSnapshot } from "../agent/redact.ts";
import { loadDirectory } from "../source/dir.ts";
import { locateDiagnostic, objectFiles } from "../source/parse.ts";
import { runPipeline } from "../snapshot/mod.ts";
import type { Diagnostic, ObjectStatus } from "../store/types.ts";

export const spec: RoleSpec = {
  name: "snapshot dump",
  summary: "Print a snapshot: the one a directory of Kubernetes YAML produces (with every\n" +
    "object's status and diagnostics; exits 1 when any object is rejected), the one a\n" +
    "controller serves to a node (with the version each agent serves), or the one an agent\n" +
    "is serving. Private keys are always redacted.",
  flags: [
    { name: "config-dir", kind: "string", help: "directory of YAML/JSON manifests" },
    { name: "controller", kind: "string", help: "controller gRPC address host:port" },
    { name: "node", kind: "string", help: "with --controller: the node whose snapshot to show" },
    {
      name: "controller-ca",
      kind: "string",
      help: "with --controller: PEM file of the controller's CA (default $NOVAEDGE_CONTROLLER_CA)",
    },
    {
      name: "token-file",
      kind: "string",
      help: "with --controller: bearer token file (default $NOVAEDGE_AGENT_TOKEN_FILE)",
    },
    {
      name: "controller-server-name",
      kind: "string",
      help: "with --controller: TLS name to verify when the address is an IP",
    },
    { name: "agent", kind: "string", help: "an agent's admin URL, e.g. http://127.0.0.1:9901" },
    { name: "format", kind: "string", help: "json | yaml", default: "yaml" },
  ],
  epilog: "examples:\n" +
    "  novaedge snapshot dump --config-dir manifests/samples\n" +
    "  novaedge snapshot dump --config-dir ./config --format json | jq .snapshot.routes\n" +
    "  novaedge snapshot dump --controller novaedge-controller.novaedge-system.svc:9443 --node n1\n" +
    "  novaedge snapshot dump --agent http://127.0.0.1:9901",
};

/** One line per problem: where, object, field and reason. */
export function formatDiagnostic(d: Diagnostic, files: ReadonlyMap<string, string>): string {
  const l = locateDiagnostic(d, files);
  return `${l.severity}: ${l.source}${l.field ? ` ${l.field}` : ""}: ${l.message}`;
}

/** Objects whose Accepted condition is False. */
export function rejected(statuses: readonly ObjectStatus[]): ObjectStatus[] {
  return statuses.filter((s) =>
    s.status.conditions.some((c) => c.type === "Accepted" && c.status === "False")
  );
}

export async function main(args: string[]): Promise<number> {
  const flags = parseRole(args, spec);
  if (!flags) return 0;
  const format = stringFlag(flags, "format") ?? "yaml";
  if (format !== "json" && format !== "yaml") {
    throw new UsageError(`--format must be json or yaml, not "${format}"`);
  }
  const dir = stringFlag(flags, "config-dir");
  const controller = stringFlag(flags, "controller");
  const agent = stringFlag(flags, "agent");
  const sources = [dir, controller, agent].filter((x) => x !== undefined).length;
  if (sources !== 1) {
    throw new UsageError(
      "give exactly one of --config-dir DIR, --controller ADDR or --agent URL",
      roleUsage(spec),
    );
  }
  if (controller !== undefined) {
    const node = stringFlag(flags, "node");
    if (!node) throw new UsageError("--controller needs --node NAME", roleUsage(spec));
    // Loaded lazily: the gRPC client is not needed to dump a directory.
    const { dumpFromController } = await import("../controller/dump.ts");
    const d = await dumpFromController({
      address: controller,
      node,
      caFile: stringFlag(flags, "controller-ca"),
      tokenFile: stringFlag(flags, "token-file"),
      serverName: stringFlag(flags, "controller-server-name"),
    });
    await writeAll(Deno.stdout, render(d, format));
    await writeAll(
      Deno.stderr,
      `snapshot ${d.version} for node ${node} from ${d.source}; ${d.agents.length} agent(s) connected\n`,
    );
    return 0;
  }
  if (agent !== undefined) {
    const { dumpFromAgent } = await import("../controller/dump.ts");
    const snapshot = redactSnapshot(await dumpFromAgent(agent));
    await writeAll(Deno.stdout, render({ snapshot }, format));
    await writeAll(Deno.stderr, `snapshot ${snapshot.version} served by the agent at ${agent}\n`);
    return 0;
  }
  const loaded = await loadDirectory(dir!);
  const built = runPipeline(loaded.objects);
  const diagnostics = [...loaded.diagnostics, ...built.diagnostics];
  const out = {
    snapshot: redactSnapshot(built.snapshot),
    generated: built.generated,
    statuses: built.statuses,
    diagnostics,
  };
  await writeAll(Deno.stdout, render(out, format));

  const files = objectFiles(loaded.objects);
  const errors = diagnostics.filter((d) => d.severity === "error");
  const warnings = diagnostics.filter((d) => d.severity === "warning");
  const bad = rejected(built.statuses);
  const lines = [...errors, ...warnings].map((d) => formatDiagnostic(d, files));
  const s = built.snapshot;
  lines.push(
    `snapshot ${s.version}: ${s.listeners.length} listener(s), ${s.routes.length} route(s), ` +
      `${s.clusters.length} cluster(s), ${s.policies.length} policy(ies), ${s.vips.length} VIP(s); ` +
      `${loaded.objects.length} object(s), ${bad.length} rejected, ${errors.length} error(s), ` +
      `${warnings.length} warning(s)`,
  );
  await writeAll(Deno.stderr, lines.join("\n") + "\n");
  return errors.length > 0 || bad.length > 0 ? 1 : 0;
}

function render(out: unknown, format: "json" | "yaml"): string {
  return format === "json" ? JSON.stringify(out, null, 2) + "\n" : toYaml(out);
}

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  let buf = new TextEncoder().encode(text);
  while (buf.length) buf = buf.subarray(await w.write(buf));
}
