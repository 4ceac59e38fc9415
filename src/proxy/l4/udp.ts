/**
 * UDP listener (Deno.listenDatagram, --unstable-net). Each client address
 * gets a session with its own upstream socket and endpoint (picked by the
 * balancer when the session starts), so replies go back to that client.
 * Sessions end after `idleTimeoutMs` without a datagram either way; their
 * number is bounded. A session keeps the config it started with.
 *
 * With worker threads only the first worker serves UDP (see local.ts): with
 * SO_REUSEPORT the kernel would spread one client's datagrams over sockets by
 * hash, and a client's session must live in one place.
 */
import type { Logger } from "../../observe/log.ts";
import { chooseBackend } from "../core/proxy.ts";
import type { ClusterRuntime } from "../core/cluster.ts";
import { type Deadline, unwatch, watch } from "../io/ticker.ts";
import { type ConnHandle, ConnSet } from "../listen/conns.ts";
import type { L4Config } from "./config.ts";
import { ConnRecord, l4Refused } from "./observe.ts";

const MAX_DATAGRAM = 65535;
/**
 * Receive buffer of a session's upstream socket: every session keeps one
 * receive pending, so 64 KiB each cost ~100 KiB RSS per session in
 * measurement. 9000 bytes (a jumbo frame) is above what UDP services send in
 * practice (Envoy's UDP proxy default is 1500); larger replies are truncated.
 */
const MAX_REPLY_DATAGRAM = 9000;

interface Session {
  readonly client: Deno.NetAddr;
  readonly rec: ConnRecord;
  /** Null for a refused session: it absorbs datagrams until idle, then logs once. */
  readonly upstream: Deno.DatagramConn | null;
  readonly target: Deno.NetAddr | null;
  readonly cluster: ClusterRuntime | null;
  readonly key: string;
  readonly idle: Deadline;
  readonly handle: ConnHandle;
}

export class UdpSocket {
  readonly kind = "udp";
  readonly isTls = false;
  readonly conns: ConnSet;
  boundPort = 0;
  private sock: Deno.DatagramConn | null = null;
  private sessions = new Map<string, Session>();
  private refusedOverLimit = 0;

  constructor(
    readonly key: string,
    readonly address: string,
    readonly port: number,
    public l4: L4Config,
    private log: Logger,
  ) {
    this.conns = new ConnSet(l4.label);
  }

  /** Sessions open now (tests, diagnostics). */
  get sessionCount(): number {
    return this.sessions.size;
  }

  async start(): Promise<void> {
    const host = this.address === "" ? "0.0.0.0" : this.address;
    try {
      this.sock = Deno.listenDatagram({ hostname: host, port: this.port, transport: "udp" });
    } catch (e) {
      throw new Error(`cannot listen on udp ${host}:${this.port}: ${(e as Error).message}`);
    }
    this.boundPort = (this.sock.addr as Deno.NetAddr).port;
    void this.receiveLoop(this.sock);
    await Promise.resolve();
  }

