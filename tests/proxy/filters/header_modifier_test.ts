import assert from "node:assert/strict";
import type { HeaderModifier } from "../../../src/snapshot/types.ts";
import { applyHeaderModifier } from "../../../src/proxy/filters/mod.ts";

const mod = (m: Partial<HeaderModifier>): HeaderModifier => ({
  set: m.set ?? [],
  add: m.add ?? [],
  remove: m.remove ?? [],
});

// Cases from the Gateway API HTTPHeaderFilter documentation, plus case-insensitivity.
const CASES: {
  name: string;
  input: [string, string][];
  m: HeaderModifier;
  want: Record<string, string | null>;
}[] = [
  {
    name: "set overwrites an existing value (spec example)",
    input: [["my-header", "foo"]],
    m: mod({ set: [{ name: "my-header", value: "bar" }] }),
    want: { "my-header": "bar" },
  },
  {
    name: "add appends to existing values (spec example)",
    input: [["my-header", "foo"]],
    m: mod({ add: [{ name: "my-header", value: "bar,baz" }] }),
    want: { "my-header": "foo, bar,baz" },
  },
  {
    name: "remove deletes listed headers only (spec example)",
    input: [["my-header1", "foo"], ["my-header2", "bar"], ["my-header3", "baz"]],
    m: mod({ remove: ["my-header1", "my-header3"] }),
    want: { "my-header1": null, "my-header2": "bar", "my-header3": null },
  },
  {
    name: "set adds a missing header",
    input: [],
    m: mod({ set: [{ name: "X-New", value: "1" }] }),
    want: { "x-new": "1" },
  },
  {
    name: "names are case-insensitive for set, add and remove",
    input: [["X-Env", "prod"], ["X-Drop", "1"], ["x-multi", "a"]],
    m: mod({
      set: [{ name: "x-env", value: "canary" }],
      add: [{ name: "X-MULTI", value: "b" }],
      remove: ["x-DROP"],
    }),
    want: { "x-env": "canary", "x-drop": null, "x-multi": "a, b" },
  },
  {
    name: "set replaces every value of a repeated header",
    input: [["x-r", "1"], ["x-r", "2"]],
    m: mod({ set: [{ name: "x-r", value: "3" }] }),
    want: { "x-r": "3" },
  },
  {
    name: "remove runs before set and add, so a name can be replaced in one filter",
    input: [["x-a", "old"]],
    m: mod({ remove: ["x-a"], add: [{ name: "x-a", value: "new" }] }),
    want: { "x-a": "new" },
  },
  {
    name: "set then add of the same name keeps both",
    input: [],
    m: mod({ set: [{ name: "x-s", value: "1" }], add: [{ name: "x-s", value: "2" }] }),
    want: { "x-s": "1, 2" },
  },
];

for (const c of CASES) {
  Deno.test(`applyHeaderModifier: ${c.name}`, () => {
    const h = new Headers();
    for (const [k, v] of c.input) h.append(k, v);
    applyHeaderModifier(c.m, h);
    for (const [k, v] of Object.entries(c.want)) assert.equal(h.get(k), v, k);
  });
}
