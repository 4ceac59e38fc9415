/** Helpers for L4 tests: TCP backends on loopback, L4 listeners/routes, and a reader. */
import type { Cluster, Listener, Route } from "../../../src/snapshot/types.ts";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { freePort, listener, route, snapshot } from "../_helpers.ts";

export interface TcpBackend {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): void;
}

/** Serves every connection `l` accepts with `onConn` (closed afterwards). */
function serveBackend<C extends Deno.Conn>(
  l: Deno.Listener<C>,
  onConn: (c: C) => Promise<void>,
): TcpBackend {
  const b: TcpBackend = {
    port: (l.addr as Deno.NetAddr).port,
    accepted: 0,
    close: () => {
      try {
        l.close();
      } catch {
        // closed
      }
    },
  };
  (async () => {
    for (;;) {
      let c: C;
      try {
        c = await l.accept();
      } catch {
        return;
      }
      b.accepted++;
      onConn(c).catch(() => {}).finally(() => {
        try {
          c.close();
        } catch {
          // closed
        }
      });
    }
  })();
  return b;
}

/**
 * A TCP backend: `onConn` runs per connection. The default echoes every byte
 * back and half-closes when the client does.
 */
export function tcpBackend(onConn: (c: Deno.TcpConn) => Promise<void> = echo): TcpBackend {
  return serveBackend(Deno.listen({ hostname: "127.0.0.1", port: 0 }), onConn);
}

/** Echo until EOF, then half-close. */
export async function echo(c: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    let o = 0;
    while (o < n) o += await c.write(buf.subarray(o, n));
  }
  await c.closeWrite();
}

/** Writes `text` and closes (a backend that names itself). */
export function named(text: string): (c: Deno.Conn) => Promise<void> {
  return async (c) => {
    await c.write(new TextEncoder().encode(text));
    await c.closeWrite();
    // Wait for the client's EOF so the close is orderly.
    const buf = new Uint8Array(1024);
    while ((await c.read(buf)) !== null) { /* discard */ }
  };
}

/** Reads until EOF; returns the bytes. */
export async function readAll(c: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(256 * 1024);
  for (;;) {
    let n: number | null;
    try {
      n = await c.read(buf);
    } catch {
      n = null;
    }
    if (n === null) break;
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const ch of chunks) {
    out.set(ch, o);
    o += ch.length;
  }
  return out;
}

/** Connects, sends `text`, half-closes, returns the whole reply as text. */
export async function tcpRequest(port: number, text: string): Promise<string> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await c.write(new TextEncoder().encode(text));
    await c.closeWrite();
    return new TextDecoder().decode(await readAll(c));
  } finally {
    try {
      c.close();
    } catch {
      // closed
    }
  }
}

export function tcpListener(name: string, port: number, extra: Partial<Listener> = {}): Listener {
  return listener(name, port, { protocol: "TCP", ...extra });
}

/** An L4 route (no HTTP matches) attached to `listeners`. */
export function l4Route(
  name: string,
  proto: "TCP" | "TLS" | "UDP",
  backends: Parameters<typeof route>[1],
  extra: Partial<Route> = {},
): Route {
  return route(name, backends, { matches: [], l4Protocol: proto, ...extra });
}

/** A TLS backend (Deno.listenTls with one certificate) that answers "<text>" and closes. */
export function tlsBackend(certPem: string, keyPem: string, text: string): TcpBackend {
  const l = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: certPem, key: keyPem });
  return serveBackend(l, async (c) => {
    await c.handshake();
    await named(text)(c);
  });
}

/** Reads to EOF, then answers `<prefix><what it read>` and half-closes. */
export function reply(prefix: string): (c: Deno.TcpConn) => Promise<void> {
  return async (c) => {
    const got = new TextDecoder().decode(await readAll(c));
    await c.write(new TextEncoder().encode(`${prefix}${got}`));
    await c.closeWrite();
  };
}

/** A data plane with one TCP listener "tcp1" on a free port, routing to `clusters[0]`. */
export async function tcpProxy(
  clusters: Cluster[],
  routes?: Route[],
): Promise<{ dp: DataPlane; port: number }> {
  const port = freePort();
  const dp = new DataPlane({});
  await dp.apply(snapshot({
    listeners: [tcpListener("tcp1", port)],
    routes: routes ?? [l4Route("r", "TCP", [clusters[0].name])],
    clusters,
  }));
  return { dp, port };
}

export interface TlsReply {
  /** Everything the server sent before closing (null when the handshake failed). */
  text: string | null;
  /** The handshake error, if any. */
  error: string | null;
}

/**
 * TLS client (node:tls): SNI `servername`, trusting `caPem`, sends `send`
 * then half-closes, and reads to EOF.
 */
export function tlsRequest(
  port: number,
  servername: string,
  caPem: string,
  send = "",
): Promise<TlsReply> {
  return import("node:tls").then((tls) =>
    new Promise<TlsReply>((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername, ca: [caPem] });
      let text = "";
      let secure = false;
      s.on("secureConnect", () => {
        secure = true;
        s.end(send);
      });
      s.on("data", (d: Uint8Array) => (text += new TextDecoder().decode(d)));
      s.on(
        "end",
        () =>
          resolve(
            secure ? { text, error: null } : { text: null, error: "EOF before the handshake" },
          ),
      );
      s.on("error", (e: Error) => {
        s.destroy();
        resolve(secure ? { text, error: null } : { text: null, error: e.message });
      });
      s.on(
        "close",
        () => resolve(secure ? { text, error: null } : { text: null, error: "closed" }),
      );
    })
  );
}

/** A real ClientHello (node:tls) with server name `servername` ("" = none), captured on a raw socket. */
export async function captureClientHello(servername: string): Promise<Uint8Array> {
  const { parseClientHello } = await import("../../../src/proxy/l4/client_hello.ts");
  const tls = await import("node:tls");
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const s = tls.connect({
    host: "127.0.0.1",
    port,
    servername: servername || undefined,
    rejectUnauthorized: false,
  });
  s.on("error", () => {});
  const c = await l.accept();
  let got = new Uint8Array(0);
  const buf = new Uint8Array(65536);
  for (let i = 0; i < 100; i++) {
    const n = await c.read(buf);
    if (n === null) break;
    const next = new Uint8Array(got.length + n);
    next.set(got);
    next.set(buf.subarray(0, n), got.length);
    got = next;
    if (parseClientHello(got).state !== "more") break;
  }
  s.destroy();
  c.close();
  l.close();
  return got;
}
