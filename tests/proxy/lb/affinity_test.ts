import assert from "node:assert/strict";
import type { LbPolicy } from "../../../src/snapshot/types.ts";
import { createBalancer } from "../../../src/proxy/lb/mod.ts";
import { cluster, ctx, eps, rng } from "./helpers.ts";

const affinity = { cookie: "NOVAEDGE_AFFINITY", ttlSeconds: 3600 };

function cookieValue(setCookie: string): string {
  const first = setCookie.split(";")[0];
  return first.slice(first.indexOf("=") + 1);
}

for (const policy of ["RoundRobin", "LeastRequest", "Maglev"] as LbPolicy[]) {
  Deno.test(`affinity(${policy}): first pick sets a cookie that pins later picks`, () => {
    const b = createBalancer(cluster(policy, eps(5), { sessionAffinity: affinity }), {
      random: rng(1),
      maglevTableSize: 1009,
    });
    const first = b.pick(ctx("198.51.100.1"))!;
    assert.ok(first.setCookie);
    assert.match(
      first.setCookie,
      /^NOVAEDGE_AFFINITY=[0-9a-f]{16}; Path=\/; HttpOnly; Max-Age=3600$/,
    );
    assert.ok(!first.setCookie.includes("10.0.0"), "cookie must not leak the address");
    const v = cookieValue(first.setCookie);
    for (let i = 0; i < 50; i++) {
      const p = b.pick(ctx(`198.51.100.${i}`, {}, { NOVAEDGE_AFFINITY: v }))!;
      assert.equal(p.key, first.key);
      assert.equal(p.setCookie, undefined);
    }
  });
}

Deno.test("affinity: cookie naming an unhealthy endpoint re-picks and sets a new cookie", () => {
  const b = createBalancer(cluster("RoundRobin", eps(3), { sessionAffinity: affinity }), {
    random: rng(2),
  });
  const first = b.pick(ctx())!;
  const v = cookieValue(first.setCookie!);
  b.setHealthy(first.key, false);
  const p = b.pick(ctx("", {}, { NOVAEDGE_AFFINITY: v }))!;
  assert.notEqual(p.key, first.key);
  assert.ok(p.setCookie && cookieValue(p.setCookie) !== v);
  b.setHealthy(first.key, true);
  assert.equal(b.pick(ctx("", {}, { NOVAEDGE_AFFINITY: v }))!.key, first.key);
});

Deno.test("affinity: unknown or stale cookie values fall back to the policy", () => {
  const b = createBalancer(cluster("RoundRobin", eps(3), { sessionAffinity: affinity }), {
    random: rng(3),
  });
  const p = b.pick(ctx("", {}, { NOVAEDGE_AFFINITY: "deadbeefdeadbeef" }))!;
  assert.ok(p.setCookie);
});

Deno.test("affinity: an excluded pinned endpoint is not reused on retry", () => {
  const b = createBalancer(cluster("RoundRobin", eps(3), { sessionAffinity: affinity }), {
    random: rng(4),
  });
  const first = b.pick(ctx())!;
  const v = cookieValue(first.setCookie!);
  const retry = b.pick(ctx("", {}, { NOVAEDGE_AFFINITY: v }), new Set([first.key]))!;
  assert.notEqual(retry.key, first.key);
  assert.ok(retry.setCookie);
});

Deno.test("affinity: session cookie without TTL has no Max-Age", () => {
  const b = createBalancer(
    cluster("Random", eps(2), { sessionAffinity: { cookie: "s", ttlSeconds: 0 } }),
    { random: rng(5) },
  );
  assert.match(b.pick(ctx())!.setCookie!, /^s=[0-9a-f]{16}; Path=\/; HttpOnly$/);
});

Deno.test("affinity: without sessionAffinity no cookie is set", () => {
  const b = createBalancer(cluster("RoundRobin", eps(2)), { random: rng(6) });
  assert.equal(b.pick(ctx())!.setCookie, undefined);
});
