/**
 * The spin-then-sleep lock word used by the tables worker threads share
 * (shared_rate_limit.ts, concurrency.ts): 0 free, 1 held.
 */

/**
 * Takes the lock word `w` of `a`. The holder does a handful of loads and
 * stores; if it was descheduled, stop burning the core and sleep briefly
 * instead. A lock held for ~20 ms belongs to a thread that died inside the
 * update (a terminated worker): take it over — at worst one update is lost.
 */
export function lockWord(a: Int32Array, w: number): void {
  let spins = 0;
  while (Atomics.compareExchange(a, w, 0, 1) !== 0) {
    if (++spins > 200) {
      Atomics.wait(a, w, 1, 1);
      if (spins > 220) {
        Atomics.store(a, w, 1);
        return;
      }
    }
  }
}

/** Releases the lock word `w` of `a`. */
export function unlockWord(a: Int32Array, w: number): void {
  Atomics.store(a, w, 0);
}

/** FNV-1a over `s`, continuing from `h`. */
export function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** A second, independent 32-bit hash (multiply-xorshift), continuing from `h`. */
export function mix(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h;
}

/** Slot counts of the shared tables: a power of two (masking replaces modulo), at least 16. */
export function roundPow2(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}
