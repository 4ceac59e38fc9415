import assert from "node:assert/strict";
import { createBalancer } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, ep, eps, rng, tally } from "./helpers.ts";

Deno.test("LeastRequest: with two endpoints always picks the less loaded", () => {
  const b = createBalancer(cluster("LeastRequest", eps(2)), { random: rng(21) });
  b.onStart("10.0.0.1:8080");
  for (let i = 0; i < 50; i++) assert.equal(b.pick(ctx())?.key, "10.0.0.2:8080");
  b.onEnd("10.0.0.1:8080");
  b.onStart("10.0.0.2:8080");
  for (let i = 0; i < 50; i++) assert.equal(b.pick(ctx())?.key, "10.0.0.1:8080");
});

Deno.test("LeastRequest: a busy endpoint gets far less traffic than idle ones", () => {
  const b = createBalancer(cluster("LeastRequest", eps(5)), { random: rng(22) });
  for (let i = 0; i < 10; i++) b.onStart("10.0.0.3:8080");
  const t = tally(10_000, () => b.pick(ctx())?.key ?? null);
  // P2C: the busy endpoint is chosen only when sampled twice — impossible with distinct samples.
  assert.equal(t.get("10.0.0.3:8080"), undefined);
  assert.equal(t.size, 4);
});

Deno.test("LeastRequest: balances a closed-loop workload", () => {
  const b = createBalancer(cluster("LeastRequest", eps(4)), { random: rng(23) });
  const inflight: string[] = [];
  const r = rng(24);
  for (let i = 0; i < 5000; i++) {
    const p = b.pick(ctx())!;
    b.onStart(p.key);
    inflight.push(p.key);
    if (inflight.length > 40) {
      const j = Math.floor(r() * inflight.length);
      b.onEnd(inflight[j]);
      inflight.splice(j, 1);
    }
  }
  const loads = eps(4).map((e) => b.active(`${e.address}:8080`));
  assert.equal(loads.reduce((a, x) => a + x, 0), 40);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 6, `${loads}`);
});

Deno.test("LeastRequest: weights favor heavier endpoints when idle", () => {
  const b = createBalancer(
    cluster("LeastRequest", [ep("10.0.0.1", { weight: 1 }), ep("10.0.0.2", { weight: 5 })]),
    { random: rng(25) },
  );
  const t = tally(100, () => b.pick(ctx())?.key ?? null);
  assert.equal(t.get("10.0.0.2:8080"), 100);
});
