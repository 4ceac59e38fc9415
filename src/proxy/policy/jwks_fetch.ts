/**
 * Remote JWKS for JWT policies (`jwt.jwksUri`): fetched by the data plane,
 * one fetcher per URI per thread shared by every policy and route naming it.
 *
 * - The first fetch starts when a policy naming the URI is compiled; until it
 *   succeeds, requests wait for it (up to the fetch timeout) and are then
 *   refused 503 with the fetch error as the reason.
 * - Refresh is lazy: a request that finds keys older than the refresh
 *   interval starts a background re-fetch (no timers, so nothing to stop when
 *   a snapshot drops the policy); a token whose `kid` is not in the set
 *   triggers a re-fetch (at most once per `minRefetchMs`) and waits for it, so
 *   a rotated key works from the first request that uses it.
 * - A failed fetch keeps the last good set (and its age), and is retried on
 *   demand, again at most once per `minRefetchMs`.
 * - Bounded: a response above `maxBytes`, a document above MAX_KEYS keys, or
 *   no answer within `timeoutMs` is a failed fetch. Redirects are refused (a
 *   redirect could downgrade to plain HTTP).
 * - `https:` uses the system / built-in CA roots, plus `caPem` when given
 *   (ProxyPolicy `jwt.jwksCaCertificateRef`: a private CA such as an in-cluster
 *   Keycloak's or Dex's);
 *   `http:` only for loopback hosts, or with `allowHttp` / NOVAEDGE_JWKS_ALLOW_HTTP=1.
 */
import { Lru } from "./lru.ts";

/** A signing key from a JWKS, as parsed (members checked when used). */
export interface Jwk {
  readonly kty?: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
  readonly crv?: string;
  readonly [k: string]: unknown;
}

/** Most keys taken from one JWKS document. */
export const MAX_KEYS = 100;

/** One parsed JWKS with its WebCrypto imports (a new object per fetched document). */
export class JwkSet {
  /** Imported keys by "alg\0index", filled as tokens use them. */
  readonly imported = new Map<string, Promise<CryptoKey | null>>();
  constructor(readonly keys: readonly Jwk[]) {}

  /** Parses a JWKS document: a set with signing keys, or why not. */
  static parse(json: string): JwkSet | string {
    let j: unknown;
    try {
      j = JSON.parse(json);
    } catch {
      return "JWKS is not valid JSON";
    }
    const list = (j as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(list)) return "JWKS has no signing keys";
    if (list.length > MAX_KEYS) return `JWKS has ${list.length} keys (at most ${MAX_KEYS})`;
    const keys = list.filter((k): k is Jwk =>
      typeof k === "object" && k !== null && (k as Jwk).use !== "enc"
    );
    return keys.length === 0 ? "JWKS has no signing keys" : new JwkSet(keys);
  }
}

/** Fetcher knobs (defaults in brackets). */
export interface JwksFetchOptions {
  /** Re-fetch keys older than this, on use [300,000 ms]. */
  readonly refreshMs?: number;
  /** Least time between two fetches triggered by unknown kids or failures [10,000 ms]. */
  readonly minRefetchMs?: number;
  /** Whole-fetch timeout [5,000 ms]. */
  readonly timeoutMs?: number;
  /** Largest accepted document [256 KiB]. */
  readonly maxBytes?: number;
  /** PEM CA bundle trusted in addition to the default roots (https only; Deno `caCerts`). */
  readonly caPem?: string;
  /** Allow `http:` to non-loopback hosts [NOVAEDGE_JWKS_ALLOW_HTTP=1 in the environment]. */
  readonly allowHttp?: boolean;
  /** Monotonic milliseconds [performance.now]. */
  readonly clock?: () => number;
}

function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Env switch allowing plain-http JWKS URIs to any host (an explicit operator choice). */
export const ALLOW_HTTP_ENV = "NOVAEDGE_JWKS_ALLOW_HTTP";

function httpAllowedByEnv(): boolean {
  try {
    return Deno.env.get(ALLOW_HTTP_ENV) === "1";
  } catch {
    return false; // no env permission: not allowed
  }
}

/** Why `uri` cannot be fetched with `opts`, or "" when it can. */
export function jwksUriProblem(uri: string, opts: JwksFetchOptions = {}): string {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return `jwksUri "${uri}" is not a URL`;
  }
  if (u.protocol === "https:") return "";
  if (u.protocol === "http:") {
    return isLoopbackHost(u.hostname) || (opts.allowHttp ?? httpAllowedByEnv())
      ? ""
      : `jwksUri ${uri} must use https (plain http only for loopback hosts, or set ${ALLOW_HTTP_ENV}=1)`;
  }
  return `jwksUri ${uri}: unsupported scheme ${u.protocol}`;
}

