/// <reference lib="deno.worker" />
/**
 * Test worker for shared_breaker_test.ts: as worker column `col` of a shared
 * breaker table, once the start word is set, either takes `n` requests of
 * cluster `name` under `max` and keeps them ("hold"), or keeps taking and
 * giving back up to `max` of its own ("cycle") while counting, in a probe
 * word, how many are admitted at once across threads. Reports how many it
 * was admitted; "release" gives back what it holds.
 */
import { BreakerTable, REQUESTS } from "../../../src/proxy/core/shared_breaker.ts";

interface Job {
  buffer: SharedArrayBuffer;
  /**
   * Word 0: start flag; word 1: admitted now (all threads); word 2: most seen
   * at once; word 3: threads past the start line.
   */
  probe: SharedArrayBuffer;
  /** Threads taking part (the start barrier). */
  threads: number;
  col: number;
  n: number;
  max: number;
  name: string;
  mode: "hold" | "cycle";
}

let held = 0;
let release: (() => void) | null = null;

self.onmessage = (e: MessageEvent<Job | "release">) => {
  if (e.data === "release") {
    release?.();
    self.postMessage("released");
    return;
  }
  const j = e.data;
  const t = new BreakerTable(j.buffer);
  const c = t.counts(t.slotOf(j.name), j.col);
  const p = new Int32Array(j.probe);
  self.postMessage("ready");
  // Both threads start at the same moment, so their updates interleave.
  Atomics.wait(p, 0, 0);
  // Spin until every thread woke: wake-ups take longer than thousands of takes.
  Atomics.add(p, 3, 1);
  while (Atomics.load(p, 3) < j.threads) { /* spin */ }
  let admitted = 0;
  if (j.mode === "hold") {
    for (let i = 0; i < j.n; i++) if (c.tryEnter(REQUESTS, j.max)) admitted++;
  } else {
    // Each thread alone would keep up to `max` in flight (enter 3 times in 5,
    // leave otherwise): together they want twice as many as the cap allows.
    let mine = 0;
    let r = 0x2545f491 ^ j.col;
    for (let i = 0; i < j.n; i++) {
      r = (Math.imul(r, 1103515245) + 12345) | 0;
      if (mine < j.max && ((r >>> 16) % 5) < 3) {
        if (!c.tryEnter(REQUESTS, j.max)) continue;
        mine++;
        admitted++;
        const now = Atomics.add(p, 1, 1) + 1;
        for (let seen = Atomics.load(p, 2); now > seen; seen = Atomics.load(p, 2)) {
          if (Atomics.compareExchange(p, 2, seen, now) === seen) break;
        }
      } else if (mine > 0) {
        Atomics.sub(p, 1, 1);
        c.leave(REQUESTS);
        mine--;
      }
    }
    for (; mine > 0; mine--) {
      Atomics.sub(p, 1, 1);
      c.leave(REQUESTS);
    }
  }
  held = j.mode === "hold" ? admitted : 0;
  release = () => {
    for (; held > 0; held--) c.leave(REQUESTS);
  };
  self.postMessage(admitted);
};
