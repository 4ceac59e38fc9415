import assert from "node:assert/strict";
import { decodeQueryComponent, queryParam } from "../../../src/proxy/router/query.ts";

const CASES: [string, string, string | null][] = [
  ["", "a", null],
  ["a=1", "a", "1"],
  ["a=1&b=2", "b", "2"],
  ["a=1&a=2", "a", "1"],
  ["ab=1&a=2", "a", "2"],
  ["a", "a", ""],
  ["a=", "a", ""],
  ["&&a=1&&", "a", "1"],
  ["a=x=y", "a", "x=y"],
  ["a%20b=1", "a b", "1"],
  ["a+b=1", "a b", "1"],
  ["a%20b=1", "a%20b", null],
  ["k=a%2Fb", "k", "a/b"],
  ["k=a+b", "k", "a b"],
  ["k=%zz", "k", "%zz"],
  ["K=1", "k", null],
];

for (const [query, name, want] of CASES) {
  Deno.test(`queryParam(${JSON.stringify(query)}, ${JSON.stringify(name)}) = ${want}`, () => {
    assert.equal(queryParam(query, name), want);
    // The reference semantics are URLSearchParams' for well-formed input.
    if (!query.includes("%zz")) assert.equal(new URLSearchParams(query).get(name), want);
  });
}

Deno.test("decodeQueryComponent: plain strings are returned as is", () => {
  const s = "plain";
  assert.equal(decodeQueryComponent(s), s);
  assert.equal(decodeQueryComponent("a+b%21"), "a b!");
});
