/**
 * `novaedge ctl`'s access to the API server: the controller's own KubeClient
 * (same kubeconfig handling, same TLS), with every failure turned into one
 * line that says what went wrong and what to do (CtlError, exit 1).
 */
import { KubeClient, KubeError, loadKubeConfig, resourcePath } from "../source/kube_client.ts";

/** A failure the user can act on: printed as one line, exit code 1. */
export class CtlError extends Error {
  override name = "CtlError";
}

export interface ConnectOptions {
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Per-request timeout (default 10 s: an operator waits at a prompt). */
  readonly requestTimeoutMs?: number;
  /** Environment and file probes, for tests. */
  readonly env?: (name: string) => string | undefined;
  readonly fileExists?: (path: string) => boolean;
}

const SA_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Where the configuration will come from, or a CtlError when there is none
 * (client-node would otherwise quietly fall back to http://localhost:8080).
 */
export function configSource(opts: ConnectOptions): string {
  const env = opts.env ?? ((n: string) => Deno.env.get(n));
  const has = opts.fileExists ?? exists;
  if (opts.kubeconfig) {
    if (!has(opts.kubeconfig)) {
      throw new CtlError(
        `kubeconfig ${opts.kubeconfig} does not exist: pass the path of a readable kubeconfig to --kubeconfig`,
      );
    }
    return opts.kubeconfig;
  }
  const fromEnv = env("KUBECONFIG");
  if (fromEnv) return `KUBECONFIG=${fromEnv}`;
  const home = env("HOME");
  if (home && has(`${home}/.kube/config`)) return `${home}/.kube/config`;
  if (env("KUBERNETES_SERVICE_HOST") && has(SA_TOKEN)) return "in-cluster service account";
  throw new CtlError(
    "no kubeconfig found: pass --kubeconfig PATH, set KUBECONFIG, or create ~/.kube/config " +
      "(in a pod, the service account is used)",
  );
}

/** A client for the configured cluster (and --context, when given). */
export function connect(opts: ConnectOptions): KubeClient {
  const source = configSource(opts);
  let kc;
  try {
    kc = loadKubeConfig(opts.kubeconfig);
  } catch (err) {
    throw new CtlError(
      `cannot load the kubeconfig (${source}): ${
        (err as Error).message
      }; fix the file or pass another with --kubeconfig`,
    );
  }
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name).join(", ") || "none";
      throw new CtlError(
        `context "${opts.context}" is not in the kubeconfig (${source}); contexts: ${known}`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new CtlError(
      `the kubeconfig (${source}) has no current cluster: set current-context or pass --context`,
    );
  }
  return new KubeClient(kc, { requestTimeoutMs: opts.requestTimeoutMs ?? 10_000 });
}

/** The namespace of the current context (kubectl's default for -n), or "default". */
export function contextNamespace(client: KubeClient): string {
  const ctx = client.kc.getContextObject(client.kc.getCurrentContext());
  return ctx?.namespace || "default";
}

/** What the user asked for, for error messages: "gateways in namespace x". */
export interface Resource {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  /** Kind, for "not found" messages. */
  readonly kind: string;
  readonly clusterScoped?: boolean;
}

function explain(client: KubeClient, err: unknown, what: string, r: Resource): CtlError {
  if (!(err instanceof KubeError)) return new CtlError(`${what}: ${(err as Error).message}`);
  const api = r.group ? `${r.group}/${r.version}` : r.version;
  switch (err.status) {
    case 0:
      return new CtlError(
        `cannot reach the Kubernetes API server at ${client.server} (${
          err.message.replace(/^\w+ \S+: /, "")
        }): check that the cluster is up and that --kubeconfig / --context point at it`,
      );
    case 401:
      return new CtlError(
        `the API server at ${client.server} rejected the credentials (401) while reading ${what}: refresh the kubeconfig's token or certificate`,
      );
    case 403:
      return new CtlError(
        `not allowed to read ${what} (403: ${err.message.replace(/^.*?: 403 /, "")}): ` +
          `grant list/get on ${r.plural}.${r.group || "core"} to this user`,
      );
    case 404:
      return new CtlError(
        `the API server does not serve ${api} ${r.plural} (404): install the CRDs that define ${r.kind}`,
      );
    default:
      return new CtlError(`reading ${what} failed: ${err.message}`);
  }
}

/** Every object of a resource in `namespace` (all namespaces when undefined). */
export async function listAll(
  client: KubeClient,
  r: Resource,
  namespace: string | undefined,
  labelSelector?: string,
): Promise<Record<string, unknown>[]> {
  const what = r.clusterScoped
    ? r.plural
    : `${r.plural} ${namespace ? `in namespace ${namespace}` : "in all namespaces"}`;
  try {
    const q: Record<string, string> = labelSelector ? { labelSelector } : {};
    const l = await client.list(resourcePath(r.group, r.version, r.plural, namespace), q);
    return l.items;
  } catch (err) {
    throw explain(client, err, what, r);
  }
}

/** Like listAll, but a resource the cluster does not serve (404) is simply empty. */
export async function listIfServed(
  client: KubeClient,
  r: Resource,
  namespace: string | undefined,
  labelSelector?: string,
): Promise<Record<string, unknown>[]> {
  try {
    return await listAll(client, r, namespace, labelSelector);
  } catch (err) {
    if (err instanceof CtlError && err.message.includes("(404)")) return [];
    throw err;
  }
}

/** One object; a CtlError naming it (and how to list them) when it does not exist. */
export async function getOne(
  client: KubeClient,
  r: Resource,
  namespace: string,
  name: string,
  listHint: string,
): Promise<Record<string, unknown>> {
  try {
    return await client.get(resourcePath(r.group, r.version, r.plural, namespace, name)) as Record<
      string,
      unknown
    >;
  } catch (err) {
    if (err instanceof KubeError && err.status === 404 && err.reason === "NotFound") {
      throw new CtlError(
        `${r.kind} ${name} not found in namespace ${namespace}: list them with \`${listHint}\``,
      );
    }
    throw explain(client, err, `${r.kind} ${namespace}/${name}`, r);
  }
}
