/** Plain round robin over usable endpoints, ignoring weights. */
import { type EndpointSet, type EndpointState, isExcluded } from "./endpoints.ts";
import type { Picker, RandomSource } from "./picker.ts";
import type { PickContext } from "./types.ts";

export class RoundRobinPicker implements Picker {
  #next: number;

  constructor(private readonly set: EndpointSet, random: RandomSource) {
    // Random start so agents restarted together do not hit the same endpoint first.
    this.#next = Math.floor(random() * 0x7fffffff);
  }

  pick(_ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    const av = this.set.available;
    const n = av.length;
    for (let tries = 0; tries < n; tries++) {
      const s = av[this.#next++ % n];
      if (this.#next >= 0x7fffffff) this.#next = 0;
      if (!isExcluded(s, exclude)) return s;
    }
    return null;
  }
}
