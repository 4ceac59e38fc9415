/**
 * JWT bearer-token verification against a JWKS (RFC 7515/7517/7519):
 * RS256/384/512, PS256/384/512, ES256/384 and HS256/384/512 (an "oct" key in
 * the JWKS) through WebCrypto. The key must fit the token's algorithm family
 * (kty, and `alg` when the JWK names one), so an RSA public key can never be
 * used as an HMAC secret. Claims: `iss` must equal the issuer (when set),
 * `aud` must contain one of the audiences (when set), `exp` / `nbf` are
 * checked with a small clock skew. Verified tokens are cached (bounded) until
 * they expire, so a returning client is checked synchronously.
 */
import { Lru } from "./lru.ts";
import type { Jwt } from "../../snapshot/types.ts";
import {
  type Jwk,
  JwkSet,
  type JwksFetcher,
  jwksFetcherFor,
  jwksUriProblem,
} from "./jwks_fetch.ts";

/** Allowed clock difference for exp / nbf, in seconds. */
export const JWT_CLOCK_SKEW_S = 60;
/** Default number of remembered verified tokens. */
export const JWT_CACHE_SIZE = 10_000;

/** The outcome of a verification: ok, or the reason it failed. */
export type JwtResult = { ok: true } | {
  ok: false;
  reason: string;
  /** Set when no keys could be had (remote JWKS not fetched): a 503, not a 401. */
  unavailable?: true;
};

interface AlgSpec {
  readonly kty: "RSA" | "EC" | "oct";
  readonly params: RsaHashedImportParams | EcKeyImportParams | HmacImportParams;
  readonly verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams;
  readonly crv?: string;
}

const ALGS: Record<string, AlgSpec> = {
  RS256: rsa("RSASSA-PKCS1-v1_5", "SHA-256"),
  RS384: rsa("RSASSA-PKCS1-v1_5", "SHA-384"),
  RS512: rsa("RSASSA-PKCS1-v1_5", "SHA-512"),
  PS256: { ...rsa("RSA-PSS", "SHA-256"), verify: { name: "RSA-PSS", saltLength: 32 } },
  PS384: { ...rsa("RSA-PSS", "SHA-384"), verify: { name: "RSA-PSS", saltLength: 48 } },
  PS512: { ...rsa("RSA-PSS", "SHA-512"), verify: { name: "RSA-PSS", saltLength: 64 } },
  ES256: ec("P-256", "SHA-256"),
  ES384: ec("P-384", "SHA-384"),
  HS256: hmac("SHA-256"),
  HS384: hmac("SHA-384"),
  HS512: hmac("SHA-512"),
};

