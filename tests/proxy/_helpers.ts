/**
 * Test helpers for the data plane: snapshot builders with defaults, free
 * ports, backends on 127.0.0.1 and a raw TCP client for byte-level cases.
 */
import type {
  Cluster,
  Endpoint,
  Listener,
  ListenerLimits,
  Route,
  RouteMatch,
  SecretEntry,
  Snapshot,
  WeightedCluster,
} from "../../src/snapshot/types.ts";
import { DataPlane } from "../../src/proxy/mod.ts";
import { setLogSink } from "../../src/observe/log.ts";
import { flushAccessLog } from "../../src/proxy/core/access_log.ts";

/** Captured log lines (JSON-parsed) from every logger. */
export const logLines: Record<string, unknown>[] = [];
setLogSink((text) => {
  // Access lines arrive in batches: one sink call may carry several lines.
  for (const line of text.split("\n")) {
    try {
      logLines.push(JSON.parse(line));
    } catch {
      // ignore
    }
  }
  if (logLines.length > 5000) logLines.splice(0, 2500);
});

import { freePort } from "../_support/agent.ts";
export { freePort };

export function listener(name: string, port: number, extra: Partial<Listener> = {}): Listener {
  return {
    name,
    gateway: "default/gw",
    address: "127.0.0.1",
    port,
    protocol: "HTTP",
    hostnames: [],
    ...extra,
  };
}

export function limits(l: Partial<ListenerLimits>): ListenerLimits {
  return {
    maxHeaderBytes: 0,
    maxHeaders: 0,
    maxBodyBytes: 0,
    headerTimeoutMs: 0,
    idleTimeoutMs: 0,
    maxConcurrentStreams: 0,
    ...l,
  };
}

export function prefix(value: string, extra: Partial<RouteMatch> = {}): RouteMatch {
  return {
    path: { type: "PathPrefix", value },
    headers: [],
    queryParams: [],
    method: "",
    ...extra,
  };
}

export function route(
  name: string,
  backends: (string | WeightedCluster)[],
  extra: Partial<Route> = {},
): Route {
  return {
    name,
    listeners: [],
    hostnames: [],
    matches: [prefix("/")],
    filters: [],
    backends: backends.map((b) =>
      typeof b === "string" ? { cluster: b, weight: 1, filters: [] } : b
    ),
    l4Protocol: "",
    maxBodyBytes: 0,
    policies: [],
    orderKey: name,
    ...extra,
  };
}

export function endpoint(port: number, address = "127.0.0.1"): Endpoint {
  return { address, port, weight: 1, ready: true, node: "", zone: "" };
}

export function cluster(name: string, ports: number[], extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    protocol: "HTTP",
    lb: { policy: "RoundRobin" },
    endpoints: ports.map((p) => endpoint(p)),
    connectTimeoutMs: 0,
    requestTimeoutMs: 0,
    idleTimeoutMs: 0,
    hostRewrite: "",
    maxConnectionsPerEndpoint: 0,
    ...extra,
  };
}

let versionCounter = 0;
export function snapshot(parts: {
  listeners: Listener[];
  routes: Route[];
  clusters: Cluster[];
  secrets?: SecretEntry[];
  version?: string;
}): Snapshot {
  return {
    version: parts.version ?? `v${++versionCounter}`,
    listeners: parts.listeners,
    routes: parts.routes,
    clusters: parts.clusters,
    vips: [],
    policies: [],
    secrets: parts.secrets ?? [],
  };
}

export interface Backend {
  port: number;
  close(): Promise<void>;
}

/** A Deno.serve backend on an ephemeral loopback port. */
export function backend(handler: (req: Request) => Response | Promise<Response>): Backend {
  const ac = new AbortController();
  const srv = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    handler,
  );
  return {
    port: srv.addr.port,
    close: async () => {
      ac.abort();
      await srv.finished;
    },
  };
}

/** Echoes request facts as JSON. */
export function echoBackend(name = "a"): Backend {
  return backend(async (req) => {
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : new Uint8Array();
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => (headers[k] = v));
    return Response.json({
      name,
      method: req.method,
      url: req.url,
      headers,
      bodyLength: body.length,
    });
  });
}

/** Starts a data plane with one HTTP listener on a free port, routing "/" to `clusters[0]`. */
export async function simpleProxy(
  clusters: Cluster[],
  routes?: Route[],
  listenerExtra: Partial<Listener> = {},
): Promise<{ dp: DataPlane; port: number; url: string }> {
  const port = freePort();
  const dp = new DataPlane({});
  await dp.apply(snapshot({
    listeners: [listener("l1", port, listenerExtra)],
    routes: routes ?? [route("r1", [clusters[0].name])],
    clusters,
  }));
  return { dp, port, url: `http://127.0.0.1:${port}` };
}

/** Sends raw bytes and returns everything received until the peer closes (or timeout). */
export async function rawExchange(
  port: number,
  data: string | Uint8Array,
  timeoutMs = 3000,
): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await c.write(bytes);
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => {
    try {
      c.close();
    } catch {
      // closed
    }
  }, timeoutMs);
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      chunks.push(buf.slice(0, n));
    }
  } catch {
    // closed by timer
  }
  clearTimeout(timer);
  try {
    c.close();
  } catch {
    // closed
  }
  let total = 0;
  for (const ch of chunks) total += ch.length;
  const all = new Uint8Array(total);
  let o = 0;
  for (const ch of chunks) {
    all.set(ch, o);
    o += ch.length;
  }
  return new TextDecoder().decode(all);
}

export function accessLines(): Record<string, unknown>[] {
  flushAccessLog();
  return logLines.filter((l) => l.component === "access");
}

/** A backend that holds every request until `open()` (and echoes WebSocket messages). */
export interface GatedBackend extends Backend {
  /** Requests that reached it (WebSockets not counted). */
  readonly arrived: number;
  /** Answers every request held so far with 200 "done". */
  open(): void;
}

export function gatedBackend(): GatedBackend {
  let arrived = 0;
  let waiting: (() => void)[] = [];
  const b = backend((req) => {
    if (req.headers.get("upgrade") === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    }
    arrived++;
    return new Promise<Response>((r) => waiting.push(() => r(new Response("done"))));
  });
  return {
    ...b,
    get arrived() {
      return arrived;
    },
    open() {
      const w = waiting;
      waiting = [];
      for (const f of w) f();
    },
  };
}

/** A cluster's circuitBreaker with every limit off except those given. */
export function cb(
  over: Partial<NonNullable<Cluster["circuitBreaker"]>>,
): NonNullable<Cluster["circuitBreaker"]> {
  return { maxConnections: 0, maxPendingRequests: 0, maxRequests: 0, maxRetries: 0, ...over };
}
