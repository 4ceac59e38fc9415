/**
 * Smooth weighted round robin (nginx): every pick adds each candidate's weight
 * to its running weight, takes the largest and subtracts the total from it.
 * Weights 5,1,1 yield a a b a c a a — spread out, not bursts.
 */
import { type EndpointSet, type EndpointState, isExcluded } from "./endpoints.ts";
import type { Picker } from "./picker.ts";
import type { PickContext } from "./types.ts";

export class WeightedRoundRobinPicker implements Picker {
  #generation = -1;

  constructor(private readonly set: EndpointSet) {}

  pick(_ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    const av = this.set.available;
    if (this.#generation !== this.set.generation) {
      // Availability changed: restart the sequence so a returning endpoint is not starved or flooded.
      for (const s of this.set.all) s.current = 0;
      this.#generation = this.set.generation;
    }
    let best: EndpointState | null = null;
    let total = 0;
    for (let i = 0; i < av.length; i++) {
      const s = av[i];
      if (isExcluded(s, exclude)) continue;
      s.current += s.weight;
      total += s.weight;
      if (best === null || s.current > best.current) best = s;
    }
    if (best !== null) best.current -= total;
    return best;
  }
}
