/**
 * `deno task cluster <build|up|down|status|env>` — the local Kubernetes control
 * plane for tests. See tests/cluster/README.md.
 */
import { ensureBuilt } from "./build.ts";
import { down, envLines, status, up } from "./control_plane.ts";

const USAGE = `usage: deno task cluster <command>
  build            build and cache kube-apiserver, kube-controller-manager, kubectl, echo-basic
  up [--nodes=N]   build if needed, start the cluster (no-op when already up)
  down             stop it and remove every process, network namespace and link it left
  status           show components, nodes and pods
  env              print shell lines: eval "$(deno task cluster env)"`;

async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "build": {
      const t0 = Date.now();
      await ensureBuilt();
      console.error(
        `[cluster build] all binaries ready (${((Date.now() - t0) / 1000).toFixed(1)}s)`,
      );
      return 0;
    }
    case "up": {
      const n = rest.find((a) => a.startsWith("--nodes="));
      await up({ nodes: n ? Number(n.slice("--nodes=".length)) : undefined });
      return 0;
    }
    case "down":
      await down();
      return 0;
    case "status": {
      const s = await status();
      console.log(s.lines.join("\n"));
      return s.healthy ? 0 : 1;
    }
    case "env":
      console.log(envLines().join("\n"));
      return 0;
    default:
      console.error(USAGE);
      return cmd === undefined || cmd === "help" || cmd === "--help" ? 0 : 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`[cluster] error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
