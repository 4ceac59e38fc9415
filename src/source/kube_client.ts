/**
 * A small JSON client for the Kubernetes API on top of @kubernetes/client-node's
 * configuration (kubeconfig, in-cluster, TLS, tokens) and its HTTP layer.
 *
 * Why not the generated typed APIs: they turn timestamps into Date objects and
 * need a class per kind, while the pure pipeline wants plain JSON identical to
 * what the directory source reads. Raw paths also let one code path list any
 * resource (core, apps, CRDs) with pagination.
 */
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  RequestContext,
} from "@kubernetes/client-node";

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

export class KubeClient {
  readonly kc: KubeConfig;
  #http = new IsomorphicFetchHttpLibrary();

  constructor(kc: KubeConfig) {
    this.kc = kc;
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
    signal?: AbortSignal,
  ): Promise<unknown> {
    const ctx = new RequestContext(this.server + path, HttpMethod[method]);
    ctx.setHeaderParam("Accept", "application/json");
    if (body !== undefined) {
      ctx.setHeaderParam("Content-Type", contentType);
      ctx.setBody(JSON.stringify(body));
    }
    if (signal) ctx.setSignal(signal);
    await this.kc.applySecurityAuthentication(ctx);
    const resp = await this.#http.send(ctx).toPromise();
    const text = await resp.body.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // non-JSON error page
    }
    if (resp.httpStatusCode < 200 || resp.httpStatusCode >= 300) {
      const st = (json ?? {}) as { reason?: string; message?: string };
      throw new KubeError(
        resp.httpStatusCode,
        st.reason ?? "",
        `${method} ${path}: ${resp.httpStatusCode} ${st.message ?? text.slice(0, 200)}`,
      );
    }
    return json;
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
