/**
 * The admin HTTP server every long-running role exposes (agent default
 * 127.0.0.1:9901): /healthz, /readyz, /metrics and JSON debug endpoints.
 * Low traffic, so plain Deno.serve is right here.
 */
import type { Registry } from "prom-client";
import { logger } from "./log.ts";

const log = logger("admin");

export interface AdminOptions {
  /** "host:port", "[v6]:port" or ":port" (all interfaces). */
  readonly address: string;
  readonly registry: Registry;
  /** Ready means "has applied a configuration"; /readyz answers 503 with the reason until then. */
  readonly ready: () => { ready: boolean; reason: string };
  /** Extra JSON endpoints, e.g. "/debug/snapshot". A handler returning undefined answers 404. */
  readonly debug?: Record<string, () => unknown>;
}

export interface AdminServer {
  readonly port: number;
  readonly hostname: string;
  close(): Promise<void>;
}

export function parseAddress(address: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  if (!m) {
    throw new Error(
      `invalid address "${address}": expected host:port, [ipv6]:port or :port (e.g. 127.0.0.1:9901)`,
    );
  }
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid address "${address}": port ${port} is above 65535`);
  const hostname = m[1] ?? (m[2] === "" ? "0.0.0.0" : m[2]);
  return { hostname, port };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}

export function startAdminServer(opts: AdminOptions): Promise<AdminServer> {
  const { hostname, port } = parseAddress(opts.address);
  const handler = async (req: Request): Promise<Response> => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("admin endpoints answer GET only\n", { status: 405 });
    }
    switch (path) {
      case "/healthz":
        return new Response("ok\n");
      case "/readyz": {
        const r = opts.ready();
        return new Response(r.ready ? "ready\n" : `not ready: ${r.reason}\n`, {
          status: r.ready ? 200 : 503,
        });
      }
      case "/metrics":
        return new Response(await opts.registry.metrics(), {
          headers: { "content-type": opts.registry.contentType },
        });
    }
    const debug = opts.debug?.[path];
    if (debug) {
      const body = debug();
      return body === undefined ? json({ error: `nothing at ${path} yet` }, 404) : json(body);
    }
    const known = ["/healthz", "/readyz", "/metrics", ...Object.keys(opts.debug ?? {})];
    return new Response(`no admin endpoint at ${path}; try one of: ${known.join(", ")}\n`, {
      status: 404,
    });
  };
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname,
        port,
        onListen: (addr) => {
          log.info("admin server listening", { address: `${addr.hostname}:${addr.port}` });
          resolve({
            port: addr.port,
            hostname: addr.hostname,
            close: () => server.shutdown(),
          });
        },
        onError: (err) => {
          log.error("admin request failed", { error: String(err) });
          return new Response("internal error\n", { status: 500 });
        },
      }, handler);
    } catch (err) {
      reject(
        new Error(
          `cannot start the admin server on ${opts.address}: ${(err as Error).message}` +
            " (choose another with --admin-address)",
        ),
      );
    }
  });
}
