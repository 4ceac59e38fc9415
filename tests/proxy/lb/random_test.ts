import assert from "node:assert/strict";
import { createBalancer } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, ep, eps, rng, tally } from "./helpers.ts";

Deno.test("Random: uniform spread within tolerance (fixed seed)", () => {
  const b = createBalancer(cluster("Random", eps(5)), { random: rng(11) });
  const t = tally(50_000, () => b.pick(ctx())?.key ?? null);
  for (const n of t.values()) assert.ok(Math.abs(n - 10_000) < 500, `${[...t]}`);
});

Deno.test("Random: honors weights", () => {
  const b = createBalancer(
    cluster("Random", [ep("10.0.0.1", { weight: 1 }), ep("10.0.0.2", { weight: 3 })]),
    { random: rng(12) },
  );
  const t = tally(40_000, () => b.pick(ctx())?.key ?? null);
  const share = (t.get("10.0.0.2:8080") ?? 0) / 40_000;
  assert.ok(Math.abs(share - 0.75) < 0.015, `share ${share}`);
});