  private async receiveLoop(sock: Deno.DatagramConn): Promise<void> {
    // One receive buffer; each datagram is copied out at its own size (sends are not awaited).
    const buf = new Uint8Array(MAX_DATAGRAM);
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await sock.receive(buf);
        data = data.slice();
      } catch {
        return; // socket closed
      }
      const addr = from as Deno.NetAddr;
      const k = `${addr.hostname}|${addr.port}`;
      let s = this.sessions.get(k);
      if (s === undefined) {
        if (this.sessions.size >= this.l4.maxSessions) {
          // Counted per datagram, logged once per burst (a flood must not become a log flood).
          l4Refused.inc({ listener: this.l4.label, cause: "session_limit" });
          if (this.refusedOverLimit++ === 0) {
            this.log.warn("UDP session limit reached: dropping datagrams from new clients", {
              listener: this.l4.label,
              maxSessions: this.l4.maxSessions,
            });
          }
          continue;
        }
        this.refusedOverLimit = 0;
        s = await this.open(addr, k);
      }
      s.idle.deadline = Date.now() + this.l4.idleTimeoutMs;
      if (s.upstream === null) continue;
      s.rec.bytesIn += data.length;
      s.upstream.send(data, s.target!).catch((e: Error) => {
        s.rec.reason ??= `send to upstream failed: ${e.message}`;
      });
    }
  }

  /** Starts a session: picks the route's cluster and endpoint, binds its upstream socket. */
  private async open(client: Deno.NetAddr, k: string): Promise<Session> {
    const cfg = this.l4;
    const rec = new ConnRecord("udp", cfg.label, client.hostname, cfg.accessLog);
    let upstream: Deno.DatagramConn | null = null;
    let target: Deno.NetAddr | null = null;
    let cr: ClusterRuntime | null = null;
    let pickKey = "";
    const route = cfg.route;
    if (route === null) {
      rec.refuse("no_route", `no UDP route is attached to listener ${cfg.label}`);
    } else {
      rec.route = route.name;
      const wc = chooseBackend(route.backends);
      cr = wc ? cfg.clusters.get(wc.cluster) ?? null : null;
      rec.cluster = wc?.cluster ?? null;
      const pick = cr?.balancer.pick({
        sourceIp: client.hostname,
        header: () => null,
        cookie: () => null,
      }) ?? null;
      if (wc === null) rec.refuse("no_route", `route ${route.name} has no backend`);
      else if (cr === null) {
        rec.refuse(
          "no_endpoint",
          `backend "${wc.cluster}" of route ${route.name} is not a usable cluster`,
        );
      } else if (pick === null) {
        rec.refuse("no_endpoint", `no healthy endpoint in cluster "${wc.cluster}"`);
      } else {
        pickKey = pick.key;
        rec.upstream = pick.key;
        rec.tries = 1;
        target = { transport: "udp", hostname: pick.endpoint.address, port: pick.endpoint.port };
        try {
          upstream = Deno.listenDatagram({
            hostname: pick.endpoint.address.includes(":") ? "::" : "0.0.0.0",
            port: 0,
            transport: "udp",
          });
          cr.balancer.onStart(pick.key);
        } catch (e) {
          rec.refuse(
            "connect_failed",
            `cannot open an upstream UDP socket: ${(e as Error).message}`,
          );
          upstream = null;
        }
      }
    }
    const s: Session = {
      client,
      rec,
      upstream,
      target,
      cluster: cr,
      key: pickKey,
      idle: {
        deadline: Date.now() + cfg.idleTimeoutMs,
        fire: () => this.end(k, "idle timeout"),
        slot: -1,
      },
      handle: { busy: true, close: () => this.end(k, "listener removed") },
    };
    this.sessions.set(k, s);
    this.conns.add(s.handle);
    watch(s.idle);
    if (upstream) void this.replyLoop(s, upstream, k);
    await Promise.resolve();
    return s;
  }

  /** Upstream → client for one session (datagrams from other sources are dropped). */
  private async replyLoop(s: Session, up: Deno.DatagramConn, k: string): Promise<void> {
    const buf = new Uint8Array(MAX_REPLY_DATAGRAM);
    for (;;) {
      let data: Uint8Array, from: Deno.Addr;
      try {
        [data, from] = await up.receive(buf);
        data = data.slice();
      } catch {
        return; // session ended
      }
      const a = from as Deno.NetAddr;
      if (a.port !== s.target!.port) continue;
      s.idle.deadline = Date.now() + this.l4.idleTimeoutMs;
      s.rec.bytesOut += data.length;
      const sock = this.sock;
      if (sock === null) return this.end(k, "listener removed");
      sock.send(data, s.client).catch((e: Error) => {
        s.rec.reason ??= `send to client failed: ${e.message}`;
      });
    }
  }

  private end(k: string, why: string): void {
    const s = this.sessions.get(k);
    if (!s) return;
    this.sessions.delete(k);
    unwatch(s.idle);
    if (s.upstream) {
      try {
        s.upstream.close();
      } catch {
        // closed
      }
      s.cluster?.balancer.onEnd(s.key);
    }
    if (why !== "idle timeout") s.rec.reason ??= why;
    this.conns.delete(s.handle);
    s.rec.finish();
  }

  /** Closes the socket: sessions end now (UDP has no connection to drain). */
  stopAccepting(): Promise<void> {
    if (this.sock) {
      try {
        this.sock.close();
      } catch {
        // closed
      }
      this.sock = null;
    }
    for (const k of [...this.sessions.keys()]) this.end(k, "listener removed");
    return Promise.resolve();
  }

  drain(_ms: number): Promise<void> {
    return this.stopAccepting();
  }
}
