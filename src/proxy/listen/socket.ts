/**
 * One listening socket (address:port) and the config it serves. The socket
 * outlives snapshots: apply swaps `current` (and the certificate store, and
 * the L4 config), and connections read `current` at each request, so
 * in-flight work finishes on the config it started with.
 *
 * Kinds: "http" (raw HTTP/1.1, h2c), "https" (node:tls listening), "tcp"
 * (L4 splice) and "tls" (a TLS port with TLS listeners: raw accept, SNI read
 * from the ClientHello, then passthrough / terminate-to-TCP / HTTPS engine).
 */
import * as tls from "node:tls";
import type * as net from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../../observe/log.ts";
import type { SocketConfig } from "../core/proxy.ts";
import { serveH1 } from "../http1/server.ts";
import { H2Engine } from "../http2/server.ts";
import { fromNodeSocket, toNodeDuplex } from "../io/node_transport.ts";
import { ConnSet } from "./conns.ts";
import { ListenerRouter } from "../router/listeners.ts";
import type { CertStore } from "./tls_store.ts";
import type { L4Config } from "../l4/config.ts";
import { serveTcp, serveTls } from "../l4/tcp.ts";

export type SocketKind = "http" | "https" | "tcp" | "tls";

export class ListenerSocket {
  readonly conns: ConnSet;
  private listener: Deno.Listener | null = null;
  private tlsServer: tls.Server | null = null;
  /** On a "tls" port: the (not listening) server HTTPS names are handed to. */
  private handoffServer: tls.Server | null = null;
  /** HTTP/2 engines by the listener a TLS connection's server name selected ("" = none). */
  private h2 = new Map<string, H2Engine>();
  private h2Limits = "";
  /** `current` as served to TLS connections of one listener (misdirected-request check). */
  private sniConfigs = new Map<string, SocketConfig>();
  private sniBase: SocketConfig | null = null;
  /** Port actually bound (differs from the requested one when that was 0). */
  boundPort = 0;

  constructor(
    readonly key: string,
    readonly address: string,
    readonly port: number,
    readonly kind: SocketKind,
    public current: SocketConfig,
    private certStore: CertStore | null,
    private alpn: readonly string[],
    private log: Logger,
    private reusePort: boolean,
    /** L4 config ("tcp" and "tls" kinds), swapped like `current`. */
    public l4: L4Config | null = null,
  ) {
    this.conns = new ConnSet(current.label);
  }

  /** True when the port speaks TLS (HTTPS or TLS listeners). */
  get isTls(): boolean {
    return this.kind === "https" || this.kind === "tls";
  }

  get certs(): CertStore | null {
    return this.certStore;
  }

  /** Swaps certificates and client validation; the server reads the flags per handshake. */
  set certs(c: CertStore | null) {
    this.certStore = c;
    for (const srv of [this.tlsServer, this.handoffServer]) if (srv && c) applyClientAuth(srv, c);
  }

  /** The HTTP/2 engine for connections whose server name selected `listener` ("" = none). */
  private engine(listener = ""): H2Engine {
    const lim = JSON.stringify(this.current.limits);
    if (lim !== this.h2Limits) {
      this.h2.clear();
      this.h2Limits = lim;
    }
    let e = this.h2.get(listener);
    if (!e) {
      e = new H2Engine(
        listener === "" ? () => this.current : () => this.configFor(listener),
        this.isTls ? "https" : "http",
        this.conns,
        this.current.limits,
      );
      this.h2.set(listener, e);
    }
    return e;
  }

  /** The listener a TLS server name selects on this port ("" = none or only one listener). */
  private sniListener(sni: string | undefined): string {
    const r = this.current.router;
    if (sni === undefined || !(r instanceof ListenerRouter) || !r.isolating) return "";
    return r.listenerFor(sni.toLowerCase()) ?? "";
  }

  /**
   * `current` for requests on a TLS connection negotiated for `listener`: a
   * host selecting another listener is misdirected (Gateway API
   * GatewayHTTPSListenerDetectMisdirectedRequests, also catching HTTP/2
   * connection coalescing). Built once per snapshot and listener.
   */
  private configFor(listener: string): SocketConfig {
    const base = this.current;
    if (this.sniBase !== base) {
      this.sniConfigs.clear();
      this.sniBase = base;
    }
    let c = this.sniConfigs.get(listener);
    if (!c) {
      const r = base.router;
      c = r instanceof ListenerRouter
        ? { ...base, misdirected: (host: string) => r.misdirectedFrom(listener, host) }
        : base;
      this.sniConfigs.set(listener, c);
    }
    return c;
  }

