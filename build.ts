/**
 * Build NovaEdge:
 *   1. `deno bundle` src/main.ts into dist/novaedge.js (one file, runs with `deno run -A --unstable-net`);
 *   2. `deno compile` one binary per role (dist/novaedge-controller, dist/novaedge-agent,
 *      dist/novactl) plus dist/novaedge — only when a `denort` runtime is available.
 *
 * `deno compile` normally downloads denort from the internet, which our machines cannot
 * reach; set DENORT_BIN to a local denort binary of the same Deno version. Without it the
 * bundle is still built and this script says exactly why no binaries were produced.
 *
 * Flags: --bundle-only (skip compile), --require-compile (fail when compile cannot run).
 */
import { VERSION } from "./src/version.ts";

const root = new URL(".", import.meta.url).pathname;
const dist = `${root}dist`;
const args = new Set(Deno.args);

/** Binary name → the argv prefix it runs with (its role). */
export const BINARIES: Readonly<Record<string, readonly string[]>> = {
  "novaedge": [],
  "novaedge-controller": ["controller"],
  "novaedge-agent": ["agent"],
  "novactl": ["ctl"],
};

/**
 * The entry module of one binary: fixes the argv prefix (its role), then loads
 * main.ts (`mainSpecifier`, relative to where the entry is written).
 */
export function entrySource(prefix: readonly string[], mainSpecifier: string): string {
  return `(globalThis as { __NOVAEDGE_ARGV_PREFIX?: string[] }).__NOVAEDGE_ARGV_PREFIX = ${
    JSON.stringify(prefix)
  };\nawait import(${JSON.stringify(mainSpecifier)});\n`;
}

async function run(cmd: string[], env?: Record<string, string>): Promise<void> {
  const p = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    env,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await p.output();
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed with exit code ${code}`);
}

async function bundle(): Promise<void> {
  await Deno.mkdir(dist, { recursive: true });
  const out = `${dist}/novaedge.js`;
  await run([
    Deno.execPath(),
    "bundle",
    "--quiet",
    "--platform",
    "deno",
    "-o",
    out,
    `${root}src/main.ts`,
  ]);
  const size = (await Deno.stat(out)).size;
  console.log(`bundled ${out} (${(size / 1024 / 1024).toFixed(1)} MiB, novaedge ${VERSION})`);
}

async function compile(): Promise<boolean> {
  const denort = Deno.env.get("DENORT_BIN");
  if (!denort) {
    console.log(
      "not compiling binaries: `deno compile` needs a denort runtime, which it downloads from the\n" +
        "internet by default and this machine cannot reach. Set DENORT_BIN to a denort binary of\n" +
        `Deno ${Deno.version.deno} (from the denort-x86_64-unknown-linux-gnu.zip release asset, copied in\n` +
        "by hand) and run `deno task build` again. The bundle dist/novaedge.js works without it:\n" +
        "  deno run -A --unstable-net dist/novaedge.js <role> [flags]",
    );
    return false;
  }
  try {
    const st = await Deno.stat(denort);
    if (!st.isFile) throw new Error("not a file");
  } catch (err) {
    throw new Error(
      `DENORT_BIN=${denort} cannot be used (${
        (err as Error).message
      }): point it at a denort binary ` +
        `of Deno ${Deno.version.deno}`,
    );
  }
  // Binaries are compiled from source (not from the bundle) so the data plane's
  // worker module can be embedded with --include: a bundle has no worker file and
  // falls back to one thread.
  const entries = `${root}.build-entries`;
  await Deno.mkdir(entries, { recursive: true });
  try {
    for (const [name, prefix] of Object.entries(BINARIES)) {
      const entry = `${entries}/${name}.ts`;
      await Deno.writeTextFile(entry, entrySource(prefix, "../src/main.ts"));
      await run([
        Deno.execPath(),
        "compile",
        "--quiet",
        "-A",
        "--unstable-net",
        "--include",
        `${root}src/proxy/worker.ts`,
        "-o",
        `${dist}/${name}`,
        entry,
      ], { DENORT_BIN: denort });
      console.log(
        `compiled ${dist}/${name}${prefix.length ? ` (runs "${prefix.join(" ")}")` : ""}`,
      );
    }
  } finally {
    await Deno.remove(entries, { recursive: true }).catch(() => {});
  }
  return true;
}

if (import.meta.main) {
  for (const a of args) {
    if (a !== "--bundle-only" && a !== "--require-compile") {
      console.error(`build.ts: unknown flag "${a}"; flags: --bundle-only, --require-compile`);
      Deno.exit(2);
    }
  }
  try {
    await bundle();
    if (!args.has("--bundle-only")) {
      const compiled = await compile();
      if (!compiled && args.has("--require-compile")) Deno.exit(1);
    }
  } catch (err) {
    console.error(`build.ts: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
