/**
 * HPACK (RFC 7541): a decoder with the dynamic table, integer and Huffman
 * string decoding, and size limits; an encoder (`HpackEncoder`, one per
 * connection direction) with its own dynamic table that sends repeated
 * fields as one- or two-byte indexes, follows the peer's
 * SETTINGS_HEADER_TABLE_SIZE and keeps sensitive or per-message values out of
 * the table. `encodeField` / `encodeStatus` stay as stateless literal writers
 * (tests and raw peers use them).
 */
import { huffmanDecode, huffmanEncode, HuffmanError, huffmanLength } from "./huffman.ts";

// RFC 7541 Appendix A.
// deno-fmt-ignore
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"],
  [":path", "/index.html"], [":scheme", "http"], [":scheme", "https"], [":status", "200"],
  [":status", "204"], [":status", "206"], [":status", "304"], [":status", "400"],
  [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""],
  ["accept", ""], ["access-control-allow-origin", ""], ["age", ""], ["allow", ""],
  ["authorization", ""], ["cache-control", ""], ["content-disposition", ""],
  ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""],
  ["date", ""], ["etag", ""], ["expect", ""], ["expires", ""], ["from", ""], ["host", ""],
  ["if-match", ""], ["if-modified-since", ""], ["if-none-match", ""], ["if-range", ""],
  ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""], ["location", ""],
  ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""],
  ["vary", ""], ["via", ""], ["www-authenticate", ""],
];

/** A static-table name: its first index and the (name, value) entries it has. */
interface StaticName {
  index: number;
  values: Map<string, number>;
}
/** One lookup per field gives both the static name index and the exact-match indexes. */
const STATIC_BY_NAME = new Map<string, StaticName>();
for (let i = 0; i < STATIC_TABLE.length; i++) {
  const [n, v] = STATIC_TABLE[i];
  let e = STATIC_BY_NAME.get(n);
  if (!e) STATIC_BY_NAME.set(n, e = { index: i + 1, values: new Map() });
  e.values.set(v, i + 1);
}
/** Static indexes of the `:status` codes the table has (8–14), derived from it. */
const STATUS_INDEX: Record<number, number> = {};
for (const [v, i] of STATIC_BY_NAME.get(":status")!.values) STATUS_INDEX[Number(v)] = i;

/** A header block that cannot be decoded: a connection error (COMPRESSION_ERROR). */
export class HpackError extends Error {}

