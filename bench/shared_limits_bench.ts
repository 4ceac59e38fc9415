/**
 * Cost per request of state shared by data-plane worker threads, next to the
 * per-thread versions: a token-bucket take (per-IP keys) and a round-robin
 * pick. Single thread, uncontended (the common case: the two workers rarely
 * touch one slot at the same instant).
 * Run: deno bench -A bench/shared_limits_bench.ts
 */
import { TokenBucketLimiter } from "../src/proxy/policy/rate_limit.ts";
import {
  SharedBucketTable,
  SharedTokenBucketLimiter,
} from "../src/proxy/policy/shared_rate_limit.ts";
import { createBalancer } from "../src/proxy/lb/mod.ts";
import { RR_SHARED_BYTES, shareRoundRobin } from "../src/proxy/lb/round_robin.ts";
import { cluster, ctx, eps } from "../tests/proxy/lb/helpers.ts";

const keys = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
const local = new TokenBucketLimiter(1e9, 1e9);
const shared = new SharedTokenBucketLimiter(SharedBucketTable.create(), "ns/rl\0{}", 1e9, 1e9);
let k = 0;

Deno.bench("rate limit take, per thread (Map)", { group: "rl", baseline: true }, () => {
  local.take(keys[k++ % 1000]);
});
Deno.bench("rate limit take, shared table (Atomics)", { group: "rl" }, () => {
  shared.take(keys[k++ % 1000]);
});

const rrLocal = createBalancer(cluster("RoundRobin", eps(4)));
shareRoundRobin(new SharedArrayBuffer(RR_SHARED_BYTES), 0);
const rrShared = createBalancer(cluster("RoundRobin", eps(4)));
shareRoundRobin(null);
const pickCtx = ctx();

Deno.bench("round robin pick, per thread", { group: "rr", baseline: true }, () => {
  rrLocal.pick(pickCtx);
});
Deno.bench("round robin pick, shared counter", { group: "rr" }, () => {
  rrShared.pick(pickCtx);
});
