/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016): each ready endpoint
 * walks its own permutation of a prime-sized table, claiming empty slots in
 * turn (more turns for heavier endpoints), until the table is full. Lookup is
 * one modulo and one array read. Unhealthy or excluded owners are skipped by
 * probing the following slots, so other keys keep their endpoint.
 */
import type { HashOn } from "../../snapshot/types.ts";
import { type EndpointSet, type EndpointState, isExcluded } from "./endpoints.ts";
import { hash32 } from "./hash.ts";
import type { RandomSource } from "./picker.ts";
import { HashPicker } from "./hash_picker.ts";

/** Default table size: prime, ≥ 100 × endpoints for clusters up to ~650 endpoints. */
export const MAGLEV_TABLE_SIZE = 65537;

/**
 * Fills a Maglev lookup table (weights honored). Each slot holds the owner's
 * `EndpointState.index + 1` (0 only while building): 16-bit slots for clusters
 * under 65,535 endpoints keep a 65537-slot table at 128 KiB.
 */
export function buildMaglevTable(
  endpoints: readonly EndpointState[],
  size: number,
): Uint16Array | Uint32Array {
  const maxIndex = endpoints.reduce((m, e) => Math.max(m, e.index), 0);
  const table = maxIndex + 1 < 0xffff ? new Uint16Array(size) : new Uint32Array(size);
  const n = endpoints.length;
  if (n === 0) return table;
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const claimed = new Float64Array(n);
  let maxW = 0;
  for (let i = 0; i < n; i++) {
    const k = endpoints[i].key;
    offset[i] = hash32(k, 0xdeadbeef) % size;
    skip[i] = (hash32(k, 0x5bd1e995) % (size - 1)) + 1;
    maxW = Math.max(maxW, endpoints[i].weight);
  }
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      // Endpoint i may hold round × weight/maxW slots after this round.
      if (claimed[i] >= (round * endpoints[i].weight) / maxW) continue;
      let c = (offset[i] + next[i] * skip[i]) % size;
      while (table[c] !== 0) {
        next[i]++;
        c = (offset[i] + next[i] * skip[i]) % size;
      }
      table[c] = endpoints[i].index + 1;
      next[i]++;
      claimed[i]++;
      filled++;
    }
  }
  return table;
}

export class MaglevPicker extends HashPicker {
  readonly #table: Uint16Array | Uint32Array;

  constructor(
    set: EndpointSet,
    hashOn: HashOn | undefined,
    random: RandomSource,
    tableSize = MAGLEV_TABLE_SIZE,
  ) {
    super(set, hashOn, random);
    const ready = set.all.filter((s) => s.endpoint.ready);
    // Every endpoint needs at least one slot; a table smaller than that is a config error.
    if (ready.length >= tableSize) {
      throw new RangeError(`maglev table ${tableSize} too small for ${ready.length} endpoints`);
    }
    this.#table = buildMaglevTable(ready, tableSize);
  }

  /** Owner of slot `h mod size`, probing forward past unusable or excluded owners. */
  override lookup(h: number, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    const t = this.#table;
    const size = t.length;
    const all = this.set.all;
    const start = h % size;
    for (let step = 0; step < size; step++) {
      const owner = t[(start + step) % size];
      if (owner === 0) return null;
      const s = all[owner - 1];
      if (s.healthy && !isExcluded(s, exclude)) return s;
    }
    return null;
  }
}
