/**
 * Plain round robin over usable endpoints, ignoring weights.
 *
 * With data-plane workers, each thread has its own balancer per cluster; a
 * per-thread counter would let every thread send its first request to the
 * same endpoint. So workers share one counter per cluster name in a
 * SharedArrayBuffer handed to them at start (`shareRoundRobin`): a pick is one
 * `Atomics.add`, and the cluster's endpoints are visited in turn across all
 * threads. The table has RR_SHARED_SLOTS slots claimed by a hash of the
 * cluster name (never freed); when it is full, a cluster falls back to a
 * per-thread counter started at the worker's index.
 */
import { type EndpointSet, type EndpointState, isExcluded } from "./endpoints.ts";
import type { Picker, RandomSource } from "./picker.ts";
import type { PickContext } from "./types.ts";

/** Cluster counters a shared table holds. */
export const RR_SHARED_SLOTS = 4096;
/** Bytes of the SharedArrayBuffer shareRoundRobin expects. */
export const RR_SHARED_BYTES = RR_SHARED_SLOTS * 2 * 4;
const PROBES = 16;

let shared: Int32Array | null = null;
let workerIndex = 0;

/**
 * Makes this thread's round-robin pickers (built from now on) count in a
 * table shared with the other workers; `index` offsets the fallback
 * per-thread counter. `null` goes back to per-thread counters.
 */
export function shareRoundRobin(buffer: SharedArrayBuffer | null, index = 0): void {
  shared = buffer === null ? null : new Int32Array(buffer, 0, RR_SHARED_SLOTS * 2);
  workerIndex = index;
}

/** FNV-1a of the name, never 0 (0 marks a free slot). */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h === 0 ? 1 : h | 0;
}

/** The counter word for `name` in `table`, claiming a slot if needed; -1 when full. */
function counterSlot(table: Int32Array, name: string, random: RandomSource): number {
  const h = nameHash(name);
  for (let p = 0; p < PROBES; p++) {
    const i = ((h >>> 0) + p) % RR_SHARED_SLOTS * 2;
    const seen = Atomics.compareExchange(table, i, 0, h);
    if (seen === 0) {
      // Random start, so agents restarted together do not hit the same endpoint first.
      Atomics.store(table, i + 1, Math.floor(random() * 0x7fffffff));
      return i + 1;
    }
    if (seen === h) return i + 1;
  }
  return -1;
}

export class RoundRobinPicker implements Picker {
  #next: number;
  readonly #table: Int32Array | null;
  readonly #word: number;

  constructor(private readonly set: EndpointSet, random: RandomSource, name = "") {
    const t = shared;
    this.#word = t === null || name === "" ? -1 : counterSlot(t, name, random);
    this.#table = this.#word < 0 ? null : t;
    // Random start so agents restarted together do not hit the same endpoint
    // first; workers without a shared slot are spread by their index.
    this.#next = (Math.floor(random() * 0x7fffffff) + workerIndex) % 0x7fffffff;
  }

  pick(_ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    const av = this.set.available;
    const n = av.length;
    const t = this.#table;
    for (let tries = 0; tries < n; tries++) {
      let s: EndpointState;
      if (t !== null) {
        s = av[(Atomics.add(t, this.#word, 1) >>> 0) % n];
      } else {
        s = av[this.#next++ % n];
        if (this.#next >= 0x7fffffff) this.#next = 0;
      }
      if (!isExcluded(s, exclude)) return s;
    }
    return null;
  }
}
