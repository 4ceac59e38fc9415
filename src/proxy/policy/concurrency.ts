/**
 * Requests in progress per key (a policy's `connectionLimit.perClientIp`:
 * policy name + client address), so a client cannot hold more than N at
 * once — ingress-nginx `limit-connections` (nginx limit_conn). A request
 * takes a Hold when it is admitted and releases it when its response is
 * finished or abandoned (an upgraded connection holds it for its lifetime).
 *
 * Two counters with one contract:
 * - LocalConcurrency: a Map per thread; an entry is deleted when its count
 *   drops to 0, so memory follows the requests in progress.
 * - SharedConcurrencyTable: worker threads count in one SharedArrayBuffer
 *   (made by the main thread), so the limit is per agent, not per thread.
 *   Fixed-size open addressing (PROBES slots per key, 64-bit key hash), a
 *   lock word per slot (shared_lock.ts) and a second lock word per home slot
 *   that serialises claims of a free slot for one key. Each slot keeps a
 *   count per worker as well as the total: a worker (re)started with index i
 *   subtracts and zeroes column i everywhere, so holds a crashed worker never
 *   released do not block its clients forever. A slot whose total is 0 is
 *   free. When a key's whole window is busy with other keys the request is
 *   let through uncounted (fail open: the table is full of other clients'
 *   requests in progress; a limit must not refuse a client for that).
 */
import { fnv, lockWord, mix, roundPow2, unlockWord } from "./shared_lock.ts";

/** One counted request; release exactly once (later calls do nothing). */
export interface Hold {
  release(): void;
}

/** Counts requests in progress per key. */
export interface ConcurrencyCounter {
  /** One more for `key` unless `max` are in progress: the Hold, or null when full. */
  enter(key: string, max: number): Hold | null;
  /** Requests in progress for `key` (tests, diagnostics). */
  count(key: string): number;
}

const NOOP: Hold = { release() {} };

/** The per-thread counter. */
export class LocalConcurrency implements ConcurrencyCounter {
  readonly #n = new Map<string, number>();

  /** Keys with requests in progress. */
  get size(): number {
    return this.#n.size;
  }

  enter(key: string, max: number): Hold | null {
    const n = this.#n.get(key) ?? 0;
    if (n >= max) return null;
    this.#n.set(key, n + 1);
    return new LocalHold(this.#n, key);
  }

  count(key: string): number {
    return this.#n.get(key) ?? 0;
  }
}

class LocalHold implements Hold {
  #map: Map<string, number> | null;
  constructor(map: Map<string, number>, readonly key: string) {
    this.#map = map;
  }
  release(): void {
    const m = this.#map;
    if (m === null) return;
    this.#map = null;
    const n = (m.get(this.key) ?? 1) - 1;
    if (n > 0) m.set(this.key, n);
    else m.delete(this.key);
  }
}

/** Slots probed for one key. */
const PROBES = 8;
/** Int32 words per slot before the per-worker counts: lock, claim lock, hash 1, hash 2, total. */
const FIXED = 5;
/** Header words: worker columns. */
const HEADER = 4;
/** Default slot count: distinct (policy, client) pairs with requests in progress at once. */
export const DEFAULT_CONCURRENCY_SLOTS = 1 << 15;

/** Bytes a table for `workers` threads and `slots` slots (a power of two) needs. */
export function sharedConcurrencyBytes(
  workers: number,
  slots: number = DEFAULT_CONCURRENCY_SLOTS,
): number {
  return (HEADER + roundPow2(slots) * (FIXED + Math.max(1, workers))) * 4;
}

/** The shared table (a view of the SharedArrayBuffer; one per thread). */
export class SharedConcurrencyTable {
  readonly #a: Int32Array;
  readonly #stride: number;
  readonly #mask: number;
  /** Per-worker count columns. */
  readonly workers: number;
  /** Slots in the table. */
  readonly slots: number;