  /** Binds and starts accepting. Throws (with the address) when the port cannot be bound. */
  async start(): Promise<void> {
    const host = this.address === "" ? "0.0.0.0" : this.address;
    if (this.kind !== "https") {
      try {
        this.listener = Deno.listen({
          hostname: host,
          port: this.port,
          ...(this.reusePort ? { reusePort: true } : {}),
        } as Deno.TcpListenOptions);
      } catch (e) {
        throw new Error(`cannot listen on ${host}:${this.port}: ${(e as Error).message}`);
      }
      this.boundPort = (this.listener.addr as Deno.NetAddr).port;
      this.acceptLoop(this.listener);
      return;
    }
    const srv = this.createTlsServer();
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) =>
        reject(new Error(`cannot listen on ${host}:${this.port}: ${e.message}`));
      srv.once("error", onErr);
      // Workers share the port: SO_REUSEPORT, as for plain listeners.
      const opts = { port: this.port, host, ...(this.reusePort ? { reusePort: true } : {}) };
      srv.listen(opts as net.ListenOptions, () => {
        srv.off("error", onErr);
        resolve();
      });
    });
    const a = srv.address();
    this.boundPort = typeof a === "object" && a ? a.port : this.port;
    this.tlsServer = srv;
  }

  /** The node:tls server of the HTTPS engine (SNI picks the certificate from the current store). */
  private createTlsServer(): tls.Server {
    const certs = this.certs!;
    const srv = tls.createServer({
      cert: certs.defaultPem.cert,
      key: certs.defaultPem.key,
      minVersion: certs.minVersion,
      SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
        try {
          cb(null, (this.certs ?? certs).select(name));
        } catch (e) {
          cb(e as Error);
        }
      },
      ALPNProtocols: this.alpn.length ? [...this.alpn] : ["h2", "http/1.1"],
    });
    applyClientAuth(srv, certs);
    srv.on("secureConnection", (sock: tls.TLSSocket) => this.onTls(sock));
    srv.on(
      "tlsClientError",
      (e: Error) =>
        this.log.debug("TLS handshake failed", { listener: this.key, error: e.message }),
    );
    srv.on(
      "error",
      (e: Error) => this.log.warn("TLS listener error", { listener: this.key, error: e.message }),
    );
    return srv;
  }

  /** A "tls" port hands names of its HTTPS listeners to the HTTPS engine, ClientHello included. */
  private httpsHandoff(conn: Deno.TcpConn, pre: Uint8Array): void {
    if (this.certs === null) {
      conn.close();
      return;
    }
    this.handoffServer ??= this.createTlsServer();
    this.handoffServer.emit("connection", toNodeDuplex(conn, pre));
  }

  private onTls(sock: tls.TLSSocket): void {
    const ip = sock.remoteAddress ?? "";
    if (this.conns.draining) {
      sock.destroy();
      return;
    }
    // Listeners sharing the socket may differ on mTLS: the handshake let every
    // client through, so AllowValidOnly is enforced here for this SNI name.
    const sni = (sock as tls.TLSSocket & { servername?: string | false }).servername || undefined;
    const v = sock.authorized ? undefined : this.certs?.clientValidation(sni);
    if (v?.mode === "AllowValidOnly") {
      this.log.debug("client certificate refused", {
        listener: this.key,
        sni,
        error: String(sock.authorizationError ?? "no client certificate"),
      });
      sock.destroy();
      return;
    }
    const listener = this.sniListener(sni);
    if (sock.alpnProtocol === "h2") {
      sock.setNoDelay(true);
      this.engine(listener).serveNodeSocket(sock as unknown as Duplex, ip);
      return;
    }
    serveH1(fromNodeSocket(sock), {
      config: listener === "" ? () => this.current : () => this.configFor(listener),
      scheme: "https",
      clientIp: ip,
      conns: this.conns,
    });
  }

  private async acceptLoop(l: Deno.Listener): Promise<void> {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await l.accept();
      } catch {
        return; // listener closed
      }
      if (this.kind === "tcp") {
        if (this.conns.draining) c.close();
        else void serveTcp(c as Deno.TcpConn, this.l4!, this.conns);
        continue;
      }
      if (this.kind === "tls") {
        if (this.conns.draining) c.close();
        else {
          const handoff = this.certs ? this.httpsHandoff.bind(this) : null;
          void serveTls(c as Deno.TcpConn, this.l4!, this.conns, handoff);
        }
        continue;
      }
      const ip = (c.remoteAddr as Deno.NetAddr).hostname;
      serveH1(c, {
        config: () => this.current,
        scheme: "http",
        clientIp: ip,
        conns: this.conns,
        h2: (t, pre) => {
          // HTTP/2 writes several frames per response: without TCP_NODELAY
          // (Deno does not set it on accepted sockets) Nagle holds the later
          // ones for the peer's delayed ACK (~40 ms per gRPC call).
          (c as Deno.TcpConn).setNoDelay(true);
          this.engine().serveTransport(t, pre, ip);
        },
      });
    }
  }

  /** Stops accepting new connections (existing ones continue). */
  async stopAccepting(): Promise<void> {
    if (this.listener) {
      try {
        this.listener.close();
      } catch {
        // already closed
      }
      this.listener = null;
      // The fd is released only once the pending accept op is dropped (next
      // macrotask): re-binding the port in the same tick fails with EADDRINUSE.
      await new Promise((r) => setTimeout(r, 0));
    }
    if (this.tlsServer) {
      const s = this.tlsServer;
      this.tlsServer = null;
      // close() stops listening now; its callback waits for every connection
      // to end (keep-alives: up to the idle timeout), which a re-bind of the
      // port must not wait for. One macrotask lets the listening fd go.
      s.close();
      await new Promise((r) => setTimeout(r, 0));
    }
  }

  /** Stop accepting, close idle keep-alives, let busy work finish up to `ms`. */
  async drain(ms: number): Promise<void> {
    const stopping = this.stopAccepting();
    this.conns.drain();
    for (const e of this.h2.values()) e.closeSessions();
    await this.conns.wait(ms);
    await Promise.race([stopping, new Promise((r) => setTimeout(r, 100))]);
  }
}

/** node:tls reads these per handshake, so a new snapshot changes them live. */
function applyClientAuth(srv: tls.Server, c: CertStore): void {
  const flags = srv as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
  flags.requestCert = c.requestCert;
  flags.rejectUnauthorized = c.rejectUnauthorized;
}
