import assert from "node:assert/strict";
import { parseGrpcTimeout } from "../../../src/proxy/core/proxy.ts";

Deno.test("parseGrpcTimeout: every unit in milliseconds, at least 1; malformed or absent is 0", () => {
  const cases: [string | null, number][] = [
    ["2H", 7_200_000],
    ["3M", 180_000],
    ["5S", 5000],
    ["250m", 250],
    ["1500u", 2],
    ["1n", 1],
    ["99999999m", 99_999_999],
    ["123456789m", 0], // more than 8 digits
    ["5s", 0], // units are case-sensitive
    ["S", 0],
    ["-1S", 0],
    ["", 0],
    [null, 0],
  ];
  for (const [v, ms] of cases) assert.equal(parseGrpcTimeout(v), ms, String(v));
});
