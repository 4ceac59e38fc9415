/**
 * Circuit-breaker counts shared by worker threads (core/shared_breaker.ts):
 * exact under two threads, kept by cluster name across snapshots, columns
 * of a restarted worker dropped.
 */
import assert from "node:assert/strict";
import { workerInbox } from "../../_support/worker_inbox.ts";
import {
  BreakerCounts,
  breakerCounts,
  BreakerTable,
  CONNECTIONS,
  PENDING,
  REQUESTS,
  useSharedBreakers,
} from "../../../src/proxy/core/shared_breaker.ts";
import { ClusterRuntime } from "../../../src/proxy/core/cluster.ts";
import { createBalancer } from "../../../src/proxy/lb/balancer.ts";
import { PoolRegistry } from "../../../src/proxy/upstream/registry.ts";
import { cluster } from "../_helpers.ts";

Deno.test("breaker counts: tryEnter admits up to max, leave gives back, 0 = no cap", () => {
  const c = BreakerCounts.local();
  assert.ok(c.tryEnter(REQUESTS, 2));
  assert.ok(c.tryEnter(REQUESTS, 2));
  assert.equal(c.tryEnter(REQUESTS, 2), false);
  assert.equal(c.count(REQUESTS), 2, "a refusal is not counted");
  c.leave(REQUESTS);
  assert.ok(c.tryEnter(REQUESTS, 2));
  for (let i = 0; i < 100; i++) assert.ok(c.tryEnter(PENDING, 0));
  assert.equal(c.count(PENDING), 100);
  assert.equal(c.count(CONNECTIONS), 0, "the counts are separate");
});

Deno.test("breaker table: one slot per cluster name, views over one buffer see the same counts", () => {
  const t = BreakerTable.create(2, 64);
  const a = t.slotOf("ns/a");
  const b = t.slotOf("ns/b");
  assert.notEqual(a, b);
  assert.equal(t.slotOf("ns/a"), a);
  // Another thread's view (same buffer, its own column).
  const other = new BreakerTable(t.buffer);
  assert.equal(other.workers, 2);
  assert.equal(other.slotOf("ns/a"), a);
  const w0 = t.counts(a, 0);
  const w1 = other.counts(a, 1);
  assert.ok(w0.tryEnter(REQUESTS, 2));
  assert.ok(w1.tryEnter(REQUESTS, 2));
  assert.equal(w0.tryEnter(REQUESTS, 2), false, "worker 1's request counts for worker 0");
  assert.equal(w0.count(REQUESTS), 2);
  assert.equal(w1.own(REQUESTS), 1);
  assert.equal(t.counts(b, 0).count(REQUESTS), 0, "another cluster is not affected");
  // Worker 1 restarted: what its predecessor held is dropped.
  t.clearWorker(1);
  assert.equal(w0.count(REQUESTS), 1);
  assert.equal(t.used, 2);
});

Deno.test("breaker table: a full probe window answers -1 (the caller counts per thread)", () => {
  const t = BreakerTable.create(1, 16);
  let full = 0;
  for (let i = 0; i < 40; i++) if (t.slotOf(`c${i}`) < 0) full++;
  assert.equal(t.used, 16);
  assert.equal(full, 24);
});

Deno.test("breakerCounts: runtimes of successive snapshots share the cluster's counts", () => {
  const registry = new PoolRegistry();
  try {
    const c1 = cluster("ns/swap", [1], {
      circuitBreaker: { maxRequests: 2, maxPendingRequests: 0, maxConnections: 0, maxRetries: 0 },
    });
    const old = new ClusterRuntime(c1, createBalancer(c1), registry);
    assert.ok(old.enterRequest());
    assert.ok(old.enterRequest());
    const next = new ClusterRuntime(c1, createBalancer(c1), registry);
    assert.equal(next.active, 2, "requests started under the old snapshot still count");
    assert.equal(next.enterRequest(), false);
    assert.match(
      next.requestRefusal(),
      /^circuit breaker open: requests: cluster "ns\/swap" has 2 requests in flight \(maxRequests 2\)$/,
    );
    old.leaveRequest();
    assert.ok(next.enterRequest(), "room made by the old runtime's request ending");
    old.leaveRequest();
    next.leaveRequest();
    assert.equal(next.active, 0);
    assert.equal(breakerCounts("ns/swap"), next.counts);
  } finally {
    registry.close();
  }
});