/** The keys behind one jwksUri, fetched and refreshed as described above. */
export class JwksFetcher {
  #set: JwkSet | null = null;
  #text = "";
  #fetchedAt = -Infinity;
  #lastTry = -Infinity;
  #inflight: Promise<void> | null = null;
  #client: Deno.HttpClient | null = null;
  /** Why the last fetch failed ("" after a success). */
  lastError = "not fetched yet";
  /** Completed fetches, successful or not (tests, diagnostics). */
  fetches = 0;
  readonly #refreshMs: number;
  readonly #minRefetchMs: number;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #clock: () => number;

  constructor(readonly uri: string, readonly opts: JwksFetchOptions = {}) {
    this.#refreshMs = opts.refreshMs ?? 300_000;
    this.#minRefetchMs = opts.minRefetchMs ?? 10_000;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#maxBytes = opts.maxBytes ?? 256 * 1024;
    this.#clock = opts.clock ?? (() => performance.now());
  }

  /** The last good key set, or null before the first successful fetch. */
  get current(): JwkSet | null {
    return this.#set;
  }

  /** Starts a fetch unless one is running; resolves when it ends (never rejects). */
  refresh(): Promise<void> {
    if (this.#inflight === null) {
      this.#lastTry = this.#clock();
      this.#inflight = this.#fetch().finally(() => {
        this.#inflight = null;
      });
    }
    return this.#inflight;
  }

  /**
   * The set for a request: starts a background refresh when it is stale.
   * null before the first success.
   */
  use(): JwkSet | null {
    if (this.#set !== null && this.#clock() - this.#fetchedAt >= this.#refreshMs) {
      void this.refresh();
    }
    return this.#set;
  }

  /**
   * Waits for fresher keys when it makes sense — no keys yet, or a kid the
   * set lacks — fetching at most once per minRefetchMs; otherwise resolves at once.
   */
  refetchForMiss(): Promise<void> {
    if (this.#inflight !== null) return this.#inflight;
    if (this.#clock() - this.#lastTry < this.#minRefetchMs) return Promise.resolve();
    return this.refresh();
  }

  async #fetch(): Promise<void> {
    try {
      const problem = jwksUriProblem(this.uri, this.opts);
      if (problem !== "") throw new Error(problem);
      if (this.opts.caPem && this.#client === null) {
        this.#client = Deno.createHttpClient({ caCerts: [this.opts.caPem] });
      }
      const res = await fetch(this.uri, {
        redirect: "manual",
        headers: { accept: "application/json, application/jwk-set+json" },
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.#client ? { client: this.#client } : {}),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      const text = await this.#readBounded(res);
      // The same document keeps the same set (and its imports and the
      // verifiers' token caches, which are dropped when the set changes).
      if (text !== this.#text || this.#set === null) {
        const set = JwkSet.parse(text);
        if (typeof set === "string") throw new Error(set);
        this.#set = set;
        this.#text = text;
      }
      this.#fetchedAt = this.#clock();
      this.lastError = "";
    } catch (e) {
      const why = e instanceof Error
        ? (e.name === "TimeoutError" ? `no answer within ${this.#timeoutMs} ms` : e.message)
        : String(e);
      this.lastError = `fetching ${this.uri} failed: ${why}`;
    } finally {
      this.fetches++;
    }
  }

  async #readBounded(res: Response): Promise<string> {
    if (res.body === null) return "";
    const dec = new TextDecoder();
    let text = "";
    let n = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > this.#maxBytes) {
        await reader.cancel();
        throw new Error(`JWKS larger than ${this.#maxBytes} bytes`);
      }
      text += dec.decode(value, { stream: true });
    }
    return text + dec.decode();
  }

  /** Drops the TLS client (a custom CA); a later fetch makes a new one. */
  close(): void {
    this.#client?.close();
    this.#client = null;
  }
}

/** Fetchers of this thread by URI (bounded: URIs come from configuration). */
const fetchers = new Lru<string, JwksFetcher>(1024);

/**
 * The thread's fetcher for `uri` (made and its first fetch started on first
 * use), so all policies and routes naming one URI share keys and fetches.
 */
export function jwksFetcherFor(uri: string, opts: JwksFetchOptions = {}): JwksFetcher {
  const key = `${uri}\0${opts.caPem ?? ""}\0${opts.allowHttp ? 1 : 0}`;
  let f = fetchers.get(key);
  if (f === undefined) {
    f = new JwksFetcher(uri, opts);
    fetchers.set(key, f);
    void f.refresh();
  }
  return f;
}
