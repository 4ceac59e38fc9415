import assert from "node:assert/strict";
import { workerInbox } from "../../_support/worker_inbox.ts";
import {
  concurrencyCounter,
  LocalConcurrency,
  SharedConcurrency,
  SharedConcurrencyTable,
  useSharedConcurrency,
} from "../../../src/proxy/policy/concurrency.ts";
import { compilePolicies } from "../../../src/proxy/policy/compile.ts";
import type { Route } from "../../../src/snapshot/types.ts";

Deno.test("local concurrency: at most max per key; release once; memory follows what is held", () => {
  const c = new LocalConcurrency();
  const a = [c.enter("a", 2), c.enter("a", 2)];
  assert.ok(a[0] && a[1]);
  assert.equal(c.enter("a", 2), null, "third over the limit");
  assert.ok(c.enter("b", 2), "another key has its own count");
  a[0]!.release();
  a[0]!.release(); // a second release gives nothing back
  assert.equal(c.count("a"), 1);
  const again = c.enter("a", 2);
  assert.ok(again);
  assert.equal(c.enter("a", 2), null);
  a[1]!.release();
  again!.release();
  assert.equal(c.count("a"), 0);
  assert.equal(c.size, 1, "only b is still tracked");
});

Deno.test("shared concurrency: two views (two threads) count one total per key", () => {
  const t = SharedConcurrencyTable.create(2, 64);
  const w0 = new SharedConcurrency(new SharedConcurrencyTable(t.buffer), 0);
  const w1 = new SharedConcurrency(new SharedConcurrencyTable(t.buffer), 1);
  const h = [w0.enter("p\0ip", 3), w1.enter("p\0ip", 3), w0.enter("p\0ip", 3)];
  assert.ok(h.every((x) => x !== null));
  assert.equal(w1.enter("p\0ip", 3), null);
  assert.equal(w0.count("p\0ip"), 3);
  assert.ok(w1.enter("q\0ip", 3), "another policy/key has its own count");
  h[1]!.release();
  h[1]!.release();
  assert.equal(w0.count("p\0ip"), 2);
  assert.ok(w1.enter("p\0ip", 3));
  assert.throws(() => new SharedConcurrency(t, 2), /outside the shared table's 2 columns/);
});

Deno.test("shared concurrency: memory is fixed; a full window lets requests through uncounted", () => {
  const t = SharedConcurrencyTable.create(1, 16);
  assert.equal(t.slots, 16);
  const c = new SharedConcurrency(t, 0);
  const held = [];
  for (let i = 0; i < 100; i++) held.push(c.enter(`k${i}`, 1));
  assert.equal(t.used, 16, "never more slots than the table has");
  assert.ok(held.every((h) => h !== null), "no client refused because the table is full");
  for (const h of held) h!.release();
  assert.equal(t.used, 0, "released slots are free again");
  const h = c.enter("k0", 1);
  assert.ok(h);
  assert.equal(c.enter("k0", 1), null, "counted again once there is room");
});

async function startWorkers(
  buffer: SharedArrayBuffer,
  jobs: { col: number; n: number; keys: number; max: number }[],
) {
  const start = new SharedArrayBuffer(4);
  const url = new URL("./_concurrency_worker.ts", import.meta.url);
  const workers = jobs.map(() => new Worker(url, { type: "module" }));
  const inbox = workers.map(workerInbox);
  workers.forEach((w, i) => w.postMessage({ buffer, start, ...jobs[i] }));
  for (const next of inbox) assert.equal(await next(), "ready");
  const go = new Int32Array(start);
  Atomics.store(go, 0, 1);
  Atomics.notify(go, 0);
  const admitted: number[] = [];
  for (const next of inbox) admitted.push(Number(await next()));
  return { workers, inbox, admitted };
}

Deno.test("shared concurrency: exact under two threads entering at once; all released → 0", async () => {
  const t = SharedConcurrencyTable.create(2, 1024);
  const { workers, inbox, admitted } = await startWorkers(t.buffer, [
    { col: 0, n: 60_000, keys: 10, max: 5000 },
    { col: 1, n: 60_000, keys: 10, max: 5000 },
  ]);
  try {
    assert.equal(admitted[0] + admitted[1], 10 * 5000, `admitted ${admitted}`);
    const view = new SharedConcurrency(t, 0);
    for (let k = 0; k < 10; k++) assert.equal(view.count(`ns/p\0k${k}`), 5000);
    workers.forEach((w) => w.postMessage("release"));
    for (const next of inbox) assert.equal(await next(), "released");
    assert.equal(t.used, 0);
  } finally {
    workers.forEach((w) => w.terminate());
  }
});

Deno.test("shared concurrency: holds of a terminated worker are dropped when its index restarts", async () => {
  const t = SharedConcurrencyTable.create(2, 64);
  const { workers, admitted } = await startWorkers(t.buffer, [{ col: 1, n: 3, keys: 1, max: 3 }]);
  workers[0].terminate(); // dies holding 3
  assert.equal(admitted[0], 3);
  const alive = new SharedConcurrency(t, 0);
  assert.equal(alive.count("ns/p\0k0"), 3);
  assert.equal(alive.enter("ns/p\0k0", 3), null, "the dead worker's holds still count");
  try {
    useSharedConcurrency(t.buffer, 1); // what a restarted worker 1 does at init
    assert.equal(alive.count("ns/p\0k0"), 0);
    const h = concurrencyCounter().enter("ns/p\0k0", 3);
    assert.ok(h && alive.enter("ns/p\0k0", 3), "the client is served again");
  } finally {
    useSharedConcurrency(null);
  }
});

Deno.test("compiled policies: every connection limit on a route must have room; a refusal gives back what it took", () => {
  const c = new LocalConcurrency();
  const set = compilePolicies([
    { name: "ns/a", targets: [], connectionLimit: { perClientIp: 1 } },
    { name: "ns/b", targets: [], connectionLimit: { perClientIp: 2 } },
  ], { concurrency: c });
  const rp = set.forRoute({ policies: ["ns/b", "ns/a"] } as unknown as Route)!;
  assert.ok(rp.limitsConcurrency);
  const req = (ip: string) => ({ method: "GET", sourceIp: ip, header: () => null, query: "" });
  const first = rp.enter(req("::ffff:10.0.0.1"));
  assert.ok("release" in first);
  assert.equal(c.count("ns/a\x0010.0.0.1"), 1, "keyed by the normalised address");
  const second = rp.enter(req("10.0.0.1"));
  assert.ok(!("release" in second));
  assert.equal(second.status, 503);
  assert.match(second.reason, /^policy ns\/a: connection limit: source 10\.0\.0\.1 already has 1/);
  assert.equal(
    c.count("ns/b\x0010.0.0.1"),
    1,
    "ns/b's slot taken for the refused request was given back",
  );
  assert.ok("release" in rp.enter(req("10.0.0.2")), "other clients are unaffected");
  first.release();
  assert.equal(c.count("ns/a\x0010.0.0.1") + c.count("ns/b\x0010.0.0.1"), 0);
});
