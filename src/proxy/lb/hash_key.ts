/** Which request attribute a hashing balancer hashes. */
import type { HashOn } from "../../snapshot/types.ts";
import type { PickContext } from "./types.ts";

/**
 * The hash key for a request: the configured header if present, else the
 * configured cookie if present, else the source IP (when `sourceIp` is set, or
 * when nothing at all is configured). Null means "no key": pick at random.
 */
export function hashKeyOf(ctx: PickContext, hashOn: HashOn | undefined): string | null {
  if (hashOn === undefined) return ctx.sourceIp === "" ? null : ctx.sourceIp;
  if (hashOn.header !== "") {
    const v = ctx.header(hashOn.header.toLowerCase());
    if (v !== null) return v;
  }
  if (hashOn.cookie !== "") {
    const v = ctx.cookie(hashOn.cookie);
    if (v !== null) return v;
  }
  const useIp = hashOn.sourceIp || (hashOn.header === "" && hashOn.cookie === "");
  return useIp && ctx.sourceIp !== "" ? ctx.sourceIp : null;
}
