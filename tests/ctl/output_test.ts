import assert from "node:assert/strict";
import { age, humanDuration, renderData, renderTable } from "../../src/ctl/output.ts";

Deno.test("renderTable aligns columns three spaces apart with no trailing spaces", () => {
  const text = renderTable({
    headers: ["NAME", "CLASS", "AGE"],
    rows: [["web", "novaedge", "5m"], ["a-much-longer-name", "x", ""]],
  });
  assert.equal(
    text,
    [
      "NAME                 CLASS      AGE",
      "web                  novaedge   5m",
      "a-much-longer-name   x",
    ].join("\n"),
  );
});

Deno.test("humanDuration follows kubectl's AGE format at each boundary", () => {
  const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
  const cases: [number, string][] = [
    [-5 * s, "0s"],
    [0, "0s"],
    [119 * s, "119s"],
    [2 * m, "2m"],
    [5 * m + 30 * s, "5m30s"],
    [10 * m + 59 * s, "10m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [7 * h + 59 * m, "7h59m"],
    [8 * h + 30 * m, "8h"],
    [47 * h, "47h"],
    [2 * d, "2d"],
    [3 * d + 4 * h, "3d4h"],
    [8 * d + 5 * h, "8d"],
    [729 * d, "729d"],
    [730 * d, "2y"],
    [3 * 365 * d + 10 * d, "3y10d"],
    [9 * 365 * d + 10 * d, "9y"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

Deno.test("age reads creationTimestamp; missing or garbage is <unknown>", () => {
  const now = new Date("2026-11-23T12:00:00Z");
  assert.equal(age("2026-11-23T11:55:00Z", now), "5m");
  assert.equal(age(undefined, now), "<unknown>");
  assert.equal(age("yesterday-ish", now), "<unknown>");
});

Deno.test("renderData writes JSON and YAML that parse back to the value", async () => {
  const v = { a: [1, { b: "x: y" }], c: null };
  assert.deepEqual(JSON.parse(renderData(v, "json")), v);
  const { parse } = await import("yaml");
  assert.deepEqual(parse(renderData(v, "yaml")), v);
});
