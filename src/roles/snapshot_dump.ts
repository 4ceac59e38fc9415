/**
 * `novaedge snapshot dump --config-dir DIR [--format json|yaml]`: wiring only.
 * Loads the directory, runs the pure pipeline and prints the snapshot with
 * every object's status and the diagnostics. Exits 1 when anything was
 * rejected, after naming the file, object, field and reason on stderr.
 */
import { stringify } from "yaml";
import { parseRole, type RoleSpec, stringFlag, UsageError } from "../cli/flags.ts";
import { loadDirectory } from "../source/dir.ts";
import { locateDiagnostic, objectFiles } from "../source/parse.ts";
import { runPipeline } from "../pipeline.ts";
import type { Diagnostic, ObjectStatus } from "../store/types.ts";
import type { Snapshot } from "../snapshot/types.ts";

export const spec: RoleSpec = {
  name: "snapshot dump",
  summary: "Print the snapshot (and every object's status and diagnostics) that a directory\n" +
    "of Kubernetes YAML produces. Exits 1 when any object is rejected.",
  flags: [
    { name: "config-dir", kind: "string", help: "directory of YAML/JSON manifests (required)" },
    { name: "format", kind: "string", help: "json | yaml", default: "yaml" },
  ],
  epilog: "examples:\n" +
    "  novaedge snapshot dump --config-dir manifests/samples\n" +
    "  novaedge snapshot dump --config-dir ./config --format json | jq .snapshot.routes",
};

/** Private keys never leave through a dump: they are replaced by a marker. */
function redact(s: Snapshot): Snapshot {
  return {
    ...s,
    secrets: s.secrets.map((x) => ({ ...x, keyPem: x.keyPem ? "(redacted)" : "" })),
  };
}

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
  const dir = stringFlag(flags, "config-dir");
  if (!dir) throw new UsageError("--config-dir DIR is required", undefined);
  const format = stringFlag(flags, "format") ?? "yaml";
  if (format !== "json" && format !== "yaml") {
    throw new UsageError(`--format must be json or yaml, not "${format}"`);
  }
  const loaded = await loadDirectory(dir);
  const built = runPipeline(loaded.objects);
  const diagnostics = [...loaded.diagnostics, ...built.diagnostics];
  const out = {
    snapshot: redact(built.snapshot),
    generated: built.generated,
    statuses: built.statuses,
    diagnostics,
  };
  const text = format === "json"
    ? JSON.stringify(out, null, 2) + "\n"
    : stringify(out, { lineWidth: 0, aliasDuplicateObjects: false });
  await writeAll(Deno.stdout, text);

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

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, text: string): Promise<void> {
  let buf = new TextEncoder().encode(text);
  while (buf.length) buf = buf.subarray(await w.write(buf));
}
