/**
 * One coarse clock for every deadline in the process (header reads, idle
 * keep-alive, upstream response timeouts). Arming a deadline is a field write;
 * a single unref'd interval fires the expired ones, so no per-request timer
 * op is paid on the hot path. Resolution is TICK_MS.
 *
 * Watched deadlines live in an array and remember their slot: watch/unwatch
 * are O(1) index writes. (A Set was measurably slower: every fresh per-request
 * object added to a Set first gets an identity hash allocated.)
 */

export interface Deadline {
  /** Absolute Date.now() milliseconds; 0 = disarmed. */
  deadline: number;
  fire(): void;
  /** Index in the watch list, -1 (or absent) when not watched. Owned by this module. */
  slot?: number;
}

const TICK_MS = 100;
const entries: Deadline[] = [];
let timer: ReturnType<typeof setInterval> | null = null;
/** Date.now() at the last tick (or when the ticker started): see coarseNow. */
let coarse = Date.now();

function tick(): void {
  const now = Date.now();
  coarse = now;
  // A firing deadline may unwatch others: walk a copy.
  const list = entries.slice();
  for (const e of list) {
    if (e.deadline !== 0 && e.deadline <= now) {
      e.deadline = 0;
      try {
        e.fire();
      } catch {
        // a firing deadline must never stop the others
      }
    }
  }
  if (entries.length === 0 && timer !== null) {
    clearInterval(timer);
    timer = null;
  }
}

/** Starts watching `e` (its `deadline` may be changed freely afterwards). */
export function watch(e: Deadline): void {
  const s = e.slot;
  if (s !== undefined && s >= 0 && entries[s] === e) return;
  e.slot = entries.length;
  entries.push(e);
  if (timer === null) {
    coarse = Date.now();
    const t = setInterval(tick, TICK_MS);
    Deno.unrefTimer(t as unknown as number);
    timer = t;
  }
}

export function unwatch(e: Deadline): void {
  const i = e.slot;
  if (i === undefined || i < 0 || entries[i] !== e) return;
  const last = entries.pop()!;
  if (last !== e) {
    entries[i] = last;
    last.slot = i;
  }
  e.slot = -1;
}

/** Cheap current time for arming deadlines. */
export function now(): number {
  return Date.now();
}

/**
 * Date.now() as of the last tick: never ahead of the real time and, while
 * anything is watched, at most about TICK_MS behind (more only when the event
 * loop is blocked). A clock read per request is measurable on the hot path;
 * this is for timestamps that tolerate being early by that much — idle
 * connection ages, the hang-up watch's delay — never for a request deadline.
 */
export function coarseNow(): number {
  return coarse;
}
