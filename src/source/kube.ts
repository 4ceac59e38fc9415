/**
 * The Kubernetes source: one informer (list + watch from a resourceVersion,
 * re-list on 410 Gone) per watched resource, all feeding one store that hands
 * out the same plain KubeObject[] the directory source produces.
 *
 * client-node's informers do not restart themselves after an error (a 500, a
 * refused connection, a killed stream): this module restarts each one with
 * capped exponential backoff and says so in the log. `stop()` makes client-node
 * report an AbortError through the error callback; that one is ignored.
 */
import { type Informer, type KubeConfig, ListWatch, Watch } from "@kubernetes/client-node";
import type { KubernetesObject } from "@kubernetes/client-node";
import { GROUP as NOVAEDGE_GROUP, VERSION as NOVAEDGE_VERSION } from "../crds/mod.ts";
import { logger } from "../observe/log.ts";
import type { KubeObject } from "../store/types.ts";
import { KubeClient, KubeError, resourcePath } from "./kube_client.ts";

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

interface Watched {
  readonly spec: ResourceSpec;
  readonly name: string;
  informer?: Informer<KubernetesObject> & { list(ns?: string): KubernetesObject[] };
  synced: boolean;
  skipped: boolean;
  failures: number;
  timer?: ReturnType<typeof setTimeout>;
  lastError: string;
}

function apiVersionOf(s: ResourceSpec): string {
  return s.group === "" ? s.version : `${s.group}/${s.version}`;
}

/** Drop what the pipeline never reads and what only costs memory. */
function trim(o: KubernetesObject, spec: ResourceSpec): void {
  const m = o.metadata as Record<string, unknown> | undefined;
  if (m) delete m.managedFields;
  const rec = o as Record<string, unknown>;
  // List items carry no apiVersion/kind; watch events do. Make them uniform.
  rec.apiVersion ??= apiVersionOf(spec);
  rec.kind ??= spec.kind;
  if (spec.kind === "Node") {
    // Node status is large (images, conditions); keep only addresses and labels.
    const st = rec.status as Record<string, unknown> | undefined;
    if (st) rec.status = { addresses: st.addresses };
  }
}

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
      synced: false,
      skipped: false,
      failures: 0,
      lastError: "",
    }));
  }

  /** Start every informer; resolves once each one has listed (or was skipped). */
  async start(): Promise<void> {
    const kc = this.#opts.client.kc;
    await Promise.all(this.#watched.map((w) => this.#discover(w)));
    for (const w of this.#watched) if (!w.skipped) this.#startInformer(kc, w);
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
      for (const o of w.informer?.list() ?? []) out.push(o as unknown as KubeObject);
    }
    const key = (o: KubeObject) =>
      `${o.kind}\u0000${o.metadata.namespace ?? ""}\u0000${o.metadata.name}`;
    return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  /** Object counts by kind. */
  counts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const w of this.#watched) c[w.spec.kind] = w.informer?.list().length ?? 0;
    return c;
  }

  /** The live object from the cache (for the status writer). */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const w = this.#watched.find((x) => x.spec.kind === kind);
    const o = (w?.informer as { get?(n: string, ns?: string): KubernetesObject | undefined })
      ?.get?.(name, namespace);
    return o as unknown as KubeObject | undefined;
  }

  /** The spec of a watched kind (for building API paths). */
  specOf(kind: string): ResourceSpec | undefined {
    return this.#watched.find((w) => w.spec.kind === kind)?.spec;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const w of this.#watched) {
      clearTimeout(w.timer);
      await w.informer?.stop();
    }
  }

  /** Optional resources the server does not serve are skipped. */
  async #discover(w: Watched): Promise<void> {
    if (!w.spec.optional) return;
    const path = w.spec.group === ""
      ? `/api/${w.spec.version}`
      : `/apis/${w.spec.group}/${w.spec.version}`;
    try {
      const list = await this.#opts.client.get(path) as { resources?: { name: string }[] };
      if (!(list.resources ?? []).some((r) => r.name === w.spec.plural)) {
        w.skipped = true;
      }
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) w.skipped = true;
      else throw err;
    }
    if (w.skipped) {
      log.info("resource not served by this cluster; not watching it", { resource: w.name });
    }
  }

  #startInformer(kc: KubeConfig, w: Watched): void {
    const path = resourcePath(w.spec.group, w.spec.version, w.spec.plural);
    const query: Record<string, string> = {};
    if (w.spec.fieldSelector) query.fieldSelector = w.spec.fieldSelector;
    const listFn = async () => {
      const list = await this.#opts.client.list(path, query);
      for (const item of list.items) trim(item as unknown as KubernetesObject, w.spec);
      // The informer adds the items right after this resolves: mark synced after that.
      setTimeout(() => this.#markSynced(w), 0);
      return { apiVersion: "v1", kind: "List", metadata: list.metadata, items: list.items } as
        & { items: KubernetesObject[] }
        & KubernetesObject;
    };
    const informer = new ListWatch<KubernetesObject>(
      path,
      new Watch(kc),
      listFn as unknown as ConstructorParameters<typeof ListWatch<KubernetesObject>>[2],
      false,
      undefined,
      w.spec.fieldSelector,
    ) as unknown as NonNullable<Watched["informer"]>;
    w.informer = informer;
    const changed = (o: KubernetesObject) => {
      trim(o, w.spec);
      if (w.failures > 0) {
        log.info("watch recovered", { resource: w.name, after: w.lastError });
        w.failures = 0;
        w.lastError = "";
      }
      if (this.#allSynced && !this.#stopped) this.#opts.onChange();
    };
    informer.on("add", changed);
    informer.on("update", changed);
    informer.on("delete", (o: KubernetesObject) => {
      if (this.#allSynced && !this.#stopped) this.#opts.onChange();
      void o;
    });
    informer.on("error", (err: unknown) => this.#onError(w, err));
    informer.start().catch((err: unknown) => this.#onError(w, err));
  }

  #markSynced(w: Watched): void {
    if (w.failures > 0) {
      log.info("watch recovered", { resource: w.name, after: w.lastError });
    }
    w.failures = 0;
    w.lastError = "";
    if (!w.synced) {
      w.synced = true;
      this.#checkSynced();
    } else if (this.#allSynced && !this.#stopped) {
      // A re-list (after 410 Gone or a restart) may have changed anything.
      this.#opts.onChange();
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

  #onError(w: Watched, err: unknown): void {
    if (this.#stopped) return;
    const e = err as { name?: string; message?: string; statusCode?: number };
    if (e?.name === "AbortError") return; // our own stop()
    const message = err instanceof Error ? err.message : String(e?.message ?? err);
    w.failures++;
    w.lastError = message;
    const initial = this.#opts.backoff?.initialMs ?? 1000;
    const max = this.#opts.backoff?.maxMs ?? 30_000;
    const delay = Math.min(max, initial * 2 ** Math.min(w.failures - 1, 20));
    log.warn("watch failed; restarting", {
      resource: w.name,
      error: message,
      status: e?.statusCode ?? (err instanceof KubeError ? err.status : undefined),
      attempt: w.failures,
      retryInMs: delay,
    });
    this.#opts.onRestart?.(w.name, message);
    clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      if (this.#stopped || !w.informer) return;
      w.informer.start().catch((e2: unknown) => this.#onError(w, e2));
    }, delay);
  }
}
