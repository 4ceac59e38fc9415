/** The internal policy interface every load-balancing algorithm implements. */
import type { PickContext } from "./types.ts";
import type { EndpointState } from "./endpoints.ts";

/** Chooses among usable endpoints; null when none is usable and not excluded. */
export interface Picker {
  pick(ctx: PickContext, exclude: ReadonlySet<string> | undefined): EndpointState | null;
}

/** Random source in [0, 1); injectable so tests are deterministic. */
export type RandomSource = () => number;
