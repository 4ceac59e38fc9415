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
/** Code of each symbol (right-aligned). */
export const CODES: number[] = new Array(257);
/** Per length: first code, number of codes, index of the first symbol in SYMS. */
const FIRST = new Array<number>(MAX_LEN + 1).fill(0);
const COUNT = new Array<number>(MAX_LEN + 1).fill(0);
const OFFSET = new Array<number>(MAX_LEN + 1).fill(0);
const SYMS: number[] = [];

(() => {
  for (const l of LENGTHS) COUNT[l]++;
  let code = 0;
  let off = 0;
  for (let l = 1; l <= MAX_LEN; l++) {
    FIRST[l] = code;
    OFFSET[l] = off;
    off += COUNT[l];
    code = (code + COUNT[l]) * 2;
  }
  const next = FIRST.slice();
  for (let l = 1; l <= MAX_LEN; l++) {
    for (let s = 0; s < 257; s++) {
      if (LENGTHS[s] !== l) continue;
      CODES[s] = next[l]++;
      SYMS.push(s);
    }
  }
})();

/** Code length of symbol `s` in bits. */
export function codeLength(s: number): number {
  return LENGTHS[s];
}

/** Bytes needed to Huffman-encode `s` (Latin-1 chars). */
export function huffmanLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += LENGTHS[s.charCodeAt(i) & 0xff];
  return (bits + 7) >> 3;
}

/** Huffman-encodes `s` (Latin-1) into `out` at `pos`; returns the end offset. */
export function huffmanEncode(s: string, out: Uint8Array, pos: number): number {
  let acc = 0; // pending bits (fewer than 8 after each flush)
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    const l = LENGTHS[c];
    acc = acc * (1 << l) + CODES[c]; // < 2^38: exact in a double
    bits += l;
    while (bits >= 8) {
      bits -= 8;
      const d = 2 ** bits;
      const b = Math.floor(acc / d);
      out[pos++] = b;
      acc -= b * d;
    }
  }
  // Pad with the most significant bits of EOS (all ones).
  if (bits > 0) out[pos++] = (acc << (8 - bits)) | (0xff >> bits);
  return pos;
}

/** Thrown on an invalid Huffman string (a COMPRESSION_ERROR). */
export class HuffmanError extends Error {}

/** Decodes a Huffman string to Latin-1 text. Rejects EOS and bad padding (RFC 7541 §5.2). */
export function huffmanDecode(b: Uint8Array, start: number, end: number): string {
  let s = "";
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = b[i];
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const idx = code - FIRST[len];
      if (idx >= 0 && idx < COUNT[len]) {
        const sym = SYMS[OFFSET[len] + idx];
        if (sym === 256) throw new HuffmanError("Huffman string contains EOS");
        s += String.fromCharCode(sym);
        code = 0;
        len = 0;
      } else if (len >= MAX_LEN) {
        throw new HuffmanError("invalid Huffman code");
      }
    }
  }
  // Padding: fewer than 8 bits, all ones.
  if (len > 7 || code !== (1 << len) - 1) throw new HuffmanError("invalid Huffman padding");
  return s;
}
