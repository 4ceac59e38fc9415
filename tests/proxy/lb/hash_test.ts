import assert from "node:assert/strict";
import { fmix32, hash32 } from "../../../src/proxy/lb/hash.ts";

Deno.test("hash32: deterministic, seed-dependent, unsigned 32-bit", () => {
  assert.equal(hash32("10.0.0.1"), hash32("10.0.0.1"));
  assert.notEqual(hash32("10.0.0.1"), hash32("10.0.0.1", 1));
  for (const s of ["", "a", "ab", "abc", "ünïcödé", "x".repeat(1000)]) {
    const h = hash32(s);
    assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, s);
  }
  assert.notEqual(hash32("ab"), hash32("ba"));
  assert.notEqual(hash32("a"), hash32("a\0"));
});

Deno.test("hash32: buckets of sequential keys are even (avalanche)", () => {
  const buckets = new Array(64).fill(0);
  for (let i = 0; i < 64_000; i++) buckets[hash32(`user-${i}`) & 63]++;
  for (const b of buckets) assert.ok(Math.abs(b - 1000) < 150, `${buckets}`);
  const hi = new Array(16).fill(0);
  for (let i = 0; i < 16_000; i++) hi[hash32(`10.0.${i >> 8}.${i & 255}`) >>> 28]++;
  for (const b of hi) assert.ok(Math.abs(b - 1000) < 150, `${hi}`);
});

Deno.test("hash32: flipping one input bit flips about half the output bits", () => {
  let total = 0;
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const a = hash32(`k${i}a`);
    const b = hash32(`k${i}c`); // 'a' ^ 'c' = one bit
    let x = (a ^ b) >>> 0;
    let bits = 0;
    while (x) {
      bits += x & 1;
      x >>>= 1;
    }
    total += bits;
  }
  const avg = total / n;
  assert.ok(avg > 14 && avg < 18, `avg ${avg}`);
});

Deno.test("fmix32: bijective on a sample (no collisions)", () => {
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) seen.add(fmix32(i));
  assert.equal(seen.size, 100_000);
});
