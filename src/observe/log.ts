/**
 * Structured JSON logs: one event per line on stderr, with level, component and
 * message. One process-wide level, set from `--log-level`.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = ORDER.info;
const encoder = new TextEncoder();

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

/** The level in force (workers copy it from the main thread). */
export function getLogLevel(): LogLevel {
  return (Object.keys(ORDER) as LogLevel[]).find((l) => ORDER[l] === threshold) ?? "info";
}

export function isLogLevel(s: string): s is LogLevel {
  return s in ORDER;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  enabled(level: LogLevel): boolean;
}

/** Where log lines go; tests swap it to capture output. */
function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

export let logSink: (line: string) => void = stderrSink;

export function setLogSink(sink: (line: string) => void): void {
  logSink = sink;
}

export function logger(component: string): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < threshold) return;
    logSink(JSON.stringify({ ts: new Date().toISOString(), level, component, msg, ...fields }));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    enabled: (level) => ORDER[level] >= threshold,
  };
}
