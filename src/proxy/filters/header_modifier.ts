/** RequestHeaderModifier / ResponseHeaderModifier (Gateway API HTTPHeaderFilter). */
import type { HeaderModifier } from "../../snapshot/types.ts";
import type { HeaderList } from "./types.ts";

/**
 * Applies a header modifier in place. Names are case-insensitive (the
 * HeaderList handles case). Order: `remove`, then `set` (replaces every value
 * of that name, or adds it), then `add` (appends to existing values, so
 * `my-header: foo` + add `bar,baz` reads back as `foo, bar,baz`). Removing
 * first, as Envoy does, lets one filter both remove and re-set a name.
 */
export function applyHeaderModifier(m: HeaderModifier, h: HeaderList): void {
  const rm = m.remove;
  for (let i = 0; i < rm.length; i++) h.delete(rm[i]);
  const set = m.set;
  for (let i = 0; i < set.length; i++) h.set(set[i].name, set[i].value);
  const add = m.add;
  for (let i = 0; i < add.length; i++) h.append(add[i].name, add[i].value);
}
