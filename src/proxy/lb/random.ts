/** Random choice over usable endpoints, weighted by Endpoint.weight. */
import { candidates, type EndpointSet, type EndpointState } from "./endpoints.ts";
import type { Picker, RandomSource } from "./picker.ts";
import type { PickContext } from "./types.ts";

/** Weighted random usable endpoint by binary search over the running totals. */
export function weightedRandomAvailable(
  set: EndpointSet,
  random: RandomSource,
): EndpointState | null {
  const list = set.available;
  const n = list.length;
  if (n === 0) return null;
  if (set.uniformWeights || n === 1) return list[Math.floor(random() * n)];
  const cum = set.cumulative;
  const r = random() * cum[n - 1];
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid] <= r) lo = mid + 1;
    else hi = mid;
  }
  return list[lo];
}

/** Weighted random element of `list` (uniform when `uniform`); linear, for filtered lists. */
export function weightedRandom(
  list: readonly EndpointState[],
  uniform: boolean,
  random: RandomSource,
): EndpointState | null {
  const n = list.length;
  if (n === 0) return null;
  if (uniform || n === 1) return list[Math.floor(random() * n)];
  let total = 0;
  for (let i = 0; i < n; i++) total += list[i].weight;
  let r = random() * total;
  for (let i = 0; i < n; i++) {
    r -= list[i].weight;
    if (r < 0) return list[i];
  }
  return list[n - 1];
}

export class RandomPicker implements Picker {
  constructor(private readonly set: EndpointSet, private readonly random: RandomSource) {}

  pick(_ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    if (exclude === undefined || exclude.size === 0) {
      return weightedRandomAvailable(this.set, this.random);
    }
    return weightedRandom(candidates(this.set, exclude), this.set.uniformWeights, this.random);
  }
}
