import assert from "node:assert/strict";
import { createBalancer } from "../../../src/proxy/lb/mod.ts";
import { RR_SHARED_BYTES, shareRoundRobin } from "../../../src/proxy/lb/round_robin.ts";
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

Deno.test("RoundRobin: worker threads sharing counters visit endpoints in turn", () => {
  // Two balancers for one cluster, as two worker threads build them, over one
  // shared buffer; each starts where a per-thread counter would (random 0).
  const buf = new SharedArrayBuffer(RR_SHARED_BYTES);
  try {
    shareRoundRobin(buf, 0);
    const w0 = createBalancer(cluster("RoundRobin", eps(2)), { random: () => 0 });
    shareRoundRobin(buf, 1);
    const w1 = createBalancer(cluster("RoundRobin", eps(2)), { random: () => 0 });
    const seq = [w0, w1, w0, w1, w1, w0].map((b) => b.pick(ctx())?.key);
    assert.deepEqual(seq, [
      "10.0.0.1:8080",
      "10.0.0.2:8080",
      "10.0.0.1:8080",
      "10.0.0.2:8080",
      "10.0.0.1:8080",
      "10.0.0.2:8080",
    ]);
    // Another cluster name has its own counter.
    const other = createBalancer(
      { ...cluster("RoundRobin", eps(2)), name: "ns/other" },
      { random: () => 0 },
    );
    assert.equal(other.pick(ctx())?.key, "10.0.0.1:8080");
  } finally {
    shareRoundRobin(null);
  }
});

Deno.test("RoundRobin: a full shared table falls back to per-thread counters offset by worker", () => {
  const buf = new SharedArrayBuffer(RR_SHARED_BYTES);
  // Occupy every slot with a hash no cluster name below produces.
  new Int32Array(buf).fill(7);
  try {
    shareRoundRobin(buf, 0);
    const w0 = createBalancer(cluster("RoundRobin", eps(2)), { random: () => 0 });
    shareRoundRobin(buf, 1);
    const w1 = createBalancer(cluster("RoundRobin", eps(2)), { random: () => 0 });
    assert.equal(w0.pick(ctx())?.key, "10.0.0.1:8080");
    assert.equal(w1.pick(ctx())?.key, "10.0.0.2:8080", "worker 1 starts one further on");
  } finally {
    shareRoundRobin(null);
  }
});
