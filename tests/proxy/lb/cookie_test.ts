import assert from "node:assert/strict";
import { cookieValue } from "../../../src/proxy/lb/mod.ts";

const CASES: [string | null, string, string | null][] = [
  [null, "a", null],
  ["", "a", null],
  ["a=1", "a", "1"],
  ["a=1; b=2", "b", "2"],
  ["a=1;b=2", "b", "2"],
  ["ab=1; a=2", "a", "2"],
  ["a=1; a=2", "a", "1"],
  ["  a = 1 ; b=2", "a", "1"],
  ['sid="quoted"', "sid", "quoted"],
  ["a=1, b=2", "b", "2"], // two Cookie headers joined with ", "
  ["a=x=y", "a", "x=y"],
  ["a=", "a", ""],
  ["a", "a", null],
  ["A=1", "a", null],
  ["NOVAEDGE_AFFINITY=0123456789abcdef; theme=dark", "NOVAEDGE_AFFINITY", "0123456789abcdef"],
];

for (const [header, name, want] of CASES) {
  Deno.test(`cookieValue(${JSON.stringify(header)}, ${name}) = ${want}`, () => {
    assert.equal(cookieValue(header, name), want);
  });
}
