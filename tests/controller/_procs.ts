/**
 * Helpers for cluster-backed controller tests: run `novaedge controller` and
 * `novaedge agent` as real host processes, free ports, HTTP probes through the
 * agent, and status polling.
 */
import type { Cluster } from "../cluster/mod.ts";
import { writeKubeconfig } from "../_support/kubeconfig.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

import { freePort } from "../_support/agent.ts";
export { freePort };

/** A novaedge process; output goes to a log file (printed when a test fails). */
export class NovaProc {
  readonly name: string;
  readonly logPath: string;
  #child: Deno.ChildProcess;
  #status: Promise<Deno.CommandStatus>;

  constructor(name: string, args: string[], env: Record<string, string> = {}, logDir: string) {
    this.name = name;
    this.logPath = `${logDir}/${name}.log`;
    const log = Deno.openSync(this.logPath, { write: true, create: true, append: true });
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", MAIN, ...args],
      cwd: ROOT,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const pump = async (r: ReadableStream<Uint8Array>) => {
      for await (const chunk of r) log.writeSync(chunk);
    };
    const done = Promise.all([pump(this.#child.stdout), pump(this.#child.stderr)]);
    this.#status = this.#child.status.then(async (s) => {
      await done.catch(() => {});
      log.close();
      return s;
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  get exited(): Promise<Deno.CommandStatus> {
    return this.#status;
  }

  /** Send `signal` and wait for the exit (SIGKILL after 15 s). */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
    const t = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // gone
      }
    }, 15_000);
    try {
      return await this.#status;
    } finally {
      clearTimeout(t);
    }
  }

  log(): string {
    try {
      return Deno.readTextFileSync(this.logPath);
    } catch {
      return "";
    }
  }
}

/** GET through the agent with a Host header (fetch drops Host unless allowHost). */
const hostClient = Deno.createHttpClient({ allowHost: true });
export async function getVia(
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; body: string }> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 3000);
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: { host },
      client: hostClient,
      signal: ac.signal,
    });
    return { status: r.status, body: await r.text() };
  } finally {
    clearTimeout(t);
  }
}

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface Obj {
  metadata: { generation?: number; resourceVersion?: string; name: string };
  status?: { observedGeneration?: number; conditions?: Cond[] };
}

export async function getObj(c: Cluster, kind: string, name: string): Promise<Obj> {
  const r = await c.kubectl(["get", kind, name, "-o", "json"]);
  return JSON.parse(r.stdout) as Obj;
}

/** Poll (bounded) until fn returns a truthy value. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null>,
  ms = 60_000,
  every = 250,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ""}`);
}

/**
 * GatewayClass `className` (served by `controllerName`) and Gateway `ns/gw`
 * with one HTTP listener named "http" on `port`.
 */
export function gatewayFor(
  ns: string,
  className: string,
  controllerName: string,
  port: number,
): string {
  return `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ${className}}
spec: {controllerName: ${controllerName}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ${ns}}
spec:
  gatewayClassName: ${className}
  listeners: [{name: http, protocol: HTTP, port: ${port}}]
`;
}

/**
 * Two echo-basic pods (Deployment `echo`, label app=echo, port 3000) and a
 * Service per name in `services` selecting them on port 80.
 */
