/**
 * One coarse clock for every deadline in the process (header reads, idle
 * keep-alive, upstream response timeouts). Arming a deadline is a field write;
 * a single unref'd interval fires the expired ones, so no per-request timer
 * op is paid on the hot path. Resolution is TICK_MS.
 */

export interface Deadline {
  /** Absolute Date.now() milliseconds; 0 = disarmed. */
  deadline: number;
  fire(): void;
}

const TICK_MS = 100;
const entries = new Set<Deadline>();
let timer: ReturnType<typeof setInterval> | null = null;

function tick(): void {
  const now = Date.now();
  for (const e of entries) {
    if (e.deadline !== 0 && e.deadline <= now) {
      e.deadline = 0;
      try {
        e.fire();
      } catch {
        // a firing deadline must never stop the others
      }
    }
  }
  if (entries.size === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

/** Starts watching `e` (its `deadline` may be changed freely afterwards). */
export function watch(e: Deadline): void {
  entries.add(e);
  if (timer === null) {
    const t = setInterval(tick, TICK_MS);
    Deno.unrefTimer(t as unknown as number);
    timer = t;
  }
}

export function unwatch(e: Deadline): void {
  entries.delete(e);
}

/** Cheap current time for arming deadlines. */
export function now(): number {
  return Date.now();
}
