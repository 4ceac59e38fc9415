/**
 * Non-cryptographic 32-bit hashing for per-request load-balancing keys.
 * MurmurHash3 (x86, 32-bit) structure applied to UTF-16 code units, two per
 * 32-bit block, so strings are hashed without encoding them to bytes first.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** MurmurHash3's final avalanche step; also useful on its own to scramble integers. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mixK(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** Hashes a string to an unsigned 32-bit integer. Same input and seed, same output, everywhere. */
export function hash32(s: string, seed = 0): number {
  let h = seed >>> 0;
  const len = s.length;
  const pairs = len & ~1;
  let i = 0;
  for (; i < pairs; i += 2) {
    h ^= mixK(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < len) h ^= mixK(s.charCodeAt(i));
  h ^= len * 2;
  return fmix32(h);
}
