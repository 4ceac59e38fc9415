/**
 * CIDR lists compiled to numeric masks. Every address is held as IPv6 in four
 * unsigned 32-bit words; an IPv4 address becomes its IPv4-mapped form
 * (::ffff:a.b.c.d) and an IPv4 CIDR /n becomes ::ffff:0:0/(96+n), so an IPv4
 * client seen by a dual-stack socket as "::ffff:10.1.2.3" matches "10.0.0.0/8".
 * Parsing is our own (no allocation beyond one small array): it runs per request.
 */

/** One compiled range: address words already masked, plus the mask. */
interface Range {
  readonly net: Uint32Array;
  readonly mask: Uint32Array;
}

/** Parses dotted-quad IPv4 into an unsigned 32-bit number; -1 when malformed. */
function parseV4(s: string, start: number, end: number): number {
  let value = 0;
  let parts = 0;
  let cur = -1;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (cur < 0 || parts === 4) return -1;
      value = value * 256 + cur;
      parts++;
      cur = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // Leading zeros are refused (ambiguous octal in some parsers).
      if (digits > 0 && cur === 0) return -1;
      cur = (cur < 0 ? 0 : cur * 10) + (c - 48);
      digits++;
      if (cur > 255) return -1;
    } else return -1;
  }
  return parts === 4 ? value : -1;
}

/** Parses IPv6 (with "::", embedded IPv4 and %zone) into 8 16-bit groups; false when malformed. */
function parseV6(s: string, start: number, end: number, out: Uint16Array): boolean {
  const pct = s.indexOf("%", start);
  if (pct >= 0 && pct < end) end = pct;
  const head: number[] = [];
  const tail: number[] = [];
  let target = head;
  let seenGap = false;
  let i = start;
  if (end - start >= 2 && s.charCodeAt(i) === 58 && s.charCodeAt(i + 1) === 58) {
    seenGap = true;
    target = tail;
    i += 2;
    if (i === end) {
      out.fill(0);
      return true;
    }
  } else if (s.charCodeAt(i) === 58) return false;
  while (i < end) {
    // One group (or a trailing dotted IPv4).
    let j = i;
    let v = 0;
    let hasDot = false;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (c === 58) break;
      if (c === 46) hasDot = true;
      j++;
    }
    if (hasDot) {
      if (j !== end) return false;
      const v4 = parseV4(s, i, j);
      if (v4 < 0) return false;
      target.push(v4 >>> 16, v4 & 0xffff);
      i = j;
      break;
    }
    if (j === i || j - i > 4) return false;
    for (let k = i; k < j; k++) {
      const c = s.charCodeAt(k);
      const d = c >= 48 && c <= 57
        ? c - 48
        : c >= 97 && c <= 102
        ? c - 87
        : c >= 65 && c <= 70
        ? c - 55
        : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    target.push(v);
    if (j === end) {
      i = j;
      break;
    }
    // j is at ":"; "::" opens the gap.
    if (j + 1 < end && s.charCodeAt(j + 1) === 58) {
      if (seenGap) return false;
      seenGap = true;
      target = tail;
      i = j + 2;
      if (i === end) break;
    } else {
      if (j + 1 === end) return false; // trailing single ":"
      i = j + 1;
    }
  }
  const n = head.length + tail.length;
  if (seenGap ? n > 7 : n !== 8) return false;
  out.fill(0);
  for (let k = 0; k < head.length; k++) out[k] = head[k];
  for (let k = 0; k < tail.length; k++) out[8 - tail.length + k] = tail[k];
  return true;
}

const groups = new Uint16Array(8);

/**
 * Parses an address (IPv4, IPv6, bracketed "[v6]", zone ids allowed) into
 * `out` as four 32-bit words, IPv4 mapped to ::ffff:0:0/96. Returns the
 * prefix bias: 96 for IPv4 input, 0 for IPv6, -1 when malformed.
 */
export function parseIp(addr: string, out: Uint32Array): number {
  let start = 0;
  let end = addr.length;
  if (end > 1 && addr.charCodeAt(0) === 91 /* [ */ && addr.charCodeAt(end - 1) === 93) {
    start = 1;
    end--;
  }
  if (addr.indexOf(":", start) < 0) {
    const v4 = parseV4(addr, start, end);
    if (v4 < 0) return -1;
    out[0] = 0;
    out[1] = 0;
    out[2] = 0xffff;
    out[3] = v4 >>> 0;
    return 96;
  }
  if (!parseV6(addr, start, end, groups)) return -1;
  for (let k = 0; k < 4; k++) out[k] = ((groups[2 * k] << 16) | groups[2 * k + 1]) >>> 0;
  return 0;
}

/** Parses "addr/len" or a bare address (a single host) into a range; null when malformed. */
export function parseCidr(cidr: string): Range | null {
  const s = cidr.trim();
  const slash = s.indexOf("/");
  const net = new Uint32Array(4);
  const bias = parseIp(slash < 0 ? s : s.slice(0, slash), net);
  if (bias < 0) return null;
  let len = 128 - bias;
  if (slash >= 0) {
    const t = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(t)) return null;
    len = Number(t);
    if (len > 128 - bias) return null;
  }
  const bits = bias + len;
  const mask = new Uint32Array(4);
  for (let k = 0; k < 4; k++) {
    const b = Math.min(32, Math.max(0, bits - 32 * k));
    mask[k] = b === 0 ? 0 : (0xffffffff << (32 - b)) >>> 0;
    net[k] = (net[k] & mask[k]) >>> 0;
  }
  return { net, mask };
}

/** A compiled CIDR list. */
export class IpMatcher {
  readonly ranges: readonly Range[];
  /** Entries that did not parse (reported by the compiler; they match nothing). */
  readonly invalid: readonly string[];

  constructor(cidrs: readonly string[]) {
    const ranges: Range[] = [];
    const invalid: string[] = [];
    for (const c of cidrs) {
      const r = parseCidr(c);
      if (r) ranges.push(r);
      else invalid.push(c);
    }
    this.ranges = ranges;
    this.invalid = invalid;
  }

  /** Does a parsed address (four words from parseIp) fall in any range? */
  matchesWords(a: Uint32Array): boolean {
    const rs = this.ranges;
    for (let i = 0; i < rs.length; i++) {
      const { net, mask } = rs[i];
      if (
        ((a[0] & mask[0]) >>> 0) === net[0] && ((a[1] & mask[1]) >>> 0) === net[1] &&
        ((a[2] & mask[2]) >>> 0) === net[2] && ((a[3] & mask[3]) >>> 0) === net[3]
      ) return true;
    }
    return false;
  }

  /** Does `addr` fall in any range? A malformed address matches nothing. */
  matches(addr: string): boolean {
    const w = new Uint32Array(4);
    return parseIp(addr, w) >= 0 && this.matchesWords(w);
  }
}