export function echoBackend(ns: string, services: readonly string[]): string {
  const svc = (name: string) => `
---
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 3000}]`;
  return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers:
        - name: echo
          image: registry.k8s.io/gateway-api/echo-basic:v1.6.1
          env:
            - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
          ports: [{containerPort: 3000}]
          readinessProbe: {httpGet: {path: /, port: 3000}, periodSeconds: 1}${
    services.map(svc).join("")
  }
`;
}

/** The samples, moved into `ns`, with the gateway on `port`, backed by echo-basic pods. */
export function samplesFor(ns: string, port: number): string {
  const dir = new URL("../../manifests/samples/", import.meta.url).pathname;
  const parts = ["gateway.yaml", "routes.yaml", "backends.yaml", "policy.yaml"].map((f) =>
    Deno.readTextFileSync(dir + f)
  );
  const samples = parts.join("\n---\n")
    .replaceAll("namespace: default", `namespace: ${ns}`)
    .replace(/port: 8080\b/, `port: ${port}`);
  return samples + "\n---\n" + echoBackend(ns, ["app", "web"]);
}

/**
 * A TCP relay in front of the API server, so a test can break every open
 * connection (a watch that breaks) or refuse connections for a while (an API
 * server that restarts) without touching the shared cluster.
 */
export class FlakyRelay {
  readonly port: number;
  #target: { hostname: string; port: number };
  #listener: Deno.Listener | undefined;
  #conns = new Set<Deno.Conn>();

  constructor(target: string) {
    const u = new URL(target);
    this.#target = { hostname: u.hostname, port: Number(u.port || 443) };
    this.port = freePort();
    this.resume();
  }

  /** Accept connections again (on the same port). */
  resume(): void {
    if (this.#listener) return;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    const l = this.#listener;
    (async () => {
      for await (const c of l) void this.#relay(c);
    })().catch(() => {});
  }

  /** Close every open connection (watches break, the client reconnects). */
  breakAll(): void {
    for (const c of this.#conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    this.#conns.clear();
  }

  /** Stop listening and break everything: the "API server" is down. */
  pause(): void {
    this.#listener?.close();
    this.#listener = undefined;
    this.breakAll();
  }

  close(): void {
    this.pause();
  }

  async #relay(c: Deno.Conn): Promise<void> {
    let up: Deno.Conn;
    try {
      up = await Deno.connect(this.#target);
    } catch {
      c.close();
      return;
    }
    this.#conns.add(c);
    this.#conns.add(up);
    const pipe = async (a: Deno.Conn, b: Deno.Conn) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await a.read(buf);
          if (n === null) break;
          let off = 0;
          while (off < n) off += await b.write(buf.subarray(off, n));
        }
      } catch {
        // closed
      }
      for (const x of [a, b]) {
        try {
          x.close();
        } catch {
          // closed
        }
        this.#conns.delete(x);
      }
    };
    void pipe(c, up);
    void pipe(up, c);
  }
}

/**
 * What an agent needs to reach the controller in these tests: a token of the
 * `novaedge-agent` ServiceAccount (audience novaedge-controller) and the
 * controller's CA from its ConfigMap, written into `dir`.
 */
export async function agentCredentials(
  c: Cluster,
  dir: string,
  duration = "1h",
): Promise<{ caFile: string; tokenFile: string }> {
  await c.kubectl(["create", "serviceaccount", "novaedge-agent"], { check: false });
  const token = (await c.kubectl([
    "create",
    "token",
    "novaedge-agent",
    "--audience=novaedge-controller",
    `--duration=${duration}`,
  ])).stdout.trim();
  const ca = await until("the controller's CA ConfigMap", async () => {
    const r = await c.kubectl(["get", "configmap", "novaedge-controller-ca", "-o", "json"], {
      check: false,
    });
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { data: Record<string, string> }).data["ca.crt"];
  });
  await Deno.writeTextFile(`${dir}/token`, token);
  await Deno.writeTextFile(`${dir}/ca.crt`, ca);
  return { caFile: `${dir}/ca.crt`, tokenFile: `${dir}/token` };
}

/** manifests/ with the novaedge-system namespace moved to `ns` and cluster-scoped names made unique. */
export function manifestsFor(ns: string, files: string[]): string {
  const root = new URL("../../manifests/", import.meta.url).pathname;
  return files.map((f) => Deno.readTextFileSync(root + f)).join("\n---\n")
    .replaceAll("namespace: novaedge-system", `namespace: ${ns}`)
    .replaceAll("novaedge-controller.novaedge-system.svc", `novaedge-controller.${ns}.svc`)
    .replace(
      /kind: ClusterRole\nmetadata:\n {2}name: novaedge-controller/,
      `kind: ClusterRole\nmetadata:\n  name: novaedge-controller-${ns}`,
    )
    .replace(
      /kind: ClusterRoleBinding\nmetadata:\n {2}name: novaedge-controller/,
      `kind: ClusterRoleBinding\nmetadata:\n  name: novaedge-controller-${ns}`,
    )
    .replace(
      /kind: ClusterRole\n {2}name: novaedge-controller/,
      `kind: ClusterRole\n  name: novaedge-controller-${ns}`,
    );
}

/**
 * A kubeconfig (written into `dir`) authenticating as the `novaedge-controller`
 * ServiceAccount of the test namespace: the controller then runs with exactly
 * the permissions manifests/rbac grants.
 */
export async function controllerKubeconfig(c: Cluster, dir: string): Promise<string> {
  const token = (await c.kubectl(["create", "token", "novaedge-controller", "--duration=1h"]))
    .stdout.trim();
  return await writeKubeconfig(`${dir}/controller.kubeconfig`, {
    server: c.server,
    token,
    caPem: c.caPem,
  });
}
