import assert from "node:assert/strict";
import { createBalancer } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, ep, eps, rng, tally } from "./helpers.ts";

Deno.test("RoundRobin: cycles through endpoints in order, evenly", () => {
  const b = createBalancer(cluster("RoundRobin", eps(3)), { random: () => 0 });
  const seq = Array.from({ length: 6 }, () => b.pick(ctx())?.key);
  assert.deepEqual(seq, [
    "10.0.0.1:8080",
    "10.0.0.2:8080",
    "10.0.0.3:8080",
    "10.0.0.1:8080",
    "10.0.0.2:8080",
    "10.0.0.3:8080",
  ]);
});

Deno.test("RoundRobin: ignores weights", () => {
  const b = createBalancer(
    cluster("RoundRobin", [ep("10.0.0.1", { weight: 10 }), ep("10.0.0.2", { weight: 1 })]),
    { random: rng(1) },
  );
  const t = tally(1000, () => b.pick(ctx())?.key ?? null);
  assert.equal(t.get("10.0.0.1:8080"), 500);
});

Deno.test("RoundRobin: exclusion keeps the rotation fair for the rest", () => {
  const b = createBalancer(cluster("RoundRobin", eps(3)), { random: () => 0 });
  const ex = new Set(["10.0.0.2:8080"]);
  const t = tally(1000, () => b.pick(ctx(), ex)?.key ?? null);
  assert.equal(t.get("10.0.0.2:8080"), undefined);
  assert.ok(Math.abs((t.get("10.0.0.1:8080") ?? 0) - 500) <= 170);
});
