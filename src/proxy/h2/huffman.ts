/**
 * HPACK Huffman coding (RFC 7541 §5.2, Appendix B). The code is canonical,
 * so the table is stored as code lengths per symbol (0–255, 256 = EOS) and
 * the codes are derived: codes of one length are consecutive in symbol order.
 */

// Code length in bits of each symbol, RFC 7541 Appendix B.
// deno-fmt-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const MAX_LEN = 30;
/** Code of each symbol (right-aligned), assigned canonically from LENGTHS. */
export const CODES: number[] = new Array(257);

(() => {
  const count = new Array<number>(MAX_LEN + 1).fill(0);
  for (const l of LENGTHS) count[l]++;
  // Codes of one length are consecutive in symbol order, starting where the shorter ones end.
  const next = new Array<number>(MAX_LEN + 1).fill(0);
  let code = 0;
  for (let l = 1; l <= MAX_LEN; l++) {
    next[l] = code;
    code = (code + count[l]) * 2;
  }
  for (let s = 0; s < 257; s++) CODES[s] = next[LENGTHS[s]]++;
})();

// Packed copies for the encoder's inner loops (typed arrays: no holes, no boxing).
const LEN8 = Uint8Array.from(LENGTHS);
const CODE32 = Uint32Array.from(CODES);

/** Code length of symbol `s` in bits. */
export function codeLength(s: number): number {
  return LENGTHS[s];
}

/** Bytes needed to Huffman-encode `s` (Latin-1 chars). */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LEN8[s.charCodeAt(i) & 0xff];
  return (bits + 7) >> 3;
}

/** Huffman-encodes `s` (Latin-1) into `out` at `pos`; returns the end offset. */
export function huffmanEncode(s: string, out: Uint8Array, pos: number): number {
  // 32-bit integer arithmetic: fewer than 8 bits stay pending between
  // characters, so adding a code of up to 24 bits fits in 31. The rare longer
  // codes (25–30 bits) go in two parts. (A double accumulator with
  // Math.floor cost ~3x more per character.)
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    let l = LEN8[c];
    let code = CODE32[c];
    if (l > 24) {
      const hl = l - 16;
      acc = (acc << hl) | (code >>> 16);
      bits += hl;
      while (bits >= 8) {
        bits -= 8;
        out[pos++] = acc >>> bits;
        acc &= (1 << bits) - 1;
      }
      code &= 0xffff;
      l = 16;
    }
    acc = (acc << l) | code;
    bits += l;
    while (bits >= 8) {
      bits -= 8;
      out[pos++] = acc >>> bits;
      acc &= (1 << bits) - 1;
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (bits > 0) out[pos++] = (acc << (8 - bits)) | (0xff >> bits);
  return pos;
}

/** Thrown on an invalid Huffman string (a COMPRESSION_ERROR). */
export class HuffmanError extends Error {}

// Decoding walks the code tree four bits at a time. The shortest code is 5
// bits, so a nibble completes at most one symbol: each (node, nibble) entry
// holds the next node, the symbol emitted + 1 (0: none) and an EOS flag.
const LEAF = 1 << 16;
const EOS_FLAG = 1 << 18;
const NIBBLE: Uint32Array = new Uint32Array(256 * 16);
/** Nodes where a string may end: the root and the all-ones path up to 7 bits deep. */
const PAD_OK = new Uint8Array(256);

(() => {
  const child = new Int32Array(512).fill(-1);
  let nodes = 1;
  for (let sym = 0; sym < 257; sym++) {
    const len = LENGTHS[sym];
    const code = CODES[sym];
    let n = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = n * 2 + bit;
      if (i === 0) child[slot] = LEAF | sym;
      else {
        if (child[slot] === -1) child[slot] = nodes++;
        n = child[slot];
      }
    }
  }
  for (let n = 0; n < nodes; n++) {
    for (let v = 0; v < 16; v++) {
      let cur = n;
      let sym = -1;
      let eos = 0;
      for (let b = 3; b >= 0; b--) {
        const c = child[cur * 2 + ((v >> b) & 1)];
        if (c & LEAF) {
          sym = c & 0xffff;
          if (sym === 256) eos = EOS_FLAG;
          cur = 0;
        } else cur = c;
      }
      NIBBLE[n * 16 + v] = cur | (sym + 1) << 9 | eos;
    }
  }
  let n = 0;
  for (let depth = 0; depth <= 7; depth++) {
    PAD_OK[n] = 1;
    n = child[n * 2 + 1];
  }
})();

/** Decodes a Huffman string to Latin-1 text. Rejects EOS and bad padding (RFC 7541 §5.2). */
export function huffmanDecode(b: Uint8Array, start: number, end: number): string {
  let s = "";
  let node = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i];
    let t = NIBBLE[node * 16 + (byte >> 4)];
    if (t & EOS_FLAG) throw new HuffmanError("Huffman string contains EOS");
    let sym = (t >> 9) & 0x1ff;
    if (sym !== 0) s += String.fromCharCode(sym - 1);
    node = t & 0x1ff;
    t = NIBBLE[node * 16 + (byte & 15)];
    if (t & EOS_FLAG) throw new HuffmanError("Huffman string contains EOS");
    sym = (t >> 9) & 0x1ff;
    if (sym !== 0) s += String.fromCharCode(sym - 1);
    node = t & 0x1ff;
  }
  if (PAD_OK[node] === 0) throw new HuffmanError("invalid Huffman padding");
  return s;
}
