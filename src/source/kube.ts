/**
 * The Kubernetes source: one reflector per watched resource (list, then watch
 * from the list's resourceVersion with bookmarks; re-list on 410 Gone; restart
 * with capped exponential backoff after any error), all feeding one store that
 * hands out the same plain KubeObject[] the directory source produces.
 *
 * The reflector is ours rather than client-node's informer: under Deno that
 * informer neither restarts after an error nor notices a watch connection that
 * was closed under it (it then waits forever without a word). Here every
 * failure is logged with what happened, every watch has a server-side timeout
 * and a client-side idle timeout, and recovery is logged too.
 */
import { GROUP as NOVAEDGE_GROUP, VERSION as NOVAEDGE_VERSION } from "../crds/mod.ts";
import { logger } from "../observe/log.ts";
import type { KubeObject } from "../store/types.ts";
import { KubeClient, KubeError, resourcePath, type WatchEvent } from "./kube_client.ts";

const log = logger("source.kube");

/** One watched resource. */
export interface ResourceSpec {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  /**
   * Optional resources (Gateway API, Ingress) are skipped, with a log line,
   * when the API server does not serve them; required ones retry until it does.
   */
  readonly optional?: boolean;
  /** Field selector for list and watch (e.g. to skip Helm release Secrets). */
  readonly fieldSelector?: string;
}

const ne = (kind: string, plural: string): ResourceSpec => ({
  group: NOVAEDGE_GROUP,
  version: NOVAEDGE_VERSION,
  plural,
  kind,
});
const gw = (kind: string, plural: string, version = "v1"): ResourceSpec => ({
  group: "gateway.networking.k8s.io",
  version,
  plural,
  kind,
  optional: true,
});

