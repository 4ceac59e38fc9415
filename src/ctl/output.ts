/**
 * How `novaedge ctl` prints: kubectl-style tables (upper-case headers, columns
 * three spaces apart, no borders), kubectl's age format, and JSON / YAML for
 * scripts. Pure: no I/O, the caller passes `now`.
 */
import { toYaml } from "../source/yaml_out.ts";

export type OutputFormat = "table" | "json" | "yaml";

export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

export function isOutputFormat(s: string): s is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(s);
}

/** A table: headers plus rows of cells (same length as the headers). */
export interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** Render like `kubectl get`: left-aligned columns, three spaces between, no trailing spaces. */
export function renderTable(t: Table): string {
  const widths = t.headers.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length))
  );
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("   ")
      .trimEnd();
  return [line(t.headers), ...t.rows.map(line)].join("\n");
}

/**
 * kubectl's human duration (as in `kubectl get`'s AGE column): seconds under
 * 2 minutes, minutes+seconds under 10 minutes, minutes under 3 hours,
 * hours+minutes under 8 hours, hours under 2 days, days+hours under 8 days,
 * days under 2 years, then years(+days).
 */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "0s";
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  const y = Math.floor(d / 365);
  if (d < 365 * 8) return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
  return `${y}y`;
}

/** Age of an object from its creationTimestamp ("<unknown>" when missing or unparsable). */
export function age(creationTimestamp: unknown, now: Date): string {
  if (typeof creationTimestamp !== "string") return "<unknown>";
  const t = Date.parse(creationTimestamp);
  return Number.isNaN(t) ? "<unknown>" : humanDuration(now.getTime() - t);
}

/** JSON (two-space indent) or YAML of a value, newline-terminated. */
export function renderData(value: unknown, format: "json" | "yaml"): string {
  if (format === "json") return `${JSON.stringify(value, null, 2)}\n`;
  return toYaml(value);
}
