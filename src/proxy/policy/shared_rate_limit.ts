/**
 * Token buckets shared by the agent's data-plane worker threads, so a
 * policy's `rateLimit` is one budget for the agent, not one per thread.
 *
 * The buckets live in one SharedArrayBuffer made by the main thread and
 * handed to every worker at start (useSharedRateLimits). It is a fixed-size
 * open-addressing table: a key (the limiter's id + the request key) is hashed
 * to 64 bits and looked up in up to PROBES consecutive slots. Each slot has a
 * lock word taken with Atomics.compareExchange for the few loads and stores
 * of one update, so a take is exact across threads (same arithmetic as
 * TokenBucketLimiter). Slots are never emptied: when a key's probe window is
 * full, the slot whose bucket refilled first (a full bucket is the same as a
 * fresh one) is taken over — lossless unless every slot in the window is
 * still draining, then the closest to full is reset (bounded error, like the
 * per-thread limiter dropping its oldest key).
 *
 * Time is `performance.timeOrigin + performance.now()`: each thread's
 * monotonic clock on the common wall-clock origin, so timestamps written by
 * one thread are comparable in another (a small skew only delays refill).
 */
import type { Clock } from "./rate_limit.ts";
import { fnv, lockWord, mix, roundPow2 } from "./shared_lock.ts";

/** Slots probed for one key. */
const PROBES = 8;
/** Int32 words per slot: lock, hash 1, hash 2, used. */
const IW = 4;
/** Float64 words per slot: tokens, last refill, time the bucket is full again. */
const FW = 4;
/** Default slot count (48 bytes each: 6 MiB). */
export const DEFAULT_SHARED_SLOTS = 1 << 17;

/** Bytes a table of `slots` slots needs (slots is rounded up to a power of two). */
export function sharedRateLimitBytes(slots: number = DEFAULT_SHARED_SLOTS): number {
  return roundPow2(slots) * (IW * 4 + FW * 8);
}

/** Milliseconds on a clock every thread of the process shares. */
export const sharedClock: Clock = (): number => performance.timeOrigin + performance.now();

/** The shared bucket table (a view of the SharedArrayBuffer; one per thread). */
export class SharedBucketTable {
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #mask: number;
  /** Slots in the table. */
  readonly slots: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    let slots = 16;
    while (slots * 2 * (IW * 4 + FW * 8) <= buffer.byteLength) slots *= 2;
    if (slots * (IW * 4 + FW * 8) > buffer.byteLength) {
      throw new Error(
        `shared rate-limit buffer of ${buffer.byteLength} bytes is too small; ` +
          `allocate sharedRateLimitBytes() bytes`,
      );
    }
    this.slots = slots;
    this.#mask = slots - 1;
    this.#i32 = new Int32Array(buffer, 0, slots * IW);
    this.#f64 = new Float64Array(buffer, slots * IW * 4, slots * FW);
  }

  /** A new empty table of `slots` slots (main thread; hand `.buffer` to workers). */
  static create(slots: number = DEFAULT_SHARED_SLOTS): SharedBucketTable {
    return new SharedBucketTable(new SharedArrayBuffer(sharedRateLimitBytes(slots)));
  }

  /** Slots in use (diagnostics, tests). */
  get used(): number {
    let n = 0;
    for (let i = 0; i < this.slots; i++) if (Atomics.load(this.#i32, i * IW + 3) !== 0) n++;
    return n;
  }

  #lock(w: number): void {
    lockWord(this.#i32, w);
  }

  /**
   * Takes one token from the bucket (h1, h2); same contract as
   * TokenBucketLimiter.take: 0 when allowed, else whole seconds to wait.
   */
  take(h1: number, h2: number, burst: number, perMs: number, now: number): number {
    const a = this.#i32;
    let victim = -1;
    let victimFull = Infinity;
    for (let p = 0; p < PROBES; p++) {
      const s = ((h1 >>> 0) + p) & this.#mask;
      const w = s * IW;
      this.#lock(w);
      if (a[w + 3] === 0 || (a[w + 1] === h1 && a[w + 2] === h2)) {
        if (a[w + 3] === 0) this.#fresh(s, h1, h2, burst, now);
        const r = this.#takeAt(s, burst, perMs, now);
        Atomics.store(a, w, 0);
        return r;
      }
      const full = this.#f64[s * FW + 2];
      Atomics.store(a, w, 0);
      if (full < victimFull) {
        victimFull = full;
        victim = s;
      }
    }
    const w = victim * IW;
    this.#lock(w);
    // Another thread may have taken this slot over for the same key meanwhile.
    if (a[w + 1] !== h1 || a[w + 2] !== h2) this.#fresh(victim, h1, h2, burst, now);
    const r = this.#takeAt(victim, burst, perMs, now);
    Atomics.store(a, w, 0);
    return r;
  }

  #fresh(s: number, h1: number, h2: number, burst: number, now: number): void {
    const w = s * IW;
    const f = s * FW;
    this.#i32[w + 1] = h1;
    this.#i32[w + 2] = h2;
    this.#i32[w + 3] = 1;
    this.#f64[f] = burst;
    this.#f64[f + 1] = now;
  }

  #takeAt(s: number, burst: number, perMs: number, now: number): number {
    const f = s * FW;
    const b = this.#f64;
    let tokens = b[f];
    if (now > b[f + 1]) {
      const t = tokens + (now - b[f + 1]) * perMs;
      tokens = t > burst ? burst : t;
      b[f + 1] = now;
    }
    let wait = 0;
    if (tokens >= 1) tokens -= 1;
    else wait = Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
    b[f] = tokens;
    b[f + 2] = b[f + 1] + (burst - tokens) / perMs;
    return wait;
  }
}

/**
 * A token-bucket limiter whose buckets are in a SharedBucketTable: the same
 * `id` (policy name + config) in every worker thread names the same buckets.
 */
export class SharedTokenBucketLimiter {
  readonly #perMs: number;
  readonly #h1: number;
  readonly #h2: number;
  readonly burst: number;

  constructor(
    readonly table: SharedBucketTable,
    id: string,
    readonly requestsPerSecond: number,
    burst: number,
    readonly clock: Clock = sharedClock,
  ) {
    this.#perMs = Math.max(requestsPerSecond, 1e-9) / 1000;
    this.burst = burst >= 1 ? burst : 1;
    this.#h1 = fnv(0x811c9dc5, id + "\0");
    this.#h2 = mix(0x2545f491, id + "\0");
  }

  /** Takes one token for `key`: 0 when allowed, else whole seconds until one is available. */
  take(key: string): number {
    return this.table.take(
      fnv(this.#h1, key),
      mix(this.#h2, key),
      this.burst,
      this.#perMs,
      this.clock(),
    );
  }
}

let current: SharedBucketTable | null = null;

/**
 * Makes policies compiled from now on in this thread keep their rate-limit
 * buckets in the shared table over `buffer` (a worker calls this at start
 * with the buffer the main thread allocated); null goes back to per-thread
 * buckets.
 */
export function useSharedRateLimits(buffer: SharedArrayBuffer | null): void {
  current = buffer === null ? null : new SharedBucketTable(buffer);
}

/** The table set by useSharedRateLimits, or null. */
export function sharedRateLimits(): SharedBucketTable | null {
  return current;
}
