import assert from "node:assert/strict";
import { shouldMirror } from "../../../src/proxy/filters/mod.ts";

const CASES: [number, number, boolean][] = [
  [100, 0.999, true],
  [100, 0, true],
  [0, 0, false],
  [0, 0.5, false],
  [50, 0.49, true],
  [50, 0.5, false],
  [1, 0.0099, true],
  [1, 0.01, false],
  [NaN, 0, false],
];

for (const [percent, rand, want] of CASES) {
  Deno.test(`shouldMirror(${percent}, ${rand}) = ${want}`, () => {
    assert.equal(shouldMirror(percent, rand), want);
  });
}

Deno.test("shouldMirror: the share follows percent over uniform draws", () => {
  let n = 0;
  for (let i = 0; i < 10_000; i++) if (shouldMirror(25, i / 10_000)) n++;
  assert.equal(n, 2500);
});