  /** A view of `buffer`; a new buffer (all zero) is set up for `workers` columns. */
  constructor(readonly buffer: SharedArrayBuffer, workers = 0) {
    const a = new Int32Array(buffer);
    if (a[0] === 0) {
      if (workers < 1) throw new Error("a new shared concurrency table needs a worker count");
      Atomics.compareExchange(a, 0, 0, workers);
    }
    this.workers = Atomics.load(a, 0);
    this.#stride = FIXED + this.workers;
    let slots = 16;
    while ((HEADER + slots * 2 * this.#stride) * 4 <= buffer.byteLength) slots *= 2;
    if ((HEADER + slots * this.#stride) * 4 > buffer.byteLength) {
      throw new Error(
        `shared concurrency buffer of ${buffer.byteLength} bytes is too small; ` +
          `allocate sharedConcurrencyBytes() bytes`,
      );
    }
    this.slots = slots;
    this.#mask = slots - 1;
    this.#a = a;
  }

  /** A new empty table (main thread; hand `.buffer` to workers). */
  static create(
    workers: number,
    slots: number = DEFAULT_CONCURRENCY_SLOTS,
  ): SharedConcurrencyTable {
    return new SharedConcurrencyTable(
      new SharedArrayBuffer(sharedConcurrencyBytes(workers, slots)),
      workers,
    );
  }

  #base(s: number): number {
    return HEADER + s * this.#stride;
  }

  /**
   * One more request for the key (h1, h2) counted in worker column `col`
   * unless `max` are in progress: the slot index, -1 when full, -2 when the
   * key's window has no room (not counted).
   */
  enter(h1: number, h2: number, max: number, col: number): number {
    const a = this.#a;
    const home = (h1 >>> 0) & this.#mask;
    const claim = this.#base(home) + 1;
    lockWord(a, claim);
    try {
      // Twice: a free slot found in the scan can be claimed by another key
      // (its home lock differs) before this claim takes it.
      for (let attempt = 0; attempt < 2; attempt++) {
        let free = -1;
        for (let p = 0; p < PROBES; p++) {
          const s = (home + p) & this.#mask;
          const b = this.#base(s);
          lockWord(a, b);
          const total = a[b + 4];
          if (total > 0 && a[b + 2] === h1 && a[b + 3] === h2) {
            const full = total >= max;
            if (!full) this.#add(b, col);
            unlockWord(a, b);
            return full ? -1 : s;
          }
          unlockWord(a, b);
          if (total === 0 && free < 0) free = s;
        }
        if (free < 0) return -2;
        const b = this.#base(free);
        lockWord(a, b);
        if (a[b + 4] !== 0) {
          unlockWord(a, b);
          continue;
        }
        a[b + 2] = h1;
        a[b + 3] = h2;
        if (max >= 1) this.#add(b, col);
        unlockWord(a, b);
        return max >= 1 ? free : -1;
      }
      return -2;
    } finally {
      unlockWord(a, claim);
    }
  }

  #add(b: number, col: number): void {
    const a = this.#a;
    a[b + 4]++;
    a[b + FIXED + col]++;
  }

  /** Ends one request counted in slot `s`, column `col`. */
  leave(s: number, col: number): void {
    const a = this.#a;
    const b = this.#base(s);
    lockWord(a, b);
    // Column cleared meanwhile (clearWorker): nothing left to give back.
    if (a[b + FIXED + col] > 0) {
      a[b + FIXED + col]--;
      a[b + 4]--;
    }
    unlockWord(a, b);
  }

  /** Requests in progress for the key (h1, h2). */
  count(h1: number, h2: number): number {
    const a = this.#a;
    const home = (h1 >>> 0) & this.#mask;
    for (let p = 0; p < PROBES; p++) {
      const b = this.#base((home + p) & this.#mask);
      if (Atomics.load(a, b + 4) > 0 && a[b + 2] === h1 && a[b + 3] === h2) {
        return Atomics.load(a, b + 4);
      }
    }
    return 0;
  }

  /** Forgets every hold of worker column `col` (that worker is being (re)started). */
  clearWorker(col: number): void {
    const a = this.#a;
    for (let s = 0; s < this.slots; s++) {
      const b = this.#base(s);
      if (Atomics.load(a, b + FIXED + col) === 0) continue;
      lockWord(a, b);
      a[b + 4] -= a[b + FIXED + col];
      a[b + FIXED + col] = 0;
      unlockWord(a, b);
    }
  }

  /** Slots with requests in progress (diagnostics, tests). */
  get used(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) if (Atomics.load(this.#a, this.#base(s) + 4) > 0) n++;
    return n;
  }
}

/** A counter over a SharedConcurrencyTable for the worker thread with column `col`. */
export class SharedConcurrency implements ConcurrencyCounter {
  constructor(readonly table: SharedConcurrencyTable, readonly col: number) {
    if (!(col >= 0 && col < table.workers)) {
      throw new Error(`worker index ${col} outside the shared table's ${table.workers} columns`);
    }
  }

  enter(key: string, max: number): Hold | null {
    const s = this.table.enter(fnv(0x811c9dc5, key), mix(0x2545f491, key), max, this.col);
    if (s === -1) return null;
    if (s === -2) return NOOP;
    return new SharedHold(this.table, s, this.col);
  }

  count(key: string): number {
    return this.table.count(fnv(0x811c9dc5, key), mix(0x2545f491, key));
  }
}

class SharedHold implements Hold {
  #table: SharedConcurrencyTable | null;
  constructor(table: SharedConcurrencyTable, readonly slot: number, readonly col: number) {
    this.#table = table;
  }
  release(): void {
    const t = this.#table;
    if (t === null) return;
    this.#table = null;
    t.leave(this.slot, this.col);
  }
}

let current: ConcurrencyCounter | null = null;

/**
 * Makes policies compiled from now on in this thread count requests in
 * progress in the shared table over `buffer`, as worker `index` (a worker
 * calls this at start, which also drops whatever its previous incarnation
 * still held); null goes back to per-thread counting.
 */
export function useSharedConcurrency(buffer: SharedArrayBuffer | null, index = 0): void {
  if (buffer === null) {
    current = null;
    return;
  }
  const t = new SharedConcurrencyTable(buffer);
  t.clearWorker(index);
  current = new SharedConcurrency(t, index);
}

/** The counter policies use in this thread: the shared one, else a per-thread one. */
export function concurrencyCounter(): ConcurrencyCounter {
  return current ??= new LocalConcurrency();
}
