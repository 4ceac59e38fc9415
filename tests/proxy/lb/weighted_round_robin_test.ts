import assert from "node:assert/strict";
import { createBalancer } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, ep, tally } from "./helpers.ts";

const abc = (wa: number, wb: number, wc: number) =>
  cluster("WeightedRoundRobin", [
    ep("10.0.0.1", { weight: wa }),
    ep("10.0.0.2", { weight: wb }),
    ep("10.0.0.3", { weight: wc }),
  ]);
const name: Record<string, string> = {
  "10.0.0.1:8080": "a",
  "10.0.0.2:8080": "b",
  "10.0.0.3:8080": "c",
};

Deno.test("WeightedRoundRobin: nginx smooth sequence for weights 5,1,1", () => {
  const b = createBalancer(abc(5, 1, 1), { random: () => 0 });
  const seq = Array.from({ length: 14 }, () => name[b.pick(ctx())!.key]).join("");
  assert.equal(seq, "aabacaa" + "aabacaa");
});

Deno.test("WeightedRoundRobin: exact proportions over whole cycles", () => {
  const b = createBalancer(abc(3, 2, 5));
  const t = tally(10_000, () => b.pick(ctx())?.key ?? null);
  assert.equal(t.get("10.0.0.1:8080"), 3000);
  assert.equal(t.get("10.0.0.2:8080"), 2000);
  assert.equal(t.get("10.0.0.3:8080"), 5000);
});

Deno.test("WeightedRoundRobin: never sends a heavy endpoint's whole weight in one burst", () => {
  const b = createBalancer(abc(4, 4, 1));
  const seq = Array.from({ length: 90 }, () => name[b.pick(ctx())!.key]).join("");
  assert.ok(!seq.includes("aaa") && !seq.includes("bbb"), seq);
});

Deno.test("WeightedRoundRobin: unhealthy endpoint's share goes to the others by weight", () => {
  const b = createBalancer(abc(2, 1, 1));
  b.setHealthy("10.0.0.1:8080", false);
  const t = tally(1000, () => b.pick(ctx())?.key ?? null);
  assert.equal(t.get("10.0.0.2:8080"), 500);
  assert.equal(t.get("10.0.0.3:8080"), 500);
  b.setHealthy("10.0.0.1:8080", true);
  const t2 = tally(4000, () => b.pick(ctx())?.key ?? null);
  assert.equal(t2.get("10.0.0.1:8080"), 2000);
});

Deno.test("WeightedRoundRobin: schedule phase is randomized but the cycle is the same", () => {
  const b = createBalancer(abc(5, 1, 1), { random: () => 0.5 });
  const seq = Array.from({ length: 7 }, () => name[b.pick(ctx())!.key]).join("");
  assert.notEqual(seq, "aabacaa");
  assert.ok(("aabacaa" + "aabacaa").includes(seq), seq);
});

Deno.test("WeightedRoundRobin: exclusion skips within the cycle", () => {
  const b = createBalancer(abc(5, 1, 1), { random: () => 0 });
  const ex = new Set(["10.0.0.1:8080"]);
  const t = tally(700, () => b.pick(ctx(), ex)?.key ?? null);
  assert.equal(t.get("10.0.0.1:8080"), undefined);
  assert.ok(Math.abs((t.get("10.0.0.2:8080") ?? 0) - 350) < 120, `${[...t]}`);
});

Deno.test("WeightedRoundRobin: huge weights fall back to the live algorithm with the same proportions", () => {
  const b = createBalancer(abc(3_000_000, 1_000_000, 1_000_000), { random: () => 0 });
  const t = tally(5000, () => b.pick(ctx())?.key ?? null);
  assert.equal(t.get("10.0.0.1:8080"), 3000);
  assert.equal(t.get("10.0.0.2:8080"), 1000);
});
