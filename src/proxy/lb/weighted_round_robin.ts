/**
 * Smooth weighted round robin (nginx): every pick adds each candidate's weight
 * to its running weight, takes the largest and subtracts the total from it.
 * Weights 5,1,1 yield a a b a c a a — spread out, not bursts.
 *
 * The sequence is periodic with period = sum of weights, so when that period
 * is small enough it is precomputed once per availability change and a pick
 * is one array read; large clusters with huge weights run the O(n) step live.
 */
import { type EndpointSet, type EndpointState, isExcluded } from "./endpoints.ts";
import type { Picker, RandomSource } from "./picker.ts";
import type { PickContext } from "./types.ts";

/** Upper bound on schedule build work (period × endpoints) per availability change. */
export const MAX_SCHEDULE_WORK = 4_000_000;

export class WeightedRoundRobinPicker implements Picker {
  #generation = -1;
  #schedule: Int32Array | null = null;
  #pos = 0;

  constructor(private readonly set: EndpointSet, private readonly random: RandomSource) {}

  pick(_ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    if (this.#generation !== this.set.generation) this.#rebuild();
    const av = this.set.available;
    const sched = this.#schedule;
    if (sched !== null) {
      const n = sched.length;
      for (let step = 0; step < n; step++) {
        const s = av[sched[this.#pos]];
        this.#pos = this.#pos + 1 === n ? 0 : this.#pos + 1;
        if (!isExcluded(s, exclude)) return s;
      }
      return null;
    }
    return smoothStep(av, exclude);
  }

  #rebuild(): void {
    this.#generation = this.set.generation;
    const av = this.set.available;
    for (const s of this.set.all) s.current = 0;
    const total = av.reduce((a, s) => a + s.weight, 0);
    if (total === 0 || total * av.length > MAX_SCHEDULE_WORK) {
      this.#schedule = null;
      return;
    }
    const sched = new Int32Array(total);
    const index = new Map<EndpointState, number>(av.map((s, i) => [s, i]));
    for (let i = 0; i < total; i++) sched[i] = index.get(smoothStep(av, undefined)!)!;
    for (const s of av) s.current = 0;
    this.#schedule = sched;
    // Random phase so agents rebuilt together do not all start on the same endpoint.
    this.#pos = Math.floor(this.random() * total) % total;
  }
}

/** One step of nginx's smooth weighted round robin over `list` minus `exclude`. */
function smoothStep(
  list: readonly EndpointState[],
  exclude: ReadonlySet<string> | undefined,
): EndpointState | null {
  let best: EndpointState | null = null;
  let total = 0;
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    if (isExcluded(s, exclude)) continue;
    s.current += s.weight;
    total += s.weight;
    if (best === null || s.current > best.current) best = s;
  }
  if (best !== null) best.current -= total;
  return best;
}
