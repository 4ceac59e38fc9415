/**
 * A raw HTTP/2 peer over TCP for tests that must see the bytes on the wire:
 * it writes frames by hand (header blocks as stateless literals), parses every
 * frame it receives, and decodes header blocks in arrival order with its own
 * HPACK decoder so the dynamic table stays in sync.
 */
import * as F from "../../../src/proxy/h2/frames.ts";
import { BlockWriter, encodeField, HpackDecoder } from "../../../src/proxy/h2/hpack.ts";

export interface RawFrame {
  type: number;
  flags: number;
  sid: number;
  payload: Uint8Array;
  /** Decoded fields, for HEADERS / CONTINUATION-free blocks. */
  fields?: string[];
}

export class RawH2 {
  frames: RawFrame[] = [];
  eof = false;
  private buf = new Uint8Array(0);
  private dec = new HpackDecoder();
  private wake: (() => void) | null = null;
  private loop: Promise<void>;

  /** Bytes of the client preface still to strip (server role). */
  private preface: number;

  /**
   * `ackSettings`: answer the peer's SETTINGS with an ACK (a normal peer
   * does). `server`: the peer is a client, its 24-byte preface comes first.
   */
  constructor(readonly conn: Deno.Conn, private ackSettings = true, server = false) {
    this.preface = server ? 24 : 0;
    this.loop = this.readLoop();
  }

  /** Connects and, as a client, sends the preface and our SETTINGS. */
  static async client(
    port: number,
    settings: [number, number][] = [],
    ackSettings = true,
  ): Promise<RawH2> {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    const r = new RawH2(c, ackSettings);
    await c.write(new TextEncoder().encode(F.PREFACE));
    await r.settings(settings);
    return r;
  }

  settings(settings: [number, number][]): Promise<void> {
    const sp = new Uint8Array(settings.length * 6);
    settings.forEach(([id, v], i) => {
      sp[i * 6 + 1] = id;
      F.put32(sp, i * 6 + 2, v);
    });
    return this.frame(F.SETTINGS, 0, 0, sp);
  }

  async frame(
    type: number,
    flags: number,
    sid: number,
    payload: Uint8Array = new Uint8Array(0),
  ): Promise<void> {
    const b = new Uint8Array(9 + payload.length);
    F.frameHeader(b, 0, payload.length, type, flags, sid);
    b.set(payload, 9);
    let o = 0;
    while (o < b.length) o += await this.conn.write(b.subarray(o));
  }

  /** A request head (literal fields), with END_STREAM. */
  request(sid: number, kv: string[]): Promise<void> {
    const w = new BlockWriter();
    for (let i = 0; i < kv.length; i += 2) encodeField(w, kv[i], kv[i + 1]);
    return this.frame(
      F.HEADERS,
      F.FLAG_END_HEADERS | F.FLAG_END_STREAM,
      sid,
      w.buf.slice(0, w.len),
    );
  }

  private async readLoop(): Promise<void> {
    const chunk = new Uint8Array(65536);
    for (;;) {
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch {
        n = null;
      }
      if (n === null) break;
      const b = new Uint8Array(this.buf.length + n);
      b.set(this.buf);
      b.set(chunk.subarray(0, n), this.buf.length);
      this.buf = b;
      if (this.preface > 0) {
        const k = Math.min(this.preface, this.buf.length);
        this.preface -= k;
        this.buf = this.buf.slice(k);
      }
      while (this.buf.length >= 9) {
        const len = this.buf[0] << 16 | this.buf[1] << 8 | this.buf[2];
        if (this.buf.length < 9 + len) break;
        const f: RawFrame = {
          type: this.buf[3],
          flags: this.buf[4],
          sid: F.u31(this.buf, 5),
          payload: this.buf.slice(9, 9 + len),
        };
        this.buf = this.buf.slice(9 + len);
        if (f.type === F.HEADERS) {
          // Test servers send small blocks: END_HEADERS, no padding/priority.
          f.fields = [];
          this.dec.decode(f.payload, 0, f.payload.length, f.fields);
        }
        if (f.type === F.SETTINGS && !(f.flags & F.FLAG_ACK) && this.ackSettings) {
          await this.frame(F.SETTINGS, F.FLAG_ACK, 0).catch(() => {});
        }
        this.frames.push(f);
      }
      this.poke();
    }
    this.eof = true;
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    if (w) w();
  }

  /** Waits (bounded: `ms`) for a frame matching `pred`. */
  async waitFor(pred: (f: RawFrame) => boolean, what: string, ms = 5000): Promise<RawFrame> {
    const until = Date.now() + ms;
    for (;;) {
      const hit = this.frames.find(pred);
      if (hit) return hit;
      if (this.eof || Date.now() > until) {
        throw new Error(
          `no ${what}; got ${JSON.stringify(this.frames.map((x) => [x.type, x.sid]))}`,
        );
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  /** Waits until the peer closes the connection (bounded). */
  async closed(ms = 5000): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.eof && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.eof;
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.loop;
  }
}