/** Per-entry overhead in the table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

function latin1(b: Uint8Array, s: number, e: number): string {
  if (e - s < 64) {
    let out = "";
    for (let i = s; i < e; i++) out += String.fromCharCode(b[i]);
    return out;
  }
  return String.fromCharCode.apply(null, b.subarray(s, e) as unknown as number[]);
}

export class HpackDecoder {
  /** name, value pairs, newest last. */
  private names: string[] = [];
  private values: string[] = [];
  private size = 0;
  private maxSize: number;

  /** `limit` is the SETTINGS_HEADER_TABLE_SIZE we advertised. */
  constructor(private limit = 4096) {
    this.maxSize = limit;
  }

  /** Dynamic table size in octets (for tests). */
  get tableSize(): number {
    return this.size;
  }

  /** Dynamic table entries, newest first (for tests). */
  entries(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = this.names.length - 1; i >= 0; i--) out.push([this.names[i], this.values[i]]);
    return out;
  }

  private pos = 0;

  /**
   * Names the last decoded block carried as "literal never indexed" (§6.2.3),
   * null when none did (the common case: nothing allocated). An intermediary
   * must forward those fields with the same representation, so the caller
   * hands this set on with the message (never to other messages).
   */
  neverIndexed: Set<string> | null = null;

  private int(b: Uint8Array, end: number, prefix: number): number {
    const mask = (1 << prefix) - 1;
    let v = b[this.pos++] & mask;
    if (v < mask) return v;
    let m = 1;
    for (;;) {
      if (this.pos >= end) throw new HpackError("truncated integer");
      const c = b[this.pos++];
      v += (c & 0x7f) * m;
      m *= 128;
      if (v > 0x7fffffff) throw new HpackError("integer too large");
      if ((c & 0x80) === 0) return v;
    }
  }

  private str(b: Uint8Array, end: number): string {
    if (this.pos >= end) throw new HpackError("truncated string");
    const huff = (b[this.pos] & 0x80) !== 0;
    const n = this.int(b, end, 7);
    const s = this.pos;
    if (s + n > end) throw new HpackError("string longer than the header block");
    this.pos = s + n;
    if (!huff) return latin1(b, s, s + n);
    try {
      return huffmanDecode(b, s, s + n);
    } catch (e) {
      if (e instanceof HuffmanError) throw new HpackError(e.message);
      throw e;
    }
  }

  /** Dynamic-table slot of index `i` (> 61), newest last; throws when out of range. */
  private slot(i: number): number {
    const d = this.names.length - (i - STATIC_TABLE.length);
    if (d < 0) throw new HpackError(`index ${i} is beyond the dynamic table`);
    return d;
  }

  private name(i: number): string {
    if (i === 0) throw new HpackError("index 0");
    if (i <= STATIC_TABLE.length) return STATIC_TABLE[i - 1][0];
    return this.names[this.slot(i)];
  }

  private add(name: string, value: string): void {
    const sz = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(this.maxSize - sz);
    if (sz > this.maxSize) return; // RFC 7541 §4.4: the table is emptied, nothing added
    this.names.push(name);
    this.values.push(value);
    this.size += sz;
  }

  private evict(target: number): void {
    let n = 0;
    while (this.size > target && n < this.names.length) {
      this.size -= this.names[n].length + this.values[n].length + ENTRY_OVERHEAD;
      n++;
    }
    if (n > 0) {
      this.names.splice(0, n);
      this.values.splice(0, n);
    }
  }

  /**
   * Decodes one complete header block into `out` (name, value, ...). Returns
   * the header list size (RFC 9113 §6.5.2: lengths + 32 per field); the whole
   * block is always decoded so the table stays in sync even when the caller
   * then refuses the request.
   */
  decode(b: Uint8Array, start: number, end: number, out: string[]): number {
    this.pos = start;
    this.neverIndexed = null;
    let listSize = 0;
    let first = true;
    while (this.pos < end) {
      const c = b[this.pos];
      let name: string;
      let value: string;
      if (c & 0x80) {
        const i = this.int(b, end, 7);
        if (i === 0) throw new HpackError("index 0");
        if (i <= STATIC_TABLE.length) {
          name = STATIC_TABLE[i - 1][0];
          value = STATIC_TABLE[i - 1][1];
        } else {
          const d = this.slot(i);
          name = this.names[d];
          value = this.values[d];
        }
      } else if (c & 0x40) {
        const i = this.int(b, end, 6);
        name = i === 0 ? this.str(b, end) : this.name(i);
        value = this.str(b, end);
        this.add(name, value);
      } else if (c & 0x20) {
        // Dynamic table size update: only at the start of a block (§4.2).
        if (!first) throw new HpackError("table size update after a field");
        const n = this.int(b, end, 5);
        if (n > this.limit) throw new HpackError(`table size ${n} above the ${this.limit} allowed`);
        this.maxSize = n;
        this.evict(n);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): 4-bit prefix.
        const i = this.int(b, end, 4);
        name = i === 0 ? this.str(b, end) : this.name(i);
        value = this.str(b, end);
        if (c & 0x10) (this.neverIndexed ??= new Set()).add(name);
      }
      first = false;
      out.push(name, value);
      listSize += name.length + value.length + ENTRY_OVERHEAD;
    }
    return listSize;
  }
}

/** A growable output buffer for header blocks. */
export class BlockWriter {
  buf: Uint8Array;
  len = 0;

