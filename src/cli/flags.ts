/**
 * A small, strict flag parser shared by every role: `--name value`,
 * `--name=value` and boolean `--flag`. Unknown flags are an error (the caller
 * prints usage and exits 2), never silently ignored.
 */

export interface FlagSpec {
  /** Flag name without dashes. */
  readonly name: string;
  readonly kind: "string" | "boolean" | "number";
  readonly help: string;
  readonly default?: string | boolean | number;
  /** May be given several times (string kind only); values collect in order. */
  readonly repeat?: boolean;
}

export type FlagValues = Record<string, string | boolean | number | string[] | undefined>;

export class UsageError extends Error {
  override name = "UsageError";
  /** The role's usage text, printed after the message when set. */
  usage?: string;
  constructor(message: string, usage?: string) {
    super(message);
    this.usage = usage;
  }
}

export interface Parsed {
  readonly flags: FlagValues;
  readonly positionals: string[];
  readonly help: boolean;
}

export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const flags: FlagValues = {};
  for (const s of specs) if (s.default !== undefined) flags[s.name] = s.default;
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg.length > 1) throw new UsageError(`unknown flag "${arg}"`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag "--${name}"`);
    let raw: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    if (spec.kind === "boolean") {
      if (raw === undefined) flags[name] = true;
      else if (raw === "true" || raw === "false") flags[name] = raw === "true";
      else throw new UsageError(`--${name} takes true or false, not "${raw}"`);
      continue;
    }
    if (raw === undefined) {
      if (i + 1 >= args.length) throw new UsageError(`--${name} needs a value`);
      raw = args[++i];
    }
    if (spec.kind === "number") {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} takes a number, not "${raw}"`);
      flags[name] = n;
    } else if (spec.repeat) {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), raw];
    } else {
      flags[name] = raw;
    }
  }
  return { flags, positionals, help };
}

export function formatFlags(specs: readonly FlagSpec[]): string {
  return specs.map((s) => {
    const left = `  --${s.name}${
      s.kind === "boolean" ? "" : ` <${s.kind === "number" ? "n" : "value"}>`
    }`;
    const def = s.default !== undefined && s.default !== false ? ` (default ${s.default})` : "";
    return `${left.padEnd(30)} ${s.help}${def}`;
  }).join("\n");
}

export function stringFlag(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

export function numberFlag(flags: FlagValues, name: string): number | undefined {
  const v = flags[name];
  return typeof v === "number" ? v : undefined;
}

export function boolFlag(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}

/** How a role describes itself for `--help` and usage errors. */
export interface RoleSpec {
  /** e.g. "agent" or "snapshot dump". */
  readonly name: string;
  /** One line: what the role does. */
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  /** Extra lines after the flag list (examples). */
  readonly epilog?: string;
}

export function roleUsage(spec: RoleSpec): string {
  const parts = [
    `usage: novaedge ${spec.name} [flags]`,
    "",
    spec.summary,
    "",
    "flags:",
    formatFlags(spec.flags),
  ];
  if (spec.epilog) parts.push("", spec.epilog);
  return parts.join("\n");
}

/**
 * Parse a role's flags. Returns null after printing the usage for `--help`;
 * throws UsageError (carrying the usage) for anything wrong, including stray
 * positional arguments.
 */
export function parseRole(args: readonly string[], spec: RoleSpec): FlagValues | null {
  let parsed: Parsed;
  try {
    parsed = parseFlags(args, spec.flags);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message, roleUsage(spec));
    throw err;
  }
  if (parsed.help) {
    console.log(roleUsage(spec));
    return null;
  }
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`, roleUsage(spec));
  }
  return parsed.flags;
}
