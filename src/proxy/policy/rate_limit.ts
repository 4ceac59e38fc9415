/**
 * Local token-bucket rate limiting. A bucket holds up to `burst` tokens and
 * refills at `requestsPerSecond`; a request takes one token or is refused
 * with the time until the next token. Buckets are created per key on demand
 * and the map is bounded: a bucket that has refilled completely is identical
 * to a fresh one, so dropping it is lossless (swept when the map fills); if
 * the map is still full, the least recently inserted key is dropped.
 */

/** Milliseconds clock (injectable for tests). */
export type Clock = () => number;

interface Bucket {
  tokens: number;
  last: number;
}

/** Default cap on distinct keys per limiter (one bucket is ~100 bytes). */
export const DEFAULT_MAX_BUCKETS = 100_000;

export class TokenBucketLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;
  /** How long an untouched bucket takes to refill completely. */
  readonly #fullAfterMs: number;
  #lastSweep = -Infinity;

  constructor(
    readonly requestsPerSecond: number,
    readonly burst: number,
    readonly clock: Clock = () => performance.now(),
    readonly maxBuckets: number = DEFAULT_MAX_BUCKETS,
  ) {
    // A zero or negative rate would never refill: treat as "burst only once", but
    // guard against division by zero in Retry-After.
    this.#perMs = Math.max(requestsPerSecond, 1e-9) / 1000;
    if (!(burst >= 1)) this.burst = 1;
    this.#fullAfterMs = this.burst / this.#perMs;
  }

  /** Number of live buckets (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Takes one token for `key`. Returns 0 when allowed, else the seconds until
   * a token will be available (at least 1, for Retry-After).
   */
  take(key: string): number {
    const now = this.clock();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.maxBuckets) this.#makeRoom(now);
      b = { tokens: this.burst, last: now };
      this.#buckets.set(key, b);
    } else if (now > b.last) {
      const t = b.tokens + (now - b.last) * this.#perMs;
      b.tokens = t > this.burst ? this.burst : t;
      b.last = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs / 1000));
  }

  #makeRoom(now: number): void {
    // Sweep full buckets at most once per refill period (a sweep is O(n)).
    if (now - this.#lastSweep >= Math.min(this.#fullAfterMs, 1000)) {
      this.#lastSweep = now;
      for (const [k, b] of this.#buckets) {
        if (b.tokens + (now - b.last) * this.#perMs >= this.burst) this.#buckets.delete(k);
      }
    }
    while (this.#buckets.size >= this.maxBuckets) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done) break;
      this.#buckets.delete(oldest.value);
    }
  }
}
