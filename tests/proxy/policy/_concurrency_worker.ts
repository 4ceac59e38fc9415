/// <reference lib="deno.worker" />
/**
 * Test worker for concurrency_test.ts: as worker column `col`, enters `n`
 * times over `keys` keys of a shared concurrency table once the start word is
 * set, reports how many were admitted, and releases them all on "release".
 */
import {
  type Hold,
  SharedConcurrency,
  SharedConcurrencyTable,
} from "../../../src/proxy/policy/concurrency.ts";

interface Job {
  buffer: SharedArrayBuffer;
  start: SharedArrayBuffer;
  col: number;
  n: number;
  keys: number;
  max: number;
}

const holds: Hold[] = [];

self.onmessage = (e: MessageEvent<Job | "release">) => {
  if (e.data === "release") {
    for (const h of holds.splice(0)) h.release();
    self.postMessage("released");
    return;
  }
  const j = e.data;
  const c = new SharedConcurrency(new SharedConcurrencyTable(j.buffer), j.col);
  const go = new Int32Array(j.start);
  self.postMessage("ready");
  // Both threads start at the same moment, so their updates interleave.
  Atomics.wait(go, 0, 0);
  for (let i = 0; i < j.n; i++) {
    const h = c.enter(`ns/p\0k${i % j.keys}`, j.max);
    if (h !== null) holds.push(h);
  }
  self.postMessage(holds.length);
};