function rsa(name: string, hash: string): AlgSpec {
  return { kty: "RSA", params: { name, hash }, verify: { name } };
}
function ec(crv: string, hash: string): AlgSpec {
  return {
    kty: "EC",
    crv,
    params: { name: "ECDSA", namedCurve: crv },
    verify: { name: "ECDSA", hash },
  };
}
function hmac(hash: string): AlgSpec {
  return { kty: "oct", params: { name: "HMAC", hash }, verify: { name: "HMAC" } };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const ascii = new TextEncoder();

/** Decodes base64url (no padding required); null when malformed. */
export function base64UrlDecode(s: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return null;
  const b64 = s.replaceAll("-", "+").replaceAll("_", "/") + "===".slice((s.length + 3) % 4);
  try {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

function decodeJson(part: string): Record<string, unknown> | null {
  const b = base64UrlDecode(part);
  if (b === null) return null;
  try {
    const v: unknown = JSON.parse(utf8.decode(b));
    return typeof v === "object" && v !== null && !Array.isArray(v)
      ? v as Record<string, unknown>
      : null;
  } catch {
    return null;
  }
}

/** "Bearer <token>" (scheme case-insensitive) → token, or null. */
export function bearerToken(value: string | null): string | null {
  if (value === null) return null;
  const v = value.trim();
  if (v.length < 8 || v.slice(0, 7).toLowerCase() !== "bearer ") return null;
  const t = v.slice(7).trim();
  return t === "" ? null : t;
}

/** A compiled JWT provider (one ProxyPolicy `jwt` block). */
export class JwtVerifier {
  /** Inline JWKS (jwksJson), or null when keys come from `#remote`. */
  readonly #static: JwkSet | null;
  readonly #remote: JwksFetcher | null;
  /** The remote set the token cache was filled against. */
  #seen: JwkSet | null = null;
  readonly #cache: Lru<string, number>;
  readonly issuer: string;
  readonly audiences: readonly string[];
  /** Why no key can ever verify (bad / missing JWKS), or "" when keys are present. */
  readonly configError: string;

  /**
   * `fetcher` overrides the thread's shared fetcher for `c.jwksUri` (and its
   * `c.jwksCaPem`) in tests; it is only used when `c.jwksJson` is empty.
   */
  constructor(
    c: Jwt,
    readonly nowMs: () => number = Date.now,
    cacheSize: number = JWT_CACHE_SIZE,
    fetcher: JwksFetcher | null = null,
  ) {
    this.issuer = c.issuer;
    this.audiences = c.audiences;
    this.#cache = new Lru(cacheSize);
    let set: JwkSet | null = null;
    let remote: JwksFetcher | null = null;
    let err = "";
    if (c.jwksJson !== "") {
      const parsed = JwkSet.parse(c.jwksJson);
      if (typeof parsed === "string") err = parsed;
      else set = parsed;
    } else if (c.jwksUri !== "") {
      // A private CA for the JWKS server (jwksCaPem) gets its own fetcher:
      // the per-URI cache key includes the CA.
      const opts = c.jwksCaPem ? { caPem: c.jwksCaPem } : {};
      err = fetcher === null ? jwksUriProblem(c.jwksUri, opts) : "";
      if (err === "") remote = fetcher ?? jwksFetcherFor(c.jwksUri, opts);
    } else {
      err = "no JWKS configured";
    }
    this.#static = set;
    this.#remote = remote;
    this.configError = err;
  }

  /** Remembered tokens (tests). */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** check() with the signature step run: a result or a Promise of one. */
  verify(token: string): JwtResult | Promise<JwtResult> {
    const r = this.check(token);
    return typeof r === "function" ? r() : r;
  }

  /**
   * Checks a compact JWS without cryptography where possible: a result when
   * that decides it (malformed token, bad claims, no key, cached success),
   * else a thunk that verifies the signature.
   */
  check(token: string): JwtResult | (() => Promise<JwtResult>) {
    const now = this.nowMs();
    const remote = this.#remote;
    let set = this.#static;
    if (remote !== null) {
      set = remote.use();
      // A changed key set may have dropped a key: re-verify remembered tokens.
      if (set !== this.#seen) {
        this.#cache.clear();
        this.#seen = set;
      }
    }
    const cachedExp = this.#cache.get(token);
    if (cachedExp !== undefined) {
      if (cachedExp > now - JWT_CLOCK_SKEW_S * 1000) return { ok: true };
      this.#cache.delete(token);
      return { ok: false, reason: "token expired" };
    }
    if (this.configError !== "") return { ok: false, reason: this.configError };
    const d1 = token.indexOf(".");
    const d2 = d1 < 0 ? -1 : token.indexOf(".", d1 + 1);
    if (d2 < 0 || token.indexOf(".", d2 + 1) >= 0) return { ok: false, reason: "malformed token" };
    const header = decodeJson(token.slice(0, d1));
    const payload = decodeJson(token.slice(d1 + 1, d2));
    const sig = base64UrlDecode(token.slice(d2 + 1));
    if (header === null || payload === null || sig === null || sig.length === 0) {
      return { ok: false, reason: "malformed token" };
    }
    const alg = typeof header.alg === "string" ? header.alg : "";
    const spec = Object.hasOwn(ALGS, alg) ? ALGS[alg] : undefined;
    if (spec === undefined) return { ok: false, reason: `unsupported alg "${alg}"` };
    if (header.crit !== undefined) return { ok: false, reason: "unsupported crit header" };
    const claims = this.#checkClaims(payload, now);
    if (claims !== null) return { ok: false, reason: claims };
    const kid = typeof header.kid === "string" ? header.kid : null;
    const signed = ascii.encode(token.slice(0, d2));
    const exp = typeof payload.exp === "number" ? payload.exp * 1000 : Infinity;
    const run = (s: JwkSet): JwtResult | (() => Promise<JwtResult>) => {
      const keys = matching(s, spec, alg, kid);
      if (keys.length === 0) return { ok: false, reason: "no matching key in JWKS" };
      return () =>
        this.#verifyWith(s, keys, alg, spec, sig, signed).then((ok): JwtResult => {
          if (!ok) return { ok: false, reason: "bad signature" };
          if (s !== this.#seen && remote !== null) {
            this.#cache.clear();
            this.#seen = s;
          }
          this.#cache.set(token, exp);
          return { ok: true };
        });
    };
    if (set !== null) {
      const r = run(set);
      // An unknown kid may be a rotated-in key: fetch the set again (rate-limited) and retry.
      if (typeof r === "function" || remote === null || kid === null) return r;
      return async () => {
        await remote.refetchForMiss();
        const s = remote.current;
        if (s === null || s === set) return r;
        const again = run(s);
        return typeof again === "function" ? await again() : again;
      };
    }
    // Remote keys not fetched yet: wait for a fetch (bounded by its timeout).
    const rem = remote!;
    return async () => {
      await rem.refetchForMiss();
      const s = rem.current;
      if (s === null) {
        return {
          ok: false,
          unavailable: true,
          reason: `JWKS ${rem.uri} not available (${rem.lastError})`,
        };
      }
      const again = run(s);
      return typeof again === "function" ? await again() : again;
    };
  }

  async #verifyWith(
    set: JwkSet,
    keys: Jwk[],
    alg: string,
    spec: AlgSpec,
    sig: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean> {
    for (let i = 0; i < keys.length; i++) {
      const id = `${alg}\0${set.keys.indexOf(keys[i])}`;
      let p = set.imported.get(id);
      if (p === undefined) {
        const { alg: _a, use: _u, key_ops: _k, ...jwk } = keys[i];
        p = crypto.subtle.importKey("jwk", jwk as JsonWebKey, spec.params, false, ["verify"])
          .catch(() => null);
        set.imported.set(id, p);
      }
      const key = await p;
      if (key === null) continue;
      try {
        if (
          await crypto.subtle.verify(
            spec.verify,
            key,
            sig as Uint8Array<ArrayBuffer>,
            data as Uint8Array<ArrayBuffer>,
          )
        ) return true;
      } catch {
        // A signature of the wrong length for the key: not valid.
      }
    }
    return false;
  }

  #checkClaims(p: Record<string, unknown>, now: number): string | null {
    const skew = JWT_CLOCK_SKEW_S * 1000;
    if (p.exp !== undefined) {
      if (typeof p.exp !== "number") return "malformed exp claim";
      if (p.exp * 1000 <= now - skew) return "token expired";
    }
    if (p.nbf !== undefined) {
      if (typeof p.nbf !== "number") return "malformed nbf claim";
      if (p.nbf * 1000 > now + skew) return "token not yet valid";
    }
    if (this.issuer !== "" && p.iss !== this.issuer) return "wrong issuer";
    if (this.audiences.length > 0) {
      const aud = p.aud;
      const list = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
      if (!list.some((a) => typeof a === "string" && this.audiences.includes(a))) {
        return "wrong audience";
      }
    }
    return null;
  }
}

/** Keys of `set` that fit the token's algorithm (and kid, when it names one). */
function matching(set: JwkSet, spec: AlgSpec, alg: string, kid: string | null): Jwk[] {
  return set.keys.filter((k) =>
    k.kty === spec.kty && (k.alg === undefined || k.alg === alg) &&
    (spec.crv === undefined || k.crv === spec.crv) && (kid === null || k.kid === kid)
  );
}
