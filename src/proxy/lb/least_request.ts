/**
 * Least request by "power of two choices": sample two distinct usable
 * endpoints and take the one with fewer requests in flight (divided by weight
 * when weights differ). Near-optimal balance at O(1) cost, and no herd effect
 * on the single least-loaded endpoint.
 */
import { candidates, type EndpointSet, type EndpointState } from "./endpoints.ts";
import type { Picker, RandomSource } from "./picker.ts";
import type { PickContext } from "./types.ts";

export class LeastRequestPicker implements Picker {
  constructor(private readonly set: EndpointSet, private readonly random: RandomSource) {}

  pick(_ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    const list = candidates(this.set, exclude);
    const n = list.length;
    if (n === 0) return null;
    if (n === 1) return list[0];
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    const a = list[i];
    const b = list[j];
    if (this.set.uniformWeights) return b.active < a.active ? b : a;
    // (active + 1) / weight: an idle heavy endpoint beats an idle light one.
    return (b.active + 1) * a.weight < (a.active + 1) * b.weight ? b : a;
  }
}
