/**
 * The node simulator's image table: the ONE place that maps container images to
 * local executables. There is no container runtime: a "container" is a local
 * process in the pod's network namespace, and its image decides which program
 * that process runs.
 *
 * Docker semantics apply: `command` replaces the image's entrypoint, `args`
 * replace its default arguments. A `command` path is looked up in the image's
 * file table; "host" images resolve commands on the host's PATH instead.
 */
import { COREDNS_BIN, ECHO_BIN } from "./config.ts";

/** One image family. */
export interface ImageEntry {
  /** Human-readable name used in messages. */
  name: string;
  /** Which image references (registry/repo:tag) this entry serves. */
  match: RegExp;
  /** Entrypoint and default args when the pod gives no command / args. */
  entrypoint: string[];
  defaultArgs: string[];
  /** Paths inside the "image" that map to host executables. */
  files: Record<string, string>;
  /** When true, commands not in `files` are resolved on the host PATH. */
  hostCommands: boolean;
}

/** The table. Add entries here (and say so in README.md) to run more images. */
export const IMAGES: ImageEntry[] = [
  {
    name: "echo-basic (Gateway API conformance echo server)",
    match: /(^|\/)gateway-api\/echo-basic(:|@|$)|(^|\/)echo-basic(:|@|$)/,
    entrypoint: ["/echo-basic"],
    defaultArgs: [],
    files: { "/echo-basic": ECHO_BIN, "echo-basic": ECHO_BIN },
    hostCommands: false,
  },
  {
    name: "CoreDNS (used by the Gateway API conformance UDP tests)",
    match: /(^|\/)coredns\/coredns(:|@|$)|(^|\/)coredns(:|@|$)/,
    entrypoint: ["/coredns"],
    defaultArgs: [],
    files: { "/coredns": COREDNS_BIN, "coredns": COREDNS_BIN },
    hostCommands: false,
  },
  {
    name: "shell image (busybox/alpine/debian/ubuntu: commands run from the host)",
    match: /(^|\/)(busybox|alpine|debian|ubuntu|bash)(:|@|$)/,
    // Like the real images: no entrypoint, default command `sh`.
    entrypoint: [],
    defaultArgs: ["sh"],
    files: {},
    hostCommands: true,
  },
];

/** The program to run for a container, or an error message saying why there is none. */
export type Resolved = { exe: string; argv: string[] } | { error: string };

function lookPath(cmd: string, path: string): string | undefined {
  if (cmd.includes("/")) return isExecutable(cmd) ? cmd : undefined;
  for (const dir of path.split(":")) {
    if (dir && isExecutable(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    const st = Deno.statSync(p);
    return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Find the table entry for an image reference. */
export function findImage(image: string): ImageEntry | undefined {
  return IMAGES.find((e) => e.match.test(image));
}

/** Resolve a container's image, command and args to a host executable and its argv. */
export function resolveContainer(
  image: string,
  command: string[] | undefined,
  args: string[] | undefined,
  envPath: string,
): Resolved {
  const entry = findImage(image);
  if (!entry) {
    return {
      error: `image "${image}" is not in the node simulator's image table ` +
        `(tests/cluster/images.ts knows: ${IMAGES.map((e) => e.name).join("; ")})`,
    };
  }
  const argv = command && command.length > 0
    ? [...command, ...(args ?? [])]
    : [...entry.entrypoint, ...(args ?? entry.defaultArgs)];
  const first = argv[0];
  const mapped = entry.files[first];
  const exe = mapped ?? (entry.hostCommands ? lookPath(first, envPath) : undefined);
  if (!exe) {
    return { error: `command "${first}" does not exist in image "${image}" (${entry.name})` };
  }
  if (!isExecutable(exe)) {
    return {
      error: `image "${image}" maps to ${exe}, which is missing: run \`deno task cluster build\``,
    };
  }
  return { exe, argv: argv.slice(1) };
}
