/**
 * A flat, ordered header list (lowercase names) shared by both engines. It is
 * cheaper than web `Headers` (no validation pass, no sorting) and keeps
 * repeated fields apart, which `set-cookie` needs.
 */
import type { HeaderList } from "../filters/types.ts";

export class Hdrs implements HeaderList {
  /** name0, value0, name1, value1, ... with lowercase names. */
  readonly kv: string[];

  constructor(kv: string[] = []) {
    this.kv = kv;
  }

  get(name: string): string | null {
    const kv = this.kv;
    let out: string | null = null;
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] === name) out = out === null ? kv[i + 1] : `${out}, ${kv[i + 1]}`;
    }
    return out;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.kv.length; i += 2) if (this.kv[i] === name) out.push(this.kv[i + 1]);
    return out;
  }

  has(name: string): boolean {
    for (let i = 0; i < this.kv.length; i += 2) if (this.kv[i] === name) return true;
    return false;
  }

  set(name: string, value: string): void {
    const n = name.toLowerCase();
    this.delete(n);
    this.kv.push(n, value);
  }

  /** `set` for a name already in lowercase (skips the case folding). */
  setLower(name: string, value: string): void {
    this.deleteLower(name);
    this.kv.push(name, value);
  }

  /** `delete` for a name already in lowercase. */
  deleteLower(n: string): void {
    const kv = this.kv;
    let w = 0;
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] !== n) {
        if (w !== i) {
          kv[w] = kv[i];
          kv[w + 1] = kv[i + 1];
        }
        w += 2;
      }
    }
    if (w !== kv.length) kv.length = w;
  }

  append(name: string, value: string): void {
    this.kv.push(name.toLowerCase(), value);
  }

  delete(name: string): void {
    const n = name.toLowerCase();
    const kv = this.kv;
    let w = 0;
    for (let i = 0; i < kv.length; i += 2) {
      if (kv[i] !== n) {
        kv[w++] = kv[i];
        kv[w++] = kv[i + 1];
      }
    }
    kv.length = w;
  }

  get size(): number {
    return this.kv.length / 2;
  }

  clone(): Hdrs {
    return new Hdrs(this.kv.slice());
  }
}

/** Hop-by-hop fields (RFC 9110 §7.6.1) never forwarded as they are. */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/** Fields a `Connection:` list may never remove: framing and routing stay ours. */
const PROTECTED = new Set(["host", "content-length", "transfer-encoding", ":authority"]);

/**
 * Removes hop-by-hop fields and those named in `Connection`. Returns whether
 * the client asked for `te: trailers` (kept for gRPC over HTTP/2).
 */
export function stripHopByHop(h: Hdrs): boolean {
  const kv = h.kv;
  let named: Set<string> | null = null;
  let teTrailers = false;
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    if (n === "connection") {
      for (const tok of kv[i + 1].split(",")) {
        const t = tok.trim().toLowerCase();
        if (t && !PROTECTED.has(t)) (named ??= new Set()).add(t);
      }
    } else if (n === "te") {
      if (/(^|,)\s*trailers\s*(,|;|$)/i.test(kv[i + 1])) teTrailers = true;
    }
  }
  let w = 0;
  for (let i = 0; i < kv.length; i += 2) {
    const n = kv[i];
    if (HOP.has(n) || (named !== null && named.has(n))) continue;
    kv[w++] = n;
    kv[w++] = kv[i + 1];
  }
  kv.length = w;
  return teTrailers;
}
