/**
 * `novaedge <role> [flags]`: dispatch to a role module. Each role module exports
 * `main(args)` and parses its own flags, so `--help` and usage errors are local
 * to the role. Roles are imported lazily: the agent must not pay for the
 * Kubernetes client the controller loads.
 */
import { UsageError } from "./cli/flags.ts";
import { VERSION } from "./version.ts";

type RoleMain = (args: string[]) => Promise<number>;

interface Role {
  readonly summary: string;
  readonly load: () => Promise<RoleMain>;
}

const ROLES: Record<string, Role> = {
  controller: {
    summary: "watch Kubernetes, build snapshots, push them to agents over gRPC",
    load: async () => (await import("./roles/controller.ts")).main,
  },
  agent: {
    summary:
      "serve traffic: listeners, routing, load balancing (from --config-dir or --controller)",
    load: async () => (await import("./roles/agent.ts")).main,
  },
  "snapshot dump": {
    summary: "print the snapshot (and every object's status) that would be served",
    load: async () => (await import("./roles/snapshot_dump.ts")).main,
  },
  ctl: {
    summary: "read-only views: Gateway API objects, describe-gateway, conformance (also `novactl`)",
    load: async () => (await import("./roles/ctl.ts")).main,
  },
  version: {
    summary: "print the version",
    load: () => Promise.resolve(versionMain),
  },
};

function versionMain(args: string[]): Promise<number> {
  if (args.length > 0 && args[0] !== "--help" && args[0] !== "-h") {
    throw new UsageError(`"version" takes no arguments, got "${args[0]}"`);
  }
  console.log(`novaedge ${VERSION} (deno ${Deno.version.deno})`);
  return Promise.resolve(0);
}

export function usage(): string {
  const lines = Object.entries(ROLES).map(([name, r]) => `  ${name.padEnd(16)} ${r.summary}`);
  return [
    "usage: novaedge <role> [flags]",
    "",
    "roles:",
    ...lines,
    "",
    "Run `novaedge <role> --help` for a role's flags.",
  ].join("\n");
}

/** Resolve the role from argv: "snapshot dump" takes two words. */
function pickRole(args: readonly string[]): { name: string; rest: string[] } | null {
  if (args[0] === "snapshot") {
    if (args[1] === "dump") return { name: "snapshot dump", rest: args.slice(2) };
    return null;
  }
  if (args[0] !== undefined && args[0] in ROLES) return { name: args[0], rest: args.slice(1) };
  return null;
}

export async function run(args: string[]): Promise<number> {
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help") {
    console.log(usage());
    return args.length === 0 ? 2 : 0;
  }
  if (args[0] === "--version") return versionMain([]);
  const picked = pickRole(args);
  if (!picked) {
    const what = args[0] === "snapshot"
      ? `unknown snapshot command "${args[1] ?? ""}" (did you mean "snapshot dump"?)`
      : `unknown role "${args[0]}"`;
    console.error(`novaedge: ${what}\n\n${usage()}`);
    return 2;
  }
  try {
    const main = await ROLES[picked.name].load();
    return await main(picked.rest);
  } catch (err) {
    if (err instanceof UsageError) {
      const tail = err.usage ?? `Run "novaedge ${picked.name} --help" for its flags.`;
      console.error(`novaedge ${picked.name}: ${err.message}\n\n${tail}`);
      return 2;
    }
    throw err;
  }
}
