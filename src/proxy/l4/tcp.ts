/**
 * Connection handlers of L4 ports: plain TCP (the listener's route), and TLS
 * ports dispatched by the ClientHello's server name before any termination:
 * passthrough splices the encrypted bytes, terminate runs node:tls with the
 * listener's certificates then splices the plain bytes, and names of HTTPS
 * listeners on the same port go to the HTTP engine.
 */
import * as tls from "node:tls";
import type { ConnHandle, ConnSet } from "../listen/conns.ts";
import { fromNodeSocket, toNodeDuplex } from "../io/node_transport.ts";
import { safeClose, type Transport } from "../io/transport.ts";
import type { ClientValidation } from "../../snapshot/types.ts";
import type { CertStore } from "../listen/tls_store.ts";
import type { L4Config, L4Route } from "./config.ts";
import { dialRoute } from "./connect.ts";
import { readClientHello } from "./client_hello.ts";
import { ConnRecord } from "./observe.ts";
import { splice } from "./splice.ts";

/** Hands a TLS connection (with the bytes already read) to the HTTPS engine. */
export type HttpsHandoff = (conn: Deno.TcpConn, pre: Uint8Array) => void;

/** Tracks one L4 connection in the socket's ConnSet: always busy, so a drain waits for it. */
function track(conns: ConnSet, onClose: () => void): ConnHandle {
  const h: ConnHandle = { busy: true, close: onClose };
  conns.add(h);
  return h;
}

function peerIp(conn: Deno.TcpConn): string {
  conn.setNoDelay(true);
  return (conn.remoteAddr as Deno.NetAddr).hostname;
}

/** Plain TCP listener: every connection goes to the listener's route. */
export async function serveTcp(conn: Deno.TcpConn, cfg: L4Config, conns: ConnSet): Promise<void> {
  const ip = peerIp(conn);
  const rec = new ConnRecord("tcp", cfg.label, ip, cfg.accessLog);
  const ac = new AbortController();
  const h = track(conns, () => {
    ac.abort();
    safeClose(conn);
  });
  try {
    if (cfg.route === null) {
      rec.refuse("no_route", `no TCP route is attached to listener ${cfg.label}`);
      safeClose(conn);
      return;
    }
    await forward(conn, cfg.route, cfg, rec, ip, null, ac.signal);
  } finally {
    conns.delete(h);
    rec.finish();
  }
}

/** Dials the route's backend and splices `client` with it; failures close the client. */
async function forward(
  client: Transport,
  route: L4Route,
  cfg: L4Config,
  rec: ConnRecord,
  ip: string,
  first: Uint8Array | null,
  signal: AbortSignal,
): Promise<void> {
  rec.route = route.name;
  const d = await dialRoute(route, cfg.clusters, ip);
  rec.tries = d.tries;
  if (!d.ok) {
    rec.cluster = d.cluster;
    rec.upstream = d.upstream;
    rec.refuse(d.tries === 0 ? "no_endpoint" : "connect_failed", d.reason);
    safeClose(client);
    return;
  }
  const { up } = d;
  rec.cluster = up.cluster.cluster.name;
  rec.upstream = up.key;
  if (signal.aborted) {
    rec.reason = "listener drained";
    safeClose(client);
    safeClose(up.conn);
    return;
  }
  up.cluster.balancer.onStart(up.key);
  try {
    const r = await splice(client, up.conn, {
      idleMs: cfg.idleTimeoutMs,
      first: first ?? undefined,
      signal,
    });
    rec.bytesIn = r.bytesIn;
    rec.bytesOut = r.bytesOut;
    if (r.reason) rec.reason = r.reason === "aborted" ? "listener drained" : r.reason;
  } finally {
    up.cluster.balancer.onEnd(up.key);
  }
}

/**
 * TLS port: read the ClientHello, look its server name up and serve it.
 * `https` is null when no HTTPS listener shares the port.
 */
export async function serveTls(
  conn: Deno.TcpConn,
  cfg: L4Config,
  conns: ConnSet,
  https: HttpsHandoff | null,
): Promise<void> {
  const ip = peerIp(conn);
  const hello = await readClientHello(conn, cfg.helloTimeoutMs);
  const r = hello.result;
  const target = r.state === "ok" ? cfg.sni?.lookup(r.sni) ?? null : null;
  if (target?.kind === "https" && https) {
    https(conn, hello.bytes);
    return;
  }
  const rec = new ConnRecord("tls", cfg.label, ip, cfg.accessLog);
  const ac = new AbortController();
  const h = track(conns, () => {
    ac.abort();
    safeClose(conn);
  });
  try {
    if (r.state !== "ok") {
      rec.refuse("bad_client_hello", r.state === "bad" ? r.reason : "incomplete ClientHello");
      safeClose(conn);
      return;
    }
    rec.sni = r.sni;
    if (target === null || target.kind === "https") {
      rec.refuse(
        "no_route",
        r.sni === ""
          ? `the client sent no server name and listener ${cfg.label} has no route for any name`
          : `no TLS route or listener of ${cfg.label} serves server name "${r.sni}"`,
      );
      // Just close (FIN), no unrecognized_name alert: Gateway API conformance
      // (TLSRouteHostnameIntersection) expects an unmatched name to see EOF/RST.
      safeClose(conn);
      return;
    }
    if (target.kind === "passthrough") {
      rec.mode = "tls-passthrough";
      await forward(conn, target.route, cfg, rec, ip, hello.bytes, ac.signal);
      return;
    }
    rec.mode = "tls-terminate";
    rec.route = target.route.name;
    const t = await (target.validation
      ? terminateValidating(conn, hello.bytes, r.sni, target.certs, target.validation, cfg)
      : terminate(conn, hello.bytes, target.certs.selectWith(r.sni, undefined), cfg));
    if ("refused" in t) {
      rec.refuse(t.refused, t.reason);
      safeClose(conn);
      return;
    }
    if (t.clientCert !== undefined) {
      rec.clientCert = t.clientCert;
    }
    await forward(t.plain, target.route, cfg, rec, ip, null, ac.signal);
  } finally {
    conns.delete(h);
    rec.finish();
  }
}

