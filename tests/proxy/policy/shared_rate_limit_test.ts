import assert from "node:assert/strict";
import {
  SharedBucketTable,
  sharedRateLimitBytes,
  SharedTokenBucketLimiter,
} from "../../../src/proxy/policy/shared_rate_limit.ts";
import { TokenBucketLimiter } from "../../../src/proxy/policy/rate_limit.ts";
import { compilePolicies } from "../../../src/proxy/policy/compile.ts";
import type { Policy, Route } from "../../../src/snapshot/types.ts";

function clock() {
  const c = { t: 1000, now: () => c.t };
  return c;
}

Deno.test("shared bucket: same answers as the per-thread token bucket", () => {
  const c = clock();
  const shared = new SharedTokenBucketLimiter(SharedBucketTable.create(64), "p", 10, 5, c.now);
  const local = new TokenBucketLimiter(10, 5, c.now);
  // A fixed walk of takes and clock steps, including a step back in time.
  const steps = [0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 250, 0, 0, 0, 50, 0, -500, 0, 60_000, 0, 0, 0];
  for (const [i, dt] of steps.entries()) {
    c.t += dt;
    for (const key of ["a", "b"]) {
      assert.equal(shared.take(key), local.take(key), `step ${i} key ${key}`);
    }
  }
});

Deno.test("shared bucket: two views of one buffer (two threads) draw from one budget", () => {
  const c = clock();
  const buf = new SharedArrayBuffer(sharedRateLimitBytes(64));
  const w1 = new SharedTokenBucketLimiter(new SharedBucketTable(buf), "ns/p", 1, 4, c.now);
  const w2 = new SharedTokenBucketLimiter(new SharedBucketTable(buf), "ns/p", 1, 4, c.now);
  const other = new SharedTokenBucketLimiter(new SharedBucketTable(buf), "ns/q", 1, 4, c.now);
  const seq = [w1, w2, w1, w2, w1, w2].map((l) => l.take("10.0.0.1"));
  assert.deepEqual(seq, [0, 0, 0, 0, 1, 1]);
  assert.equal(other.take("10.0.0.1"), 0, "another policy has its own bucket");
  assert.equal(w2.take("10.0.0.2"), 0, "another key has its own bucket");
  c.t += 1000;
  assert.equal(w1.take("10.0.0.1"), 0);
  assert.equal(w2.take("10.0.0.1"), 1);
});

Deno.test("shared bucket: memory is fixed; refilled slots are reused before draining ones", () => {
  const c = clock();
  const t = SharedBucketTable.create(16);
  assert.equal(t.slots, 16);
  const l = new SharedTokenBucketLimiter(t, "p", 1, 2, c.now);
  for (let i = 0; i < 1000; i++) l.take(`k${i}`);
  assert.equal(t.used, 16, "never more slots than the table has");
  // A draining key survives new keys while refilled slots can be taken over.
  const c2 = clock();
  const t2 = SharedBucketTable.create(16);
  const l2 = new SharedTokenBucketLimiter(t2, "p", 1, 2, c2.now);
  for (let i = 0; i < 15; i++) l2.take(`old${i}`); // full again 1 s later
  l2.take("hot");
  l2.take("hot");
  assert.ok(l2.take("hot") > 0, "hot is empty");
  c2.t += 1500; // old buckets full; hot holds 1.5 tokens
  for (let i = 0; i < 15; i++) assert.equal(l2.take(`new${i}`), 0);
  assert.equal(t2.used, 16);
  assert.equal(l2.take("hot"), 0, "hot's state kept: one whole token");
  assert.ok(l2.take("hot") > 0, "hot's state kept: then empty, not a fresh burst");
});

Deno.test("shared bucket: exact under two threads taking at once", async () => {
  const buf = new SharedArrayBuffer(sharedRateLimitBytes(1024));
  const start = new SharedArrayBuffer(4);
  const url = new URL("./_shared_take_worker.ts", import.meta.url);
  const workers = [0, 1].map(() => new Worker(url, { type: "module" }));
  try {
    const ready: Promise<void>[] = [];
    const granted = workers.map((w) => {
      let ok: () => void = () => {};
      ready.push(new Promise<void>((r) => ok = r));
      return new Promise<number>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<number | string>) => {
          if (e.data === "ready") ok();
          else resolve(Number(e.data));
        };
        w.onerror = (e) => reject(new Error(e.message));
        // 4 keys × 50,000 tokens, a negligible refill; 300,000 takes in all.
        w.postMessage({ buffer: buf, start, n: 150_000, keys: 4, burst: 50_000 });
      });
    });
    await Promise.all(ready);
    Atomics.store(new Int32Array(start), 0, 1);
    Atomics.notify(new Int32Array(start), 0);
    const g = await Promise.all(granted);
    assert.equal(g[0] + g[1], 200_000, `granted ${g.join(" + ")}`);
  } finally {
    for (const w of workers) w.terminate();
  }
});

Deno.test("shared bucket: a lock left held by a dead thread is taken over", () => {
  const c = clock();
  const buf = new SharedArrayBuffer(sharedRateLimitBytes(16));
  const t = new SharedBucketTable(buf);
  const l = new SharedTokenBucketLimiter(t, "p", 1, 2, c.now);
  assert.equal(l.take("k"), 0);
  // Every slot's lock word (the first Int32 of each 4-word slot) stuck at 1.
  const words = new Int32Array(buf, 0, t.slots * 4);
  for (let i = 0; i < t.slots; i++) words[i * 4] = 1;
  assert.equal(l.take("k"), 0, "the bucket's state is still used");
  assert.ok(l.take("k") > 0);
});

Deno.test("compilePolicies: with a shared table, worker threads share a policy's budget", () => {
  const c = clock();
  const table = SharedBucketTable.create(64);
  const policies: Policy[] = [
    { name: "ns/rl", targets: [], rateLimit: { requestsPerSecond: 1, burst: 3, key: "" } },
  ];
  const route = { policies: ["ns/rl"] } as unknown as Route;
  // Two "threads": separate compiles over views of one buffer.
  const a = compilePolicies(policies, { clock: c.now, sharedLimits: table });
  const b = compilePolicies(policies, {
    clock: c.now,
    sharedLimits: new SharedBucketTable(table.buffer),
  });
  const req = { method: "GET", sourceIp: "10.0.0.1", header: () => null, query: "" };
  const statuses = [a, b, a, b].map((s) => {
    const d = s.forRoute(route)!.check(req);
    assert.ok(!(d instanceof Promise));
    return d.allow ? 200 : d.status;
  });
  assert.deepEqual(statuses, [200, 200, 200, 429]);
  // Per-thread (no table) keeps separate budgets.
  const x = compilePolicies(policies, { clock: c.now, sharedLimits: null });
  const d = x.forRoute(route)!.check(req);
  assert.ok(!(d instanceof Promise) && d.allow);
});
