/// <reference lib="deno.worker" />
/**
 * Test worker: takes `n` tokens over `keys` keys from a shared rate-limit
 * table once the start word is set, and reports how many were granted
 * (shared_rate_limit_test.ts).
 */
import {
  SharedBucketTable,
  SharedTokenBucketLimiter,
} from "../../../src/proxy/policy/shared_rate_limit.ts";

interface Job {
  buffer: SharedArrayBuffer;
  start: SharedArrayBuffer;
  n: number;
  keys: number;
  burst: number;
}

self.onmessage = (e: MessageEvent<Job>) => {
  const j = e.data;
  const l = new SharedTokenBucketLimiter(new SharedBucketTable(j.buffer), "p", 1e-6, j.burst);
  const go = new Int32Array(j.start);
  self.postMessage("ready");
  // Both threads start taking at the same moment, so their updates interleave.
  Atomics.wait(go, 0, 0);
  let granted = 0;
  for (let i = 0; i < j.n; i++) if (l.take(`k${i % j.keys}`) === 0) granted++;
  self.postMessage(granted);
};
