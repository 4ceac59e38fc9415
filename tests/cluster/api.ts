/**
 * A minimal Kubernetes REST client over fetch (bearer token + cluster CA), for
 * the harness's own use (node simulator, readiness waits). Tests get the full
 * `@kubernetes/client-node` KubeConfig from mod.ts instead.
 */

/** Loosely typed Kubernetes object; callers narrow it to the few fields they use. */
export type KObj = Record<string, unknown>;

/** Error carrying the HTTP status of a failed API call. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** One watch event. */
export interface WatchEvent<T = KObj> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** Connection details of the API server. */
export interface ApiConfig {
  server: string;
  token: string;
  caPem: string;
}

/** Tiny typed-enough REST client. */
export class KubeApi {
  readonly #client: Deno.HttpClient;
  constructor(readonly cfg: ApiConfig) {
    this.#client = Deno.createHttpClient({ caCerts: [cfg.caPem] });
  }

  /** Close the underlying HTTP client. */
  close(): void {
    this.#client.close();
  }

  async #req(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.cfg.token}`,
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = contentType ?? "application/json";
    return await fetch(`${this.cfg.server}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      client: this.#client,
    });
  }

  /** Perform a request and parse the JSON answer; throws ApiError on non-2xx. */
  async request<T = KObj>(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
  ): Promise<T> {
    const res = await this.#req(method, path, body, contentType);
    const text = await res.text();
    if (!res.ok) {
      let msg = text;
      try {
        msg = String((JSON.parse(text) as KObj).message ?? text);
      } catch { /* not JSON */ }
      throw new ApiError(res.status, `${method} ${path}: ${res.status} ${msg}`);
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** HTTP status of a GET (for /readyz and friends); 0 when the server cannot be reached. */
  async probe(path: string): Promise<number> {
    try {
      const res = await this.#req("GET", path);
      await res.body?.cancel();
      return res.status;
    } catch {
      return 0;
    }
  }

  /** GET. */
  get<T = KObj>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }
  /** POST (create). */
  create(path: string, obj: unknown): Promise<KObj> {
    return this.request("POST", path, obj);
  }
  /** JSON merge patch. */
  mergePatch(path: string, patch: unknown): Promise<KObj> {
    return this.request("PATCH", path, patch, "application/merge-patch+json");
  }
  /** DELETE with optional DeleteOptions body. */
  delete(path: string, opts?: unknown): Promise<KObj> {
    return this.request("DELETE", path, opts);
  }

  /** GET that returns undefined on 404. */
  async tryGet<T = KObj>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * Watch a collection from `resourceVersion` until `signal` aborts or the server ends
   * the stream; yields events. Callers re-list and re-watch when it returns.
   */
  async *watch<T = KObj>(
    path: string,
    resourceVersion: string,
    signal: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const sep = path.includes("?") ? "&" : "?";
    const res = await fetch(
      `${this.cfg.server}${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}&timeoutSeconds=300`,
      {
        headers: { authorization: `Bearer ${this.cfg.token}`, accept: "application/json" },
        client: this.#client,
        signal,
      },
    );
    if (!res.ok || !res.body) {
      const t = await res.text();
      throw new ApiError(res.status, `watch ${path}: ${res.status} ${t}`);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T>;
        }
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }
}
