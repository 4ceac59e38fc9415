/** RingHash and Maglev: stickiness, spread, minimal disruption, key selection. */
import assert from "node:assert/strict";
import type { Endpoint, LbPolicy } from "../../../src/snapshot/types.ts";
import { buildMaglevTable, createBalancer } from "../../../src/proxy/lb/mod.ts";
import { EndpointState } from "../../../src/proxy/lb/endpoints.ts";
import { cluster, ctx, ep, eps, rng, tally } from "./helpers.ts";

const KEYS = 20_000;
const keyCtx = (i: number) => ctx("", { "x-user": `user-${i}` });
const hashOn = { header: "x-user", cookie: "", sourceIp: false };

function assignment(policy: LbPolicy, endpoints: Endpoint[]): (string | null)[] {
  const b = createBalancer(cluster(policy, endpoints, { hashOn }), { random: rng(1) });
  return Array.from({ length: KEYS }, (_, i) => b.pick(keyCtx(i))?.key ?? null);
}

for (const policy of ["RingHash", "Maglev"] as const) {
  Deno.test(`${policy}: same key, same endpoint; across balancer rebuilds too`, () => {
    const a = createBalancer(cluster(policy, eps(8), { hashOn }), { random: rng(2) });
    const b = createBalancer(cluster(policy, eps(8).reverse(), { hashOn }), { random: rng(3) });
    for (let i = 0; i < 500; i++) {
      const k = a.pick(keyCtx(i))?.key;
      assert.equal(a.pick(keyCtx(i))?.key, k);
      assert.equal(b.pick(keyCtx(i))?.key, k, "endpoint order must not matter");
    }
  });

  Deno.test(`${policy}: keys spread evenly over endpoints`, () => {
    const a = assignment(policy, eps(10));
    const t = tally(KEYS, (i) => a[i]);
    assert.equal(t.size, 10);
    for (const n of t.values()) assert.ok(Math.abs(n - KEYS / 10) < KEYS / 10 * 0.25, `${[...t]}`);
  });

  Deno.test(`${policy}: removing one of n endpoints remaps only about 1/n of keys`, () => {
    const all = eps(10);
    const before = assignment(policy, all);
    const removed = "10.0.0.4:8080";
    const after = assignment(policy, all.filter((e) => e.address !== "10.0.0.4"));
    let moved = 0;
    let movedOthers = 0;
    for (let i = 0; i < KEYS; i++) {
      if (before[i] !== after[i]) {
        moved++;
        if (before[i] !== removed) movedOthers++;
      }
    }
    const frac = moved / KEYS;
    assert.ok(frac > 0.05 && frac < 0.16, `moved ${frac}`);
    // Ring hash moves nothing else; Maglev may shuffle a little at the margin.
    const limit = policy === "RingHash" ? 0 : KEYS * 0.03;
    assert.ok(movedOthers <= limit, `moved others ${movedOthers}`);
  });

  Deno.test(`${policy}: an unhealthy endpoint's keys move, all others stay`, () => {
    const b = createBalancer(cluster(policy, eps(6), { hashOn }), { random: rng(4) });
    const before = Array.from({ length: 3000 }, (_, i) => b.pick(keyCtx(i))!.key);
    b.setHealthy("10.0.0.2:8080", false);
    const during = Array.from({ length: 3000 }, (_, i) => b.pick(keyCtx(i))!.key);
    for (let i = 0; i < 3000; i++) {
      if (before[i] === "10.0.0.2:8080") assert.notEqual(during[i], "10.0.0.2:8080");
      else assert.equal(during[i], before[i]);
    }
    b.setHealthy("10.0.0.2:8080", true);
    const after = Array.from({ length: 3000 }, (_, i) => b.pick(keyCtx(i))!.key);
    assert.deepEqual(after, before);
  });

  Deno.test(`${policy}: weights scale the share of keys`, () => {
    const a = assignment(policy, [ep("10.0.0.1", { weight: 3 }), ep("10.0.0.2", { weight: 1 })]);
    const t = tally(KEYS, (i) => a[i]);
    const share = (t.get("10.0.0.1:8080") ?? 0) / KEYS;
    assert.ok(Math.abs(share - 0.75) < 0.05, `share ${share}`);
  });

  Deno.test(`${policy}: hash key is header, then cookie, then source IP`, () => {
    const both = { header: "x-user", cookie: "sid", sourceIp: true };
    const b = createBalancer(cluster(policy, eps(16), { hashOn: both }), { random: rng(5) });
    // Source IP: stable per IP when no header and no cookie.
    const ipPick = b.pick(ctx("198.51.100.7"))!.key;
    for (let i = 0; i < 20; i++) assert.equal(b.pick(ctx("198.51.100.7"))!.key, ipPick);
    // The header overrides the IP: many IPs with the same header land together.
    const byHeader = tally(200, (i) => b.pick(ctx(`198.51.100.${i}`, { "x-user": "u1" }))!.key);
    assert.equal(byHeader.size, 1);
    const byCookie = tally(200, (i) => b.pick(ctx(`198.51.100.${i}`, {}, { sid: "s1" }))!.key);
    assert.equal(byCookie.size, 1);
    // Different IPs spread when hashing on IP.
    const byIp = tally(400, (i) => b.pick(ctx(`198.51.${i >> 8}.${i & 255}`))!.key);
    assert.ok(byIp.size >= 12, `${byIp.size}`);
  });

  Deno.test(`${policy}: with no hash key available the pick is random but valid`, () => {
    const b = createBalancer(cluster(policy, eps(4), { hashOn }), { random: rng(6) });
    const t = tally(2000, () => b.pick(ctx(""))?.key ?? null);
    assert.equal(t.size, 4);
    assert.equal(t.get("null"), undefined);
  });

  Deno.test(`${policy}: default hash key (no hashOn) is the source IP`, () => {
    const b = createBalancer(cluster(policy, eps(8)), { random: rng(7) });
    const k = b.pick(ctx("203.0.113.9"))!.key;
    for (let i = 0; i < 20; i++) assert.equal(b.pick(ctx("203.0.113.9"))!.key, k);
  });
}

Deno.test("buildMaglevTable: every slot filled; equal weights differ by at most one slot", () => {
  const states = eps(7).map((e, i) => new EndpointState(e, i));
  const t = buildMaglevTable(states, 65537);
  const counts = new Array(7).fill(0);
  for (const x of t) {
    assert.ok(x >= 1 && x <= 7);
    counts[x - 1]++;
  }
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${counts}`);
});

Deno.test("buildMaglevTable: weighted slots are proportional", () => {
  const states = [
    ep("10.0.0.1", { weight: 1 }),
    ep("10.0.0.2", { weight: 2 }),
    ep("10.0.0.3", { weight: 5 }),
  ]
    .map((e, i) => new EndpointState(e, i));
  const t = buildMaglevTable(states, 65537);
  const counts = [0, 0, 0];
  for (const x of t) counts[x - 1]++;
  assert.ok(Math.abs(counts[0] / 65537 - 1 / 8) < 0.005, `${counts}`);
  assert.ok(Math.abs(counts[2] / 65537 - 5 / 8) < 0.005, `${counts}`);
});
