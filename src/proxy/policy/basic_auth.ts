/**
 * HTTP Basic authentication against htpasswd lines. Supported hashes:
 * `{SHA}` (base64 SHA-1) and Apache MD5 (`$apr1$`, htpasswd's default),
 * checked synchronously, and bcrypt (`$2a$`, `$2b$`, `$2y$`), checked with
 * bcryptjs' asynchronous compare so a cost-10 hash
 * (~50–100 ms of CPU) does not stall the event loop in one piece. Successful
 * bcrypt checks are remembered in a bounded LRU keyed by a SHA-256 of
 * (user, password, stored hash), so a returning client costs one hash, not a
 * bcrypt run. Other formats (crypt, plain) never match.
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";
import bcrypt from "bcryptjs";
import { Lru } from "./lru.ts";
import { apr1Hash, apr1Salt } from "./apr1.ts";
import { htpasswdHashKind } from "./htpasswd_hash.ts";

/** Credentials presented in an Authorization header. */
export interface BasicCredentials {
  readonly user: string;
  readonly password: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads "Basic <base64(user:password)>" (scheme case-insensitive). Returns
 * null when the header is absent, another scheme, or malformed.
 */
export function parseBasicAuthorization(value: string | null): BasicCredentials | null {
  if (value === null) return null;
  const v = value.trim();
  if (v.length < 7 || v.slice(0, 6).toLowerCase() !== "basic ") return null;
  const b64 = v.slice(6).trim();
  if (b64 === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  let text: string;
  try {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    text = decoder.decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

type Entry =
  | { kind: "sha"; digest: Buffer }
  | { kind: "bcrypt"; hash: string }
  | { kind: "apr1"; hash: Buffer; salt: string }
  | { kind: "unsupported" };

function parseEntry(hash: string): Entry {
  switch (htpasswdHashKind(hash)) {
    case "sha":
      return { kind: "sha", digest: Buffer.from(hash.slice(5), "base64") };
    case "bcrypt":
      return { kind: "bcrypt", hash };
    case "apr1":
      return { kind: "apr1", hash: Buffer.from(hash), salt: apr1Salt(hash) };
    default:
      return { kind: "unsupported" };
  }
}

/** Default number of remembered successful bcrypt verifications. */
export const BCRYPT_CACHE_SIZE = 10_000;

/** A compiled htpasswd file. */
export class HtpasswdVerifier {
  readonly #users = new Map<string, Entry>();
  readonly #ok: Lru<string, true>;
  /** Lines that did not parse or use an unsupported hash (for diagnostics). */
  readonly unsupported: string[] = [];

  constructor(lines: readonly string[], cacheSize: number = BCRYPT_CACHE_SIZE) {
    this.#ok = new Lru(cacheSize);
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const user = line.slice(0, colon);
      const e = parseEntry(line.slice(colon + 1).trim());
      if (e.kind === "unsupported") this.unsupported.push(user);
      // First entry for a user wins, as Apache's htpasswd lookup does.
      if (!this.#users.has(user)) this.#users.set(user, e);
    }
  }

  /** Number of remembered bcrypt successes (tests). */
  get cacheSize(): number {
    return this.#ok.size;
  }

  /**
   * Checks credentials without doing slow work: a boolean when that decides
   * it (unknown user, {SHA}, $apr1$, a cached bcrypt success), else a thunk that runs
   * bcrypt. Callers that have other, cheaper ways to authenticate try those
   * before running the thunk.
   */
  check(c: BasicCredentials): boolean | (() => Promise<boolean>) {
    const e = this.#users.get(c.user);
    if (e === undefined || e.kind === "unsupported") return false;
    if (e.kind === "sha") {
      const d = createHash("sha1").update(c.password, "utf8").digest();
      return timingSafeEqual(d, e.digest);
    }
    if (e.kind === "apr1") {
      const h = Buffer.from(apr1Hash(c.password, e.salt));
      return h.length === e.hash.length && timingSafeEqual(h, e.hash);
    }
    const key = createHash("sha256").update(c.user).update("\0").update(c.password).update("\0")
      .update(e.hash).digest("base64");
    if (this.#ok.get(key) !== undefined) return true;
    return () =>
      bcrypt.compare(c.password, e.hash).then((ok) => {
        if (ok) this.#ok.set(key, true);
        return ok;
      }, () => false);
  }

  /** check() with the slow path run: a boolean or a Promise of one. */
  verify(c: BasicCredentials): boolean | Promise<boolean> {
    const r = this.check(c);
    return typeof r === "function" ? r() : r;
  }
}
