/**
 * A cluster's circuit-breaker counts — requests in flight (maxRequests),
 * requests waiting for a connection or a stream (maxPendingRequests),
 * upstream connections open (maxConnections) and retries in progress
 * (maxRetries, the retry budget) — counted once for the agent,
 * not once per worker thread, and kept by cluster name so they survive
 * snapshot swaps (a request started under the old snapshot gives back what
 * it took to the same counter the new snapshot's runtime reads).
 *
 * With worker threads the counts live in one SharedArrayBuffer made by the
 * main thread (BreakerTable) and handed to every worker at start
 * (useSharedBreakers). Layout (Int32 words):
 *
 * - header: worker columns, slots;
 * - keys: per slot (lock, hash 1, hash 2, claimed) — a cluster name is
 *   hashed to 64 bits and claimed in one of PROBES consecutive slots under
 *   the slot's lock, at snapshot apply time only (never on the request
 *   path). Slots are never freed (like the round-robin table): names are
 *   clusters, not clients, and a table full of them falls back to a
 *   per-thread count for the newcomers;
 * - counts: one column per worker, so only the owning thread ever writes a
 *   word (`Atomics.add` / `Atomics.sub`), and a worker (re)started with
 *   index i zeroes column i: the counts its crashed predecessor held died
 *   with its requests and connections.
 *
 * Admission under a limit is "add, then sum the columns; over the limit →
 * subtract and refuse": with sequentially consistent Atomics the last of
 * any max+1 concurrent adds sees all of them, so more than `max` are never
 * admitted at once (two racing threads may both refuse at the very edge —
 * the safe side). Cost: one Atomics.add, one load per worker column; an
 * unlimited counter is one Atomics.add / Atomics.sub. No lock on that path.
 *
 * A single-thread agent (no workers) uses the same counters over a private
 * one-column buffer per cluster name.
 */
import { fnv, lockWord, mix, roundPow2, unlockWord } from "../policy/shared_lock.ts";

/** Which count of a cluster. */
export const REQUESTS = 0;
/** Requests waiting for an upstream connection (HTTP/1.1) or stream (HTTP/2). */
export const PENDING = 1;
/** Upstream connections open. */
export const CONNECTIONS = 2;
/** Retries in progress (the retry budget, circuitBreaker.maxRetries). */
export const RETRIES = 3;
/** Counts per cluster. */
const COUNTS = 4;
/** Key words per slot: lock, hash 1, hash 2, claimed. */
const KEY_WORDS = 4;
/** Header words: worker columns, slots. */
const HEADER = 4;
/** Slots probed for one name. */
const PROBES = 16;
/** Default cluster slots of a shared table. */
export const DEFAULT_BREAKER_SLOTS = 4096;

/** Bytes a table for `workers` threads and `slots` clusters (a power of two) needs. */
export function sharedBreakerBytes(
  workers: number,
  slots: number = DEFAULT_BREAKER_SLOTS,
): number {
  return (HEADER + roundPow2(slots) * (KEY_WORDS + COUNTS * Math.max(1, workers))) * 4;
}

/** One cluster's counts as one thread sees them (its own column + everyone's sum). */
export class BreakerCounts {
  readonly #a: Int32Array;
  /** Word of this thread's REQUESTS count; PENDING and CONNECTIONS follow. */
  readonly #own: number;
  /** Word of column 0's REQUESTS count. */
  readonly #first: number;
  /** Words between two columns' counts of one cluster. */
  readonly #stride: number;
  readonly #columns: number;

  constructor(a: Int32Array, own: number, first: number, stride: number, columns: number) {
    this.#a = a;
    this.#own = own;
    this.#first = first;
    this.#stride = stride;
    this.#columns = columns;
  }

  /** A private one-column set (single thread, or a full shared table). */
  static local(): BreakerCounts {
    return new BreakerCounts(new Int32Array(new SharedArrayBuffer(COUNTS * 4)), 0, 0, COUNTS, 1);
  }

  /** The agent-wide count `c` (REQUESTS, PENDING, CONNECTIONS or RETRIES). */
  count(c: number): number {
    const a = this.#a;
    let n = 0;
    for (let i = 0, w = this.#first + c; i < this.#columns; i++, w += this.#stride) {
      n += Atomics.load(a, w);
    }
    return n;
  }