/** A finished handshake (the plain-text side), or why the connection was refused. */
type Terminated =
  | {
    readonly plain: Transport;
    /** With client validation: "valid", or why the certificate was not (fallback mode). */
    readonly clientCert?: string;
  }
  | { readonly refused: "tls_handshake" | "client_certificate"; readonly reason: string };

/** Runs the server side of the handshake (no client certificate asked for). */
function terminate(
  conn: Deno.TcpConn,
  pre: Uint8Array,
  ctx: tls.SecureContext,
  cfg: L4Config,
): Promise<Terminated> {
  const sock = new tls.TLSSocket(toNodeDuplex(conn, pre), { isServer: true, secureContext: ctx });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ refused: "tls_handshake", reason: handshakeTimeout(cfg) });
    }, cfg.helloTimeoutMs);
    sock.once("secure", () => {
      clearTimeout(timer);
      resolve({ plain: fromNodeSocket(sock) });
    });
    sock.once("error", (e: Error) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ refused: "tls_handshake", reason: `TLS handshake failed: ${e.message}` });
    });
  });
}

function handshakeTimeout(cfg: L4Config): string {
  return `TLS handshake not finished within ${cfg.helloTimeoutMs} ms`;
}

/**
 * The handshake of a listener that validates client certificates. A bare
 * server-side TLSSocket under Deno asks for a certificate but never checks
 * it against the CA (measured: a foreign certificate passes, `authorized`
 * stays false), so the connection goes through a non-listening node:tls
 * server made for it, which verifies the chain as the HTTPS engine's does.
 * AllowValidOnly refuses in the handshake itself (and again right after it,
 * should a client without a valid chain get through); AllowInsecureFallback
 * lets every client in.
 */
function terminateValidating(
  conn: Deno.TcpConn,
  pre: Uint8Array,
  sni: string,
  certs: CertStore,
  v: ClientValidation,
  cfg: L4Config,
): Promise<Terminated> {
  const strict = v.mode === "AllowValidOnly";
  const ctx = certs.selectWith(sni, v);
  const srv = tls.createServer({
    SNICallback: (_name: string, cb: (err: Error | null, c?: tls.SecureContext) => void) =>
      cb(null, ctx),
    // node:tls calls SNICallback only when the client names a server: the
    // default certificate (with the CA) must then come from the options.
    ...(sni === "" ? { cert: certs.defaultPem.cert, key: certs.defaultPem.key, ca: v.caPem } : {}),
    minVersion: certs.minVersion,
    requestCert: true,
    rejectUnauthorized: strict,
  });
  const duplex = toNodeDuplex(conn, pre);
  return new Promise((resolve) => {
    let settled = false;
    const done = (t: Terminated) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(t);
    };
    const timer = setTimeout(() => {
      duplex.destroy();
      done({ refused: "tls_handshake", reason: handshakeTimeout(cfg) });
    }, cfg.helloTimeoutMs);
    srv.once("secureConnection", (sock: tls.TLSSocket) => {
      if (sock.authorized) return done({ plain: fromNodeSocket(sock), clientCert: "valid" });
      // Without a certificate Deno still reports a chain error: say what happened.
      const peer = sock.getPeerCertificate() as object | null;
      const why = peer && Object.keys(peer).length
        ? String(sock.authorizationError ?? "unverified client certificate")
        : "no client certificate";
      if (strict) {
        sock.destroy();
        return done({
          refused: "client_certificate",
          reason: `client certificate refused: ${why}`,
        });
      }
      done({ plain: fromNodeSocket(sock), clientCert: why });
    });
    srv.once("tlsClientError", (e: Error, sock?: tls.TLSSocket) => {
      // A refused certificate shows as the socket's verify error ("socket
      // hang up" on the error itself); a missing one as the handshake error.
      const verify = sock?.authorizationError;
      if (strict && (verify || /peer sent no certificates|certificate required/i.test(e.message))) {
        return done({
          refused: "client_certificate",
          reason: `client certificate refused: ${String(verify ?? e.message)}`,
        });
      }
      done({ refused: "tls_handshake", reason: `TLS handshake failed: ${e.message}` });
    });
    srv.emit("connection", duplex);
  });
}
