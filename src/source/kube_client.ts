/**
 * A small JSON client for the Kubernetes API: @kubernetes/client-node reads the
 * configuration (kubeconfig, in-cluster, tokens, exec plugins) and computes the
 * auth headers; requests go through Deno's own fetch with a client built from
 * the cluster's CA and client certificate.
 *
 * Why not client-node's HTTP layer: under Deno its undici-based fetch never
 * notices a watch connection that the server (or a proxy) closed: the informer
 * then waits forever, silently (measured: tests/controller/
 * kube_recovery_cluster_test.ts). Deno's fetch reports the closed stream, and
 * every non-watch request here has a timeout so nothing can hang.
 * Why not the generated typed APIs: they turn timestamps into Date objects;
 * the pure pipeline wants the plain JSON the directory source reads.
 */
import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";

/** An API error with the HTTP status and the Status object's reason/message. */
export class KubeError extends Error {
  override name = "KubeError";
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export interface KubeList {
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: Record<string, unknown>[];
}

export type PatchType = "merge" | "json" | "apply";

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/**
 * Load a KubeConfig: an explicit `--kubeconfig` path, else `KUBECONFIG`, else
 * ~/.kube/config, else in-cluster (client-node's loadFromDefault order).
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new Error(
      "no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod",
    );
  }
  return kc;
}

/** One event of a watch stream. */
export interface WatchEvent {
  readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  readonly object: Record<string, unknown>;
}

function readMaybe(data?: string, file?: string): string | undefined {
  if (data) return atob(data);
  if (file) return Deno.readTextFileSync(file);
  return undefined;
}

export class KubeClient {
  readonly kc: KubeConfig;
  #client: Deno.HttpClient;
  /** Timeout of every request but watches. */
  readonly requestTimeoutMs: number;

  constructor(kc: KubeConfig, opts: { requestTimeoutMs?: number } = {}) {
    this.kc = kc;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    const ca = readMaybe(cluster?.caData, cluster?.caFile);
    const cert = readMaybe(user?.certData, user?.certFile);
    const key = readMaybe(user?.keyData, user?.keyFile);
    this.#client = Deno.createHttpClient({
      ...(ca ? { caCerts: [ca] } : {}),
      ...(cert && key ? { cert, key } : {}),
      http2: false, // one connection per watch: a broken one fails only itself
    });
  }

  /** Auth headers for a request (token, refreshed token files, exec plugins). */
  async #headers(url: string, method: string): Promise<Headers> {
    const ctx = new RequestContext(url, HttpMethod[method as keyof typeof HttpMethod]);
    await this.kc.applySecurityAuthentication(ctx);
    const h = new Headers();
    for (const [k, v] of Object.entries(ctx.getHeaders())) h.set(k, String(v));
    return h;
  }

  close(): void {
    this.#client.close();
  }

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? "";
  }

  /** Send a request; parse JSON; throw KubeError on a non-2xx answer. */
  async request(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<unknown> {
    const url = this.server + path;
    const headers = await this.#headers(url, method);
    headers.set("Accept", "application/json");
    if (body !== undefined) headers.set("Content-Type", contentType);
    let resp: Response;
    let text: string;
    try {
      resp = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        client: this.#client,
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      text = await resp.text();
    } catch (err) {
      throw new KubeError(0, "Unreachable", `${method} ${path}: ${(err as Error).message}`);
    }
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // non-JSON error page
    }
    if (resp.status < 200 || resp.status >= 300) {
      const st = (json ?? {}) as { reason?: string; message?: string };
      throw new KubeError(
        resp.status,
        st.reason ?? "",
        `${method} ${path}: ${resp.status} ${st.message ?? text.slice(0, 200)}`,
      );
    }
    return json;
  }

  /**
   * Stream a watch: calls `onEvent` per event until the server ends the stream
   * (resolves), the connection breaks, nothing arrives for `idleTimeoutMs`
   * (rejects) or `signal` aborts (resolves).
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
    idleTimeoutMs: number,
  ): Promise<void> {
    const q = new URLSearchParams({ ...query, watch: "true", allowWatchBookmarks: "true" });
    const url = `${this.server}${path}?${q}`;
    const headers = await this.#headers(url, "GET");
    headers.set("Accept", "application/json");
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    signal.addEventListener("abort", onAbort);
    let idle = false;
    let timer = setTimeout(() => {
      idle = true;
      ac.abort();
    }, idleTimeoutMs);
    const bump = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        idle = true;
        ac.abort();
      }, idleTimeoutMs);
    };
    try {
      const resp = await fetch(url, { headers, client: this.#client, signal: ac.signal });
      if (resp.status !== 200) {
        const text = await resp.text();
        let st: { reason?: string; message?: string } = {};
        try {
          st = JSON.parse(text);
        } catch {
          // not JSON
        }
        throw new KubeError(
          resp.status,
          st.reason ?? "",
          `watch ${path}: ${resp.status} ${st.message ?? ""}`,
        );
      }
      const reader = resp.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      while (true) {
        const { value, done } = await reader.read();
        if (done) return;
        bump();
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as WatchEvent);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (idle) {
        throw new KubeError(
          0,
          "IdleTimeout",
          `watch ${path}: nothing received for ${idleTimeoutMs} ms`,
        );
      }
      if (err instanceof KubeError) throw err;
      throw new KubeError(0, "Unreachable", `watch ${path}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  get(path: string): Promise<unknown> {
    return this.request("GET", path);
  }

  /** List every item of a collection, following `continue` pages of `limit`. */
  async list(path: string, query: Record<string, string> = {}, limit = 500): Promise<KubeList> {
    const items: Record<string, unknown>[] = [];
    let cont = "";
    let resourceVersion = "";
    do {
      const q = new URLSearchParams({ ...query, limit: String(limit) });
      if (cont) q.set("continue", cont);
      const page = await this.request("GET", `${path}?${q}`) as KubeList;
      items.push(...(page.items ?? []));
      cont = page.metadata?.continue ?? "";
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (cont);
    return { metadata: { resourceVersion }, items };
  }

  patch(path: string, body: unknown, type: PatchType = "merge", query = ""): Promise<unknown> {
    return this.request("PATCH", path + query, body, PATCH_CONTENT_TYPE[type]);
  }

  create(path: string, body: unknown): Promise<unknown> {
    return this.request("POST", path, body);
  }

  replace(path: string, body: unknown): Promise<unknown> {
    return this.request("PUT", path, body);
  }
}

/** Collection path of a resource: /api/v1/... for the core group, /apis/<g>/<v>/... otherwise. */
export function resourcePath(
  group: string,
  version: string,
  plural: string,
  namespace?: string,
  name?: string,
): string {
  const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const n = name ? `/${encodeURIComponent(name)}` : "";
  return `${base}${ns}/${plural}${n}`;
}