  constructor(size = 512) {
    this.buf = new Uint8Array(size);
  }

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  int(v: number, prefix: number, flags: number): void {
    this.reserve(6);
    const max = (1 << prefix) - 1;
    if (v < max) {
      this.buf[this.len++] = flags | v;
      return;
    }
    this.buf[this.len++] = flags | max;
    v -= max;
    while (v >= 128) {
      this.buf[this.len++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  /** A string literal, raw (Latin-1 bytes). */
  str(s: string): void {
    this.int(s.length, 7, 0);
    this.reserve(s.length);
    const b = this.buf;
    let p = this.len;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.len = p;
  }

  /** A string literal, Huffman-coded. */
  huff(s: string): void {
    const n = huffmanLength(s);
    this.int(n, 7, 0x80);
    this.reserve(n);
    this.len = huffmanEncode(s, this.buf, this.len);
  }

  /** A string literal, Huffman-coded when that is shorter, else raw. */
  lit(s: string): void {
    const n = huffmanLength(s);
    if (n >= s.length) return this.str(s);
    this.int(n, 7, 0x80);
    this.reserve(n);
    this.len = huffmanEncode(s, this.buf, this.len);
  }
}

/** How a field not found in either table is written. */
const INDEX = 0; // literal with incremental indexing (§6.2.1)
const NO_INDEX = 1; // literal without indexing (§6.2.2)
const NEVER = 2; // literal never indexed (§6.2.3)

/**
 * Indexing rule (fields a peer sent as never indexed are handled before it,
 * per message: `HpackEncoder.fields` with the decoder's `neverIndexed`;
 * they are never added here, which would let one client turn indexing off
 * for every other): everything is indexed except
 * - credentials and cookies (NEVER: an intermediary must not index them
 *   either, §7.1.3; a shared table would let a compression oracle guess them;
 *   the upstream connection's table is shared by every client's requests);
 * - values that differ on (almost) every message, where indexing only churns
 *   the table and evicts entries that do repeat: content-length, age,
 *   content-range, request / trace ids, grpc-timeout (the remaining deadline),
 *   and a :path carrying a query string;
 * - entries larger than 3/4 of the table (one would evict nearly everything).
 * `date` is indexed: it repeats for every response within the same second.
 */
const POLICY = new Map<string, number>([
  ["authorization", NEVER],
  ["proxy-authorization", NEVER],
  ["cookie", NEVER],
  ["set-cookie", NEVER],
  ["x-api-key", NEVER],
  ["x-auth-token", NEVER],
  ["x-csrf-token", NEVER],
  ["x-xsrf-token", NEVER],
  ["content-length", NO_INDEX],
  ["age", NO_INDEX],
  ["content-range", NO_INDEX],
  ["x-request-id", NO_INDEX],
  ["x-correlation-id", NO_INDEX],
  ["traceparent", NO_INDEX],
  ["tracestate", NO_INDEX],
  ["b3", NO_INDEX],
  ["x-b3-traceid", NO_INDEX],
  ["x-b3-spanid", NO_INDEX],
  ["x-b3-parentspanid", NO_INDEX],
  ["x-amzn-trace-id", NO_INDEX],
  ["x-cloud-trace-context", NO_INDEX],
  ["grpc-timeout", NO_INDEX],
]);

/**
 * What the encoder knows about one field name: its static name index, its
 * indexing policy, and every (name, value) entry either table has — value →
 * -(static index) or the dynamic entry's insertion sequence number (≥ 0). A
 * field is then one lookup by name and one by value.
 */
interface NameRec {
  staticIndex: number;
  mode: number;
  values: Map<string, number>;
  /** Sequence number of the newest dynamic entry with this name, -1 if none. */
  newest: number;
  /** Live dynamic entries with this name. */
  live: number;
  /** `values` is this record's own map (copied on the first insertion). */
  own: boolean;
}

/** Shared read-only value maps: the static entries of a name (or none), as -index. */
const STATIC_VALUES = new Map<string, Map<string, number>>();
for (const [n, e] of STATIC_BY_NAME) {
  STATIC_VALUES.set(n, new Map([...e.values].map(([v, i]) => [v, -i])));
}
const NO_VALUES = new Map<string, number>();

/** Name records kept per encoder beyond which unused ones are dropped (distinct names are unbounded). */
const MAX_NAME_RECS = 512;

/** Largest dynamic table the encoder keeps, whatever the peer allows (memory per connection). */
export const ENCODER_TABLE_MAX = 4096;

const STATUS_STR: string[] = [];

/**
 * HPACK encoder with a dynamic table (RFC 7541 §2.3, §4). One per connection
 * direction: the header blocks it produces must reach the peer in the order
 * they were encoded. Entries are numbered by insertion; the HPACK index of
 * entry `seq` is 61 + (inserted - seq), so a lookup is two Map reads and no
 * allocation. Use: `begin()`, then `status()` / `field()`, then send
 * `w.buf[0..w.len)` as one header block.
 */
export class HpackEncoder {
  /** The header block being written (reused: copy it out before the next `begin`). */
  readonly w: BlockWriter;
  // Live entries are names/values[head..); the entry at array position i has seq base + i.
  private names: string[] = [];
  private values: string[] = [];
  private head = 0;
  private base = 0;
  private recs = new Map<string, NameRec>();
  private size = 0;
  private maxSize: number;
  // Size changes not yet signalled: the smallest since the last block, then the current.
  private sizeChanged = false;
  private minSize = 0;
  /** The peer's SETTINGS_HEADER_TABLE_SIZE (4096 until it says otherwise). */
  private peerLimit = 4096;

  /** `cap` bounds the table whatever the peer allows; 4096 is also the protocol default. */
  constructor(private cap = ENCODER_TABLE_MAX, writerSize = 1024) {
    this.w = new BlockWriter(writerSize);
    this.maxSize = Math.min(cap, 4096);
  }

  /** Dynamic table size in octets (§4.1). */
  get tableSize(): number {
    return this.size;
  }

  /** The table size the encoder currently uses (≤ the peer's limit). */
  get maxTableSize(): number {
    return this.maxSize;
  }

  /** Dynamic table entries, newest first (for tests: compare with the decoder's). */
  entries(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = this.names.length - 1; i >= this.head; i--) {
      out.push([this.names[i], this.values[i]]);
    }
    return out;
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE. A change of the size we use is
   * signalled at the start of the next block (§4.2: the smallest size since
   * the last block, then the current one); shrinking evicts at once.
   */
  setPeerLimit(n: number): void {
    // Any change of the peer's setting is answered with our size, even when
    // that stays the same (a peer allowing more than `cap`): the peer's
    // decoder then holds exactly our table instead of keeping what we evicted.
    if (n === this.peerLimit) return;
    this.peerLimit = n;
    const m = Math.min(n, this.cap);
    this.minSize = this.sizeChanged ? Math.min(this.minSize, m) : m;
    this.sizeChanged = true;
    this.maxSize = m;
    this.evict(m);
  }

  /** Starts a header block (with pending table size updates). */
  begin(): void {
    const w = this.w;
    w.len = 0;
    if (this.sizeChanged) {
      this.sizeChanged = false;
      if (this.minSize < this.maxSize) w.int(this.minSize, 5, 0x20);
      w.int(this.maxSize, 5, 0x20);
    }
  }

  /** `:status` (first in a response block). */
  status(code: number): void {
    const i = STATUS_INDEX[code];
    if (i !== undefined) return this.w.int(i, 7, 0x80);
    this.field(":status", STATUS_STR[code] ??= String(code));
  }

  /** One field (lowercase name): indexed if either table has it, else a literal per POLICY. */
  field(name: string, value: string): void {
    const w = this.w;
    const r = this.recs.get(name) ?? this.rec(name);
    const hit = r.values.get(value);
    if (hit !== undefined) return w.int(hit < 0 ? -hit : this.indexOf(hit), 7, 0x80);
    const ni = r.staticIndex !== 0 ? r.staticIndex : r.newest >= 0 ? this.indexOf(r.newest) : 0;
    let mode = r.mode;
    if (
      mode === INDEX &&
      ((name.length + value.length + ENTRY_OVERHEAD) * 4 > this.maxSize * 3 ||
        (name === ":path" && value.includes("?")))
    ) mode = NO_INDEX;
    // The name index was taken before the insertion evicts anything (§4.4 allows that).
    if (mode === INDEX) w.int(ni, 6, 0x40);
    else w.int(ni, 4, mode === NEVER ? 0x10 : 0);
    if (ni === 0) w.lit(name);
    w.lit(value);
    if (mode === INDEX) this.insert(r, name, value);
  }

  /**
   * One field as a "literal never indexed" (§6.2.3) whatever the policy or
   * the tables hold: for fields a peer marked so, which an intermediary must
   * forward with the same representation. Nothing is inserted; the name may
   * still be an index (static, or a live dynamic entry of that name).
   */
  neverField(name: string, value: string): void {
    const r = this.recs.get(name);
    let ni: number;
    if (r !== undefined) {
      ni = r.staticIndex !== 0 ? r.staticIndex : r.newest >= 0 ? this.indexOf(r.newest) : 0;
    } else ni = STATIC_BY_NAME.get(name)?.index ?? 0;
    const w = this.w;
    w.int(ni, 4, 0x10);
    if (ni === 0) w.lit(name);
    w.lit(value);
  }

  /**
   * The fields `kv` (name, value, ...): `field` for each, or `neverField` for
   * the names in `never` (a per-message set, see HpackDecoder.neverIndexed).
   */
  fields(kv: readonly string[], never: ReadonlySet<string> | null): void {
    if (never === null) {
      for (let i = 0; i < kv.length; i += 2) this.field(kv[i], kv[i + 1]);
      return;
    }
    for (let i = 0; i < kv.length; i += 2) {
      if (never.has(kv[i])) this.neverField(kv[i], kv[i + 1]);
      else this.field(kv[i], kv[i + 1]);
    }
  }

  /** Builds (and usually keeps) the record of a name not seen yet on this connection. */
  private rec(name: string): NameRec {
    const st = STATIC_BY_NAME.get(name);
    // Shared maps until the first insertion: no copy for names only ever
    // sent as literals or static indexes.
    const r: NameRec = {
      staticIndex: st ? st.index : 0,
      mode: POLICY.get(name) ?? INDEX,
      values: STATIC_VALUES.get(name) ?? NO_VALUES,
      newest: -1,
      live: 0,
      own: false,
    };
    if (this.recs.size < MAX_NAME_RECS) this.recs.set(name, r);
    return r;
  }

  private indexOf(seq: number): number {
    return STATIC_TABLE.length + this.base + this.names.length - seq;
  }

  private insert(r: NameRec, name: string, value: string): void {
    const sz = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(this.maxSize - sz);
    const seq = this.base + this.names.length;
    this.names.push(name);
    this.values.push(value);
    this.size += sz;
    // A record dropped meanwhile (or never kept) must be in the map while it has entries.
    if (this.recs.get(name) !== r) this.recs.set(name, r);
    if (!r.own) {
      r.values = new Map(r.values);
      r.own = true;
    }
    r.newest = seq;
    r.live++;
    r.values.set(value, seq);
  }

  /** Drops the oldest entries until the table fits in `target` octets (§4.4). */
  private evict(target: number): void {
    while (this.size > target && this.head < this.names.length) {
      const h = this.head++;
      const n = this.names[h];
      const v = this.values[h];
      this.size -= n.length + v.length + ENTRY_OVERHEAD;
      const r = this.recs.get(n)!;
      if (r.values.get(v) === this.base + h) r.values.delete(v);
      if (--r.live === 0) {
        r.newest = -1;
        if (this.recs.size > MAX_NAME_RECS) this.recs.delete(n);
      }
    }
    // Compact now and then so the arrays do not grow with every insertion.
    if (this.head > 64 && this.head * 2 > this.names.length) {
      this.names.splice(0, this.head);
      this.values.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
  }
}

/**
 * Encodes one field as a literal without indexing (RFC 7541 §6.2.2), raw
 * strings: stateless, for raw peers in tests and one-off blocks. Connections
 * use `HpackEncoder`.
 */
export function encodeField(w: BlockWriter, name: string, value: string): void {
  const i = STATIC_BY_NAME.get(name)?.index;
  if (i !== undefined) w.int(i, 4, 0);
  else {
    w.int(0, 4, 0);
    w.str(name);
  }
  w.str(value);
}

/** `:status` as an indexed field when the static table has it. */
export function encodeStatus(w: BlockWriter, status: number): void {
  const i = STATUS_INDEX[status];
  if (i !== undefined) w.int(i, 7, 0x80);
  else encodeField(w, ":status", String(status));
}
