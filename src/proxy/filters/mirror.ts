/** RequestMirror sampling. */

/**
 * Whether to mirror this request: `percent` is 0..100 (Mirror.percent), `rand`
 * a uniform number in [0, 1) (pass Math.random() in production). 100 always,
 * 0 never, otherwise with probability percent/100.
 */
export function shouldMirror(percent: number, rand: number): boolean {
  if (percent >= 100) return true;
  if (!(percent > 0)) return false;
  return rand * 100 < percent;
}
