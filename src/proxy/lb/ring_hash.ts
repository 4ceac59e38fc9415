/**
 * Ketama-style consistent hashing: every ready endpoint owns a number of
 * points on a 32-bit ring proportional to its weight; a request goes to the
 * owner of the first point at or after its key's hash. Unhealthy or excluded
 * owners are skipped clockwise, so health flips move only that endpoint's keys.
 */
import type { HashOn } from "../../snapshot/types.ts";
import { type EndpointSet, type EndpointState, isExcluded } from "./endpoints.ts";
import { hash32 } from "./hash.ts";
import type { RandomSource } from "./picker.ts";
import { HashPicker } from "./hash_picker.ts";

/** Ring size bounds: enough points for an even spread, bounded memory. */
export const MIN_RING_SIZE = 1024;
export const MAX_RING_SIZE = 65536;
export const POINTS_PER_ENDPOINT = 160;

export class RingHashPicker extends HashPicker {
  readonly #points: Uint32Array;
  readonly #owners: Int32Array;

  constructor(
    set: EndpointSet,
    hashOn: HashOn | undefined,
    random: RandomSource,
  ) {
    super(set, hashOn, random);
    const ready = set.all.filter((s) => s.endpoint.ready);
    const sumW = ready.reduce((a, s) => a + s.weight, 0);
    const size = Math.min(
      MAX_RING_SIZE,
      Math.max(MIN_RING_SIZE, ready.length * POINTS_PER_ENDPOINT),
    );
    const pts: [number, number][] = [];
    for (const s of ready) {
      const count = Math.max(1, Math.round((size * s.weight) / sumW));
      for (let i = 0; i < count; i++) pts.push([hash32(`${s.key}_${i}`), s.index]);
    }
    // Ties broken by endpoint index so the ring does not depend on input order quirks.
    pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.#points = Uint32Array.from(pts, (p) => p[0]);
    this.#owners = Int32Array.from(pts, (p) => p[1]);
  }

  /** Number of points on the ring (for tests and diagnostics). */
  get size(): number {
    return this.#points.length;
  }

  /** Owner of the first usable, non-excluded point at or after `h`. */
  override lookup(h: number, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    const pts = this.#points;
    const n = pts.length;
    if (n === 0) return null;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pts[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    const all = this.set.all;
    for (let step = 0; step < n; step++) {
      const s = all[this.#owners[(lo + step) % n]];
      if (s.healthy && !isExcluded(s, exclude)) return s;
    }
    return null;
  }
}