  /** This thread's part of count `c`. */
  own(c: number): number {
    return Atomics.load(this.#a, this.#own + c);
  }

  /**
   * One more of `c` unless that would make more than `max` (0 = no limit):
   * true when counted — give it back with leave(c) exactly once.
   */
  tryEnter(c: number, max: number): boolean {
    const a = this.#a;
    const w = this.#own + c;
    const before = Atomics.add(a, w, 1);
    if (max <= 0) return true;
    // One column (one thread): the add's result is the whole count.
    if ((this.#columns === 1 ? before + 1 : this.count(c)) <= max) return true;
    Atomics.sub(a, w, 1);
    return false;
  }

  /** One less of `c` (pairs with a successful tryEnter). */
  leave(c: number): void {
    Atomics.sub(this.#a, this.#own + c, 1);
  }
}

/** The shared table (a view of the SharedArrayBuffer; one per thread). */
export class BreakerTable {
  readonly #a: Int32Array;
  readonly #mask: number;
  /** Worker columns. */
  readonly workers: number;
  /** Cluster slots. */
  readonly slots: number;
  /** First word of the counts area. */
  readonly #counts: number;

  /** A view of `buffer`; a new buffer (all zero) is set up for `workers` columns. */
  constructor(readonly buffer: SharedArrayBuffer, workers = 0) {
    const a = new Int32Array(buffer);
    if (Atomics.load(a, 0) === 0) {
      if (workers < 1) throw new Error("a new shared breaker table needs a worker count");
      let slots = 16;
      while ((HEADER + slots * 2 * (KEY_WORDS + COUNTS * workers)) * 4 <= buffer.byteLength) {
        slots *= 2;
      }
      if ((HEADER + slots * (KEY_WORDS + COUNTS * workers)) * 4 > buffer.byteLength) {
        throw new Error(
          `shared breaker buffer of ${buffer.byteLength} bytes is too small; ` +
            `allocate sharedBreakerBytes() bytes`,
        );
      }
      Atomics.store(a, 1, slots);
      Atomics.compareExchange(a, 0, 0, workers);
    }
    this.workers = Atomics.load(a, 0);
    this.slots = Atomics.load(a, 1);
    this.#mask = this.slots - 1;
    this.#counts = HEADER + this.slots * KEY_WORDS;
    this.#a = a;
  }

  /** A new empty table (main thread; hand `.buffer` to workers). */
  static create(workers: number, slots: number = DEFAULT_BREAKER_SLOTS): BreakerTable {
    return new BreakerTable(
      new SharedArrayBuffer(sharedBreakerBytes(workers, slots)),
      workers,
    );
  }

  /** The slot of cluster `name`, claimed if new; -1 when its probe window is full. */
  slotOf(name: string): number {
    const a = this.#a;
    let h1 = fnv(0x811c9dc5, name);
    const h2 = mix(0x2545f491, name);
    if (h1 === 0) h1 = 1;
    const home = (h1 >>> 0) & this.#mask;
    for (let p = 0; p < PROBES; p++) {
      const s = (home + p) & this.#mask;
      const k = HEADER + s * KEY_WORDS;
      lockWord(a, k);
      try {
        if (a[k + 3] === 0) {
          a[k + 1] = h1;
          a[k + 2] = h2;
          Atomics.store(a, k + 3, 1);
          return s;
        }
        if (a[k + 1] === h1 && a[k + 2] === h2) return s;
      } finally {
        unlockWord(a, k);
      }
    }
    return -1;
  }

  /** Counts of slot `s` as seen by worker column `col`. */
  counts(s: number, col: number): BreakerCounts {
    const stride = this.slots * COUNTS;
    const first = this.#counts + s * COUNTS;
    return new BreakerCounts(this.#a, first + col * stride, first, stride, this.workers);
  }

  /** Zeroes worker column `col` (that worker is being (re)started). */
  clearWorker(col: number): void {
    const a = this.#a;
    const from = this.#counts + col * this.slots * COUNTS;
    for (let w = from; w < from + this.slots * COUNTS; w++) {
      if (Atomics.load(a, w) !== 0) Atomics.store(a, w, 0);
    }
  }

  /** Clusters with a slot (diagnostics, tests). */
  get used(): number {
    let n = 0;
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.load(this.#a, HEADER + s * KEY_WORDS + 3) !== 0) n++;
    }
    return n;
  }
}

let table: BreakerTable | null = null;
let column = 0;
/** Counts by cluster name in this thread (one object per name: runtimes of every snapshot share it). */
const byName = new Map<string, BreakerCounts>();

/**
 * Makes this thread count circuit-breaker state in the shared table over
 * `buffer` as worker `index` (a worker calls this at start, which also drops
 * whatever its previous incarnation still held); null goes back to
 * per-thread counts. Call before any cluster is built.
 */
export function useSharedBreakers(buffer: SharedArrayBuffer | null, index = 0): void {
  byName.clear();
  if (buffer === null) {
    table = null;
    column = 0;
    return;
  }
  const t = new BreakerTable(buffer);
  if (!(index >= 0 && index < t.workers)) {
    throw new Error(`worker index ${index} outside the breaker table's ${t.workers} columns`);
  }
  t.clearWorker(index);
  table = t;
  column = index;
}

/** The counts of cluster `name` in this thread (shared across workers when set up). */
export function breakerCounts(name: string): BreakerCounts {
  let b = byName.get(name);
  if (b === undefined) {
    const s = table === null ? -1 : table.slotOf(name);
    b = s < 0 ? BreakerCounts.local() : table!.counts(s, column);
    byName.set(name, b);
  }
  return b;
}