Deno.test("useSharedBreakers: a worker index outside the table is refused; null goes back to local", () => {
  const t = BreakerTable.create(2, 16);
  assert.throws(() => useSharedBreakers(t.buffer, 2), /outside the breaker table's 2 columns/);
  useSharedBreakers(t.buffer, 1);
  try {
    const c = breakerCounts("ns/in-table");
    assert.ok(c.tryEnter(CONNECTIONS, 1));
    assert.equal(t.counts(t.slotOf("ns/in-table"), 0).count(CONNECTIONS), 1);
    c.leave(CONNECTIONS);
  } finally {
    useSharedBreakers(null);
  }
  assert.equal(breakerCounts("ns/in-table").count(CONNECTIONS), 0);
});

async function startWorkers(
  buffer: SharedArrayBuffer,
  jobs: { col: number; n: number; max: number; name: string; mode: "hold" | "cycle" }[],
) {
  const probe = new SharedArrayBuffer(16);
  const url = new URL("./_breaker_worker.ts", import.meta.url);
  const workers = jobs.map(() => new Worker(url, { type: "module" }));
  const inbox = workers.map(workerInbox);
  workers.forEach((w, i) => w.postMessage({ buffer, probe, threads: jobs.length, ...jobs[i] }));
  for (const next of inbox) assert.equal(await next(), "ready");
  const p = new Int32Array(probe);
  Atomics.store(p, 0, 1);
  Atomics.notify(p, 0);
  const admitted: number[] = [];
  for (const next of inbox) admitted.push(Number(await next()));
  return { workers, inbox, admitted, mostAtOnce: Atomics.load(p, 2) };
}

Deno.test("breaker table: two threads taking at once are admitted exactly max; all given back → 0", async () => {
  const t = BreakerTable.create(2, 64);
  const { workers, inbox, admitted } = await startWorkers(t.buffer, [
    { col: 0, n: 200_000, max: 5000, name: "ns/hot", mode: "hold" },
    { col: 1, n: 200_000, max: 5000, name: "ns/hot", mode: "hold" },
  ]);
  try {
    assert.equal(admitted[0] + admitted[1], 5000, `admitted ${admitted}`);
    const view = t.counts(t.slotOf("ns/hot"), 0);
    assert.equal(view.count(REQUESTS), 5000);
    workers.forEach((w) => w.postMessage("release"));
    for (const next of inbox) assert.equal(await next(), "released");
    assert.equal(view.count(REQUESTS), 0);
  } finally {
    workers.forEach((w) => w.terminate());
  }
});

Deno.test("breaker table: two threads entering and leaving never have more than max admitted at once", async () => {
  const t = BreakerTable.create(2, 64);
  const { workers, admitted, mostAtOnce } = await startWorkers(t.buffer, [
    { col: 0, n: 1_000_000, max: 3, name: "ns/churn", mode: "cycle" },
    { col: 1, n: 1_000_000, max: 3, name: "ns/churn", mode: "cycle" },
  ]);
  try {
    assert.ok(admitted[0] > 0 && admitted[1] > 0, `both threads were admitted: ${admitted}`);
    // Counted per thread, the two would reach 6 at once.
    assert.equal(mostAtOnce, 3, `at most 3 at once (and the cap reached), saw ${mostAtOnce}`);
    assert.equal(t.counts(t.slotOf("ns/churn"), 0).count(REQUESTS), 0, "no count leaked");
  } finally {
    workers.forEach((w) => w.terminate());
  }
});

Deno.test("breakerCounts: retries in progress (the retry budget) are counted by cluster name too", () => {
  const registry = new PoolRegistry();
  try {
    const c = cluster("ns/retries", [1]);
    const a = new ClusterRuntime(c, createBalancer(c), registry);
    const b = new ClusterRuntime(c, createBalancer(c), registry);
    a.retryStarted();
    b.retryStarted();
    assert.equal(a.activeRetries, 2);
    a.retryEnded();
    assert.equal(b.activeRetries, 1);
    b.retryEnded();
    assert.equal(a.activeRetries, 0);
    assert.equal(a.counts.count(REQUESTS), 0, "separate from requests");
  } finally {
    registry.close();
  }
});
