import assert from "node:assert/strict";
import client from "prom-client";
import { BatchedHistogram } from "../../src/observe/metrics.ts";

async function series(reg: client.Registry): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const m of await reg.getMetricsAsJSON()) {
    // Histogram values carry the series name (…_bucket, _sum, _count).
    const values = m.values as unknown as {
      metricName?: string;
      labels: Record<string, unknown>;
      value: number;
    }[];
    for (const v of values) {
      out.set(`${v.metricName ?? m.name}|${v.labels.c}|${v.labels.le ?? ""}`, v.value);
    }
  }
  return out;
}

Deno.test("BatchedHistogram: counts, buckets and sums reach prom-client exactly on collect", async () => {
  const reg = new client.Registry();
  const h = new client.Histogram({
    name: "t_seconds",
    help: "test",
    labelNames: ["c"] as const,
    buckets: [0.1, 1],
    registers: [reg],
  });
  const b = new BatchedHistogram(h, "c");
  for (const v of [0.05, 0.1, 0.5, 2, 3]) b.observe("x", v);
  b.observe("y", 0.2);
  let s = await series(reg);
  assert.equal(s.get("t_seconds_bucket|x|0.1"), 2);
  assert.equal(s.get("t_seconds_bucket|x|1"), 3);
  assert.equal(s.get("t_seconds_bucket|x|+Inf"), 5);
  assert.equal(s.get("t_seconds_count|x|"), 5);
  assert.ok(Math.abs(s.get("t_seconds_sum|x|")! - 5.65) < 1e-9);
  assert.equal(s.get("t_seconds_count|y|"), 1);
  // Later observations add to what was handed over; direct observes still count.
  b.observe("x", 0.01);
  h.observe({ c: "x" }, 0.01);
  s = await series(reg);
  assert.equal(s.get("t_seconds_bucket|x|0.1"), 4);
  assert.equal(s.get("t_seconds_count|x|"), 7);
  assert.ok(Math.abs(s.get("t_seconds_sum|x|")! - 5.67) < 1e-9);
  // Nothing pending: reading again changes nothing.
  assert.equal((await series(reg)).get("t_seconds_count|x|"), 7);
});
