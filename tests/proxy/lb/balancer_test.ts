/** Behaviour every policy shares: health, readiness, exclusion, empty clusters. */
import assert from "node:assert/strict";
import type { LbPolicy } from "../../../src/snapshot/types.ts";
import { createBalancer, endpointKey } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, ep, eps, rng, tally } from "./helpers.ts";

const POLICIES: LbPolicy[] = [
  "RoundRobin",
  "WeightedRoundRobin",
  "Random",
  "LeastRequest",
  "RingHash",
  "Maglev",
];
const opts = (seed: number) => ({ random: rng(seed), maglevTableSize: 1009 });

for (const policy of POLICIES) {
  Deno.test(`createBalancer(${policy}): empty cluster picks null`, () => {
    assert.equal(createBalancer(cluster(policy, []), opts(1)).pick(ctx()), null);
  });

  Deno.test(`createBalancer(${policy}): picks only ready endpoints`, () => {
    const b = createBalancer(
      cluster(policy, [
        ep("10.0.0.1", { ready: false }),
        ep("10.0.0.2"),
        ep("10.0.0.3", { ready: false }),
      ]),
      opts(2),
    );
    const t = tally(300, (i) => b.pick(ctx(`198.51.100.${i % 250}`))?.key ?? null);
    assert.deepEqual([...t.keys()], ["10.0.0.2:8080"]);
  });

  Deno.test(`createBalancer(${policy}): unhealthy endpoints are skipped and return when healthy`, () => {
    const b = createBalancer(cluster(policy, eps(3)), opts(3));
    b.setHealthy("10.0.0.2:8080", false);
    const t = tally(600, (i) => b.pick(ctx(`198.51.100.${i % 250}`))?.key ?? null);
    assert.equal(t.get("10.0.0.2:8080"), undefined);
    assert.ok((t.get("10.0.0.1:8080") ?? 0) > 0 && (t.get("10.0.0.3:8080") ?? 0) > 0);
    b.setHealthy("10.0.0.2:8080", true);
    const t2 = tally(600, (i) => b.pick(ctx(`198.51.100.${i % 250}`))?.key ?? null);
    assert.ok((t2.get("10.0.0.2:8080") ?? 0) > 0);
  });

  Deno.test(`createBalancer(${policy}): all unhealthy picks null`, () => {
    const b = createBalancer(cluster(policy, eps(3)), opts(4));
    for (const e of eps(3)) b.setHealthy(endpointKey(e), false);
    for (let i = 0; i < 20; i++) assert.equal(b.pick(ctx(`198.51.100.${i}`)), null);
  });

  Deno.test(`createBalancer(${policy}): exclude avoids endpoints already tried`, () => {
    const b = createBalancer(cluster(policy, eps(3)), opts(5));
    for (let i = 0; i < 100; i++) {
      const c = ctx(`198.51.100.${i}`);
      const first = b.pick(c);
      assert.ok(first);
      const second = b.pick(c, new Set([first.key]));
      assert.ok(second);
      assert.notEqual(second.key, first.key);
      const third = b.pick(c, new Set([first.key, second.key]));
      assert.ok(third);
      assert.ok(third.key !== first.key && third.key !== second.key);
      assert.equal(b.pick(c, new Set([first.key, second.key, third.key])), null);
    }
  });

  Deno.test(`createBalancer(${policy}): weight 0 counts as 1 and every endpoint gets traffic`, () => {
    const b = createBalancer(cluster(policy, eps(4, { weight: 0 })), opts(6));
    const t = tally(4000, (i) => b.pick(ctx(`203.0.113.${i % 256}`, {}, {}))?.key ?? null);
    assert.equal(t.size, 4);
    for (const n of t.values()) assert.ok(n > 500, `${[...t]}`);
  });

  Deno.test(`createBalancer(${policy}): pick objects are reused (no per-pick allocation)`, () => {
    const b = createBalancer(cluster(policy, eps(1)), opts(7));
    assert.equal(b.pick(ctx()), b.pick(ctx()));
  });
}

Deno.test("endpointKey: IPv4 and bracketed IPv6", () => {
  assert.equal(endpointKey(ep("10.1.2.3", { port: 80 })), "10.1.2.3:80");
  assert.equal(endpointKey(ep("fd00::1", { port: 443 })), "[fd00::1]:443");
});

Deno.test("createBalancer: duplicate address:port endpoints are merged", () => {
  const b = createBalancer(
    cluster("RoundRobin", [ep("10.0.0.1"), ep("10.0.0.1"), ep("10.0.0.2")]),
    opts(8),
  );
  const t = tally(1000, () => b.pick(ctx())?.key ?? null);
  assert.equal(t.get("10.0.0.1:8080"), 500);
  assert.equal(t.get("10.0.0.2:8080"), 500);
});

Deno.test("createBalancer: onStart/onEnd track in-flight requests and ignore unknown keys", () => {
  const b = createBalancer(cluster("LeastRequest", eps(2)), opts(9));
  b.onStart("10.0.0.1:8080");
  b.onStart("10.0.0.1:8080");
  b.onStart("nope:1");
  assert.equal(b.active("10.0.0.1:8080"), 2);
  b.onEnd("10.0.0.1:8080");
  b.onEnd("10.0.0.1:8080");
  b.onEnd("10.0.0.1:8080");
  assert.equal(b.active("10.0.0.1:8080"), 0);
  b.setHealthy("nope:1", false);
});

Deno.test("createBalancer: IPv6 endpoints accept bracketed and plain keys for health and counts", () => {
  const b = createBalancer(cluster("RoundRobin", [ep("fd00::1"), ep("fd00::2")]), opts(10));
  b.setHealthy("fd00::1:8080", false);
  for (let i = 0; i < 10; i++) assert.equal(b.pick(ctx())?.key, "[fd00::2]:8080");
  b.setHealthy("fd00::1:8080", true);
  b.setHealthy("[fd00::2]:8080", false);
  for (let i = 0; i < 10; i++) assert.equal(b.pick(ctx())?.key, "[fd00::1]:8080");
  b.onStart("fd00::1:8080");
  assert.equal(b.active("[fd00::1]:8080"), 1);
});

Deno.test("createBalancer: unhealthy option carries health across snapshots; endpoints() reports state", () => {
  const b = createBalancer(
    cluster("RoundRobin", [
      ep("10.0.0.1"),
      ep("10.0.0.2", { weight: 0 }),
      ep("10.0.0.3", { ready: false }),
    ]),
    {
      ...opts(11),
      unhealthy: ["10.0.0.1:8080", "unknown:1"],
    },
  );
  for (let i = 0; i < 10; i++) assert.equal(b.pick(ctx())?.key, "10.0.0.2:8080");
  b.onStart("10.0.0.2:8080");
  assert.deepEqual(b.endpoints(), [
    { key: "10.0.0.1:8080", ready: true, healthy: false, weight: 1, active: 0 },
    { key: "10.0.0.2:8080", ready: true, healthy: true, weight: 1, active: 1 },
    { key: "10.0.0.3:8080", ready: false, healthy: true, weight: 1, active: 0 },
  ]);
});