/** Everything the pipeline reads. manifests/rbac/ grants exactly list+watch on these. */
export const WATCHED_RESOURCES: readonly ResourceSpec[] = [
  ne("ProxyGateway", "proxygateways"),
  ne("ProxyRoute", "proxyroutes"),
  ne("ProxyBackend", "proxybackends"),
  ne("ProxyPolicy", "proxypolicies"),
  ne("ProxyVIP", "proxyvips"),
  { group: "", version: "v1", plural: "services", kind: "Service" },
  { group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice" },
  {
    group: "",
    version: "v1",
    plural: "secrets",
    kind: "Secret",
    // Service-account tokens and Helm releases are never referenced by routes.
    fieldSelector: "type!=kubernetes.io/service-account-token,type!=helm.sh/release.v1",
  },
  { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap" },
  { group: "", version: "v1", plural: "nodes", kind: "Node" },
  { group: "", version: "v1", plural: "namespaces", kind: "Namespace" },
  gw("GatewayClass", "gatewayclasses"),
  gw("Gateway", "gateways"),
  gw("HTTPRoute", "httproutes"),
  gw("GRPCRoute", "grpcroutes"),
  gw("ReferenceGrant", "referencegrants", "v1beta1"),
  gw("TLSRoute", "tlsroutes", "v1alpha2"),
  gw("TCPRoute", "tcproutes", "v1alpha2"),
  gw("UDPRoute", "udproutes", "v1alpha2"),
  gw("BackendTLSPolicy", "backendtlspolicies"),
  gw("ListenerSet", "listenersets"),
  {
    group: "networking.k8s.io",
    version: "v1",
    plural: "ingresses",
    kind: "Ingress",
    optional: true,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    plural: "ingressclasses",
    kind: "IngressClass",
    optional: true,
  },
];

export interface KubeSourceOptions {
  readonly client: KubeClient;
  readonly resources?: readonly ResourceSpec[];
  /** Called (debounced by the caller) after any object changes, once every informer has synced. */
  readonly onChange: () => void;
  /** Restart backoff (defaults 1 s doubling to 30 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Told about each informer restart (for metrics). */
  readonly onRestart?: (resource: string, error: string) => void;
}

type Raw = Record<string, unknown> & { metadata?: Record<string, unknown> };

interface Watched {
  readonly spec: ResourceSpec;
  readonly name: string;
  readonly store: Map<string, Raw>;
  resourceVersion: string;
  synced: boolean;
  skipped: boolean;
  failures: number;
  lastError: string;
  abort?: AbortController;
  loop?: Promise<void>;
}

function apiVersionOf(s: ResourceSpec): string {
  return s.group === "" ? s.version : `${s.group}/${s.version}`;
}

/** Drop what the pipeline never reads and what only costs memory. */
function trim(o: Raw, spec: ResourceSpec): Raw {
  const m = o.metadata;
  if (m) delete m.managedFields;
  // List items carry no apiVersion/kind; watch events do. Make them uniform.
  o.apiVersion ??= apiVersionOf(spec);
  o.kind ??= spec.kind;
  if (spec.kind === "Node") {
    // Node status is large (images, conditions); keep only addresses.
    const st = o.status as Record<string, unknown> | undefined;
    if (st) o.status = { addresses: st.addresses };
  }
  return o;
}

function keyOf(o: Raw): string {
  const m = o.metadata ?? {};
  return `${m.namespace ?? ""}/${m.name ?? ""}`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/**
 * True when `next` differs from `prev` only in status (or bookkeeping
 * metadata): same generation, labels, annotations and deletion state. Only for
 * objects that have a generation (spec changes bump it); others (Secrets,
 * EndpointSlices, Nodes) always count as changed.
 */
export function statusOnlyChange(prev: Raw, next: Raw): boolean {
  const a = prev.metadata ?? {};
  const b = next.metadata ?? {};
  if (a.generation === undefined || a.generation !== b.generation) return false;
  const same = (x: unknown, y: unknown) => JSON.stringify(x ?? null) === JSON.stringify(y ?? null);
  return same(a.labels, b.labels) && same(a.annotations, b.annotations) &&
    same(a.deletionTimestamp, b.deletionTimestamp) && same(a.ownerReferences, b.ownerReferences);
}

/** Thrown inside a watch when the server says the resourceVersion is too old. */
class Gone extends Error {}

export class KubeSource {
  #opts: KubeSourceOptions;
  #watched: Watched[];
  #stopped = false;
  #allSynced = false;
  #syncWaiters: (() => void)[] = [];

  constructor(opts: KubeSourceOptions) {
    this.#opts = opts;
    this.#watched = (opts.resources ?? WATCHED_RESOURCES).map((spec) => ({
      spec,
      name: spec.group ? `${spec.plural}.${spec.group}` : spec.plural,
      store: new Map(),
      resourceVersion: "",
      synced: false,
      skipped: false,
      failures: 0,
      lastError: "",
    }));
  }

  /** Start every reflector; resolves once each one has listed (or was skipped). */
  async start(): Promise<void> {
    await Promise.all(this.#watched.map((w) => this.#discover(w)));
    for (const w of this.#watched) {
      if (w.skipped) continue;
      w.abort = new AbortController();
      w.loop = this.#run(w, w.abort.signal);
    }
    this.#checkSynced();
    if (!this.#allSynced) await new Promise<void>((r) => this.#syncWaiters.push(r));
  }

  get synced(): boolean {
    return this.#allSynced;
  }

  /** Per-resource state, for logs and /debug. */
  status(): { resource: string; synced: boolean; skipped: boolean; lastError: string }[] {
    return this.#watched.map((w) => ({
      resource: w.name,
      synced: w.synced,
      skipped: w.skipped,
      lastError: w.lastError,
    }));
  }

  /** Every object currently known, sorted by kind, namespace, name. */
  objects(): KubeObject[] {
    const out: KubeObject[] = [];
    for (const w of this.#watched) {
      for (const o of w.store.values()) out.push(o as unknown as KubeObject);
    }
    const key = (o: KubeObject) =>
      `${o.kind}\u0000${o.metadata.namespace ?? ""}\u0000${o.metadata.name}`;
    return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  /** Object counts by kind. */
  counts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const w of this.#watched) c[w.spec.kind] = w.store.size;
    return c;
  }

  /** The live object from the cache (for the status writer). */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const w = this.#watched.find((x) => x.spec.kind === kind);
    return w?.store.get(`${namespace ?? ""}/${name}`) as unknown as KubeObject | undefined;
  }

  /** The spec of a watched kind (for building API paths). */
  specOf(kind: string): ResourceSpec | undefined {
    return this.#watched.find((w) => w.spec.kind === kind)?.spec;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const w of this.#watched) w.abort?.abort();
    await Promise.all(this.#watched.map((w) => w.loop));
  }

  /** Optional resources the server does not serve are skipped. */
  async #discover(w: Watched): Promise<void> {
    if (!w.spec.optional) return;
    const path = w.spec.group === ""
      ? `/api/${w.spec.version}`
      : `/apis/${w.spec.group}/${w.spec.version}`;
    for (let attempt = 1;; attempt++) {
      try {
        const list = await this.#opts.client.get(path) as { resources?: { name: string }[] };
        if (!(list.resources ?? []).some((r) => r.name === w.spec.plural)) w.skipped = true;
        break;
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) {
          w.skipped = true;
          break;
        }
        if (this.#stopped) return;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        log.warn("API discovery failed; retrying", {
          resource: w.name,
          error: (err as Error).message,
          retryInMs: delay,
        });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    if (w.skipped) {
      log.info("resource not served by this cluster; not watching it", { resource: w.name });
    }
  }

  #changed(): void {
    if (this.#allSynced && !this.#stopped) this.#opts.onChange();
  }

  #recovered(w: Watched): void {
    if (w.failures > 0) {
      log.info("watch recovered", { resource: w.name, after: w.lastError, failures: w.failures });
      w.failures = 0;
      w.lastError = "";
    }
  }

  async #list(w: Watched, path: string): Promise<void> {
    const query: Record<string, string> = {};
    if (w.spec.fieldSelector) query.fieldSelector = w.spec.fieldSelector;
    const list = await this.#opts.client.list(path, query);
    const next = new Map<string, Raw>();
    for (const item of list.items) {
      const o = trim(item as Raw, w.spec);
      next.set(keyOf(o), o);
    }
    const changed = !w.synced || next.size !== w.store.size ||
      [...next].some(([k, o]) =>
        w.store.get(k)?.metadata?.resourceVersion !== o.metadata?.resourceVersion
      );
    w.store.clear();
    for (const [k, o] of next) w.store.set(k, o);
    w.resourceVersion = list.metadata.resourceVersion ?? "";
    this.#recovered(w);
    if (!w.synced) {
      w.synced = true;
      this.#checkSynced();
    } else if (changed) {
      this.#changed();
    }
  }

  #onEvent(w: Watched, e: WatchEvent): void {
    const o = e.object as Raw;
    if (e.type === "ERROR") {
      const code = (o as { code?: number }).code;
      if (code === 410) throw new Gone(String((o as { message?: string }).message ?? "410 Gone"));
      throw new KubeError(
        code ?? 0,
        String((o as { reason?: string }).reason ?? ""),
        `watch error: ${(o as { message?: string }).message ?? ""}`,
      );
    }
    const rv = o.metadata?.resourceVersion;
    if (typeof rv === "string") w.resourceVersion = rv;
    this.#recovered(w);
    if (e.type === "BOOKMARK") return;
    trim(o, w.spec);
    const key = keyOf(o);
    log.debug("object " + e.type.toLowerCase(), { kind: w.spec.kind, key, resourceVersion: rv });
    const prev = w.store.get(key);
    if (e.type === "DELETED") w.store.delete(key);
    else w.store.set(key, o);
    // A status-only update (our own status writes, mostly) changes nothing the
    // pipeline reads: skip the rebuild, or every write would trigger another one.
    if (e.type === "MODIFIED" && prev && statusOnlyChange(prev, o)) return;
    this.#changed();
  }

  async #run(w: Watched, signal: AbortSignal): Promise<void> {
    const path = resourcePath(w.spec.group, w.spec.version, w.spec.plural);
    const initial = this.#opts.backoff?.initialMs ?? 1000;
    const max = this.#opts.backoff?.maxMs ?? 30_000;
    while (!signal.aborted) {
      try {
        if (!w.resourceVersion) await this.#list(w, path);
        // The server ends each watch after 60-90 s; the client gives up after 30 s more of silence.
        const timeoutSeconds = 60 + Math.floor(Math.random() * 30);
        const query: Record<string, string> = {
          resourceVersion: w.resourceVersion,
          timeoutSeconds: String(timeoutSeconds),
        };
        if (w.spec.fieldSelector) query.fieldSelector = w.spec.fieldSelector;
        const began = Date.now();
        await this.#opts.client.watch(
          path,
          query,
          (e) => this.#onEvent(w, e),
          signal,
          (timeoutSeconds + 30) * 1000,
        );
        // A stream the server ends at once, again and again, must not spin.
        if (Date.now() - began < 1000) await sleep(1000, signal);
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof Gone || (err instanceof KubeError && err.status === 410)) {
          log.info("resourceVersion expired; re-listing", { resource: w.name });
          w.resourceVersion = "";
          continue;
        }
        const message = (err as Error).message;
        w.failures++;
        w.lastError = message;
        const delay = Math.min(max, initial * 2 ** Math.min(w.failures - 1, 20));
        log.warn("watch failed; restarting", {
          resource: w.name,
          error: message,
          status: err instanceof KubeError ? err.status : undefined,
          attempt: w.failures,
          retryInMs: delay,
        });
        this.#opts.onRestart?.(w.name, message);
        await sleep(delay, signal);
      }
    }
  }

  #checkSynced(): void {
    if (this.#allSynced) return;
    if (this.#watched.every((w) => w.synced || w.skipped)) {
      this.#allSynced = true;
      log.info("all informers synced", { objects: this.objects().length });
      for (const r of this.#syncWaiters.splice(0)) r();
      this.#opts.onChange();
    }
  }
}
