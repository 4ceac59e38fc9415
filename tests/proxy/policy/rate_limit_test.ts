import assert from "node:assert/strict";
import { TokenBucketLimiter } from "../../../src/proxy/policy/rate_limit.ts";

function clock() {
  const c = { t: 1000, now: () => c.t };
  return c;
}

Deno.test("token bucket: burst, then refill at the configured rate", () => {
  const c = clock();
  const l = new TokenBucketLimiter(10, 5, c.now);
  for (let i = 0; i < 5; i++) assert.equal(l.take("a"), 0, `burst token ${i}`);
  assert.ok(l.take("a") > 0, "6th request in the same instant is refused");
  c.t += 100; // 10/s → one token per 100 ms
  assert.equal(l.take("a"), 0);
  assert.ok(l.take("a") > 0);
  c.t += 250; // 2.5 tokens
  assert.equal(l.take("a"), 0);
  assert.equal(l.take("a"), 0);
  assert.ok(l.take("a") > 0, "half a token is not a token");
  c.t += 50; // 0.5 + 0.5 = 1
  assert.equal(l.take("a"), 0);
  c.t += 60_000; // refill caps at burst
  for (let i = 0; i < 5; i++) assert.equal(l.take("a"), 0);
  assert.ok(l.take("a") > 0);
});

Deno.test("token bucket: keys are independent", () => {
  const c = clock();
  const l = new TokenBucketLimiter(1, 1, c.now);
  assert.equal(l.take("a"), 0);
  assert.ok(l.take("a") > 0);
  assert.equal(l.take("b"), 0);
  assert.equal(l.size, 2);
});

Deno.test("token bucket: Retry-After is the whole seconds until the next token", () => {
  const c = clock();
  const slow = new TokenBucketLimiter(0.1, 1, c.now); // one token per 10 s
  assert.equal(slow.take("k"), 0);
  assert.equal(slow.take("k"), 10);
  c.t += 2500;
  assert.equal(slow.take("k"), 8); // 7.5 s left → 8
  const fast = new TokenBucketLimiter(1000, 1, c.now);
  assert.equal(fast.take("k"), 0);
  assert.equal(fast.take("k"), 1, "never less than 1 s");
});

Deno.test("token bucket: the clock going backwards never mints tokens", () => {
  const c = clock();
  const l = new TokenBucketLimiter(1, 1, c.now);
  assert.equal(l.take("a"), 0);
  c.t -= 10_000;
  assert.ok(l.take("a") > 0);
});

Deno.test("token bucket: memory is bounded; refilled buckets are swept first", () => {
  const c = clock();
  const l = new TokenBucketLimiter(10, 2, c.now, 100);
  for (let i = 0; i < 1000; i++) l.take(`k${i}`);
  assert.ok(l.size <= 100, `size ${l.size}`);
  // A hot key that is still exhausted keeps its state while idle keys refill and are swept.
  const c2 = clock();
  const l2 = new TokenBucketLimiter(1, 2, c2.now, 10);
  for (let i = 0; i < 9; i++) l2.take(`idle${i}`);
  l2.take("hot");
  l2.take("hot");
  c2.t += 1500; // idle buckets (1 token used) refilled to 2; "hot" has 1.5 tokens
  l2.take("hot"); // 0.5 left
  l2.take("new"); // map full → sweep drops refilled idle buckets
  assert.equal(l2.size, 2);
  assert.ok(l2.take("hot") > 0, "the hot key's exhausted bucket survived eviction");
});

Deno.test("token bucket: zero or negative config is clamped, not a crash", () => {
  const c = clock();
  const l = new TokenBucketLimiter(0, 0, c.now);
  assert.equal(l.take("a"), 0, "burst clamps to 1");
  const wait = l.take("a");
  assert.ok(wait > 0 && Number.isFinite(wait));
});
