/**
 * What ring hash and Maglev share: hash the request's key (header, cookie or
 * source IP) and look it up; a request without a key falls back to weighted
 * random. Subclasses only build their table and implement `lookup`.
 */
import type { HashOn } from "../../snapshot/types.ts";
import type { EndpointSet, EndpointState } from "./endpoints.ts";
import { hash32 } from "./hash.ts";
import { hashKeyOf } from "./hash_key.ts";
import type { Picker, RandomSource } from "./picker.ts";
import { weightedRandom } from "./random.ts";
import type { PickContext } from "./types.ts";

export abstract class HashPicker implements Picker {
  constructor(
    protected readonly set: EndpointSet,
    protected readonly hashOn: HashOn | undefined,
    protected readonly random: RandomSource,
  ) {}

  pick(ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null {
    if (this.set.available.length === 0) return null;
    const key = hashKeyOf(ctx, this.hashOn);
    if (key === null) {
      return weightedRandom(
        exclude && exclude.size
          ? this.set.available.filter((s) => !exclude.has(s.key))
          : this.set.available,
        this.set.uniformWeights,
        this.random,
      );
    }
    return this.lookup(hash32(key), exclude);
  }

  /** The endpoint owning hash `h`, skipping unusable or excluded owners. */
  abstract lookup(h: number, exclude: ReadonlySet<string> | undefined): EndpointState | null;
}
