/**
 * The controller's gRPC server: `novaedge.v1.AgentService` over TLS.
 *
 * One stream per agent. Nothing is sent before the agent's Hello token passes
 * the authenticator. Then the node's current snapshot goes out, followed by
 * every new version; if versions arrive faster than an agent reads, only the
 * newest waiting one is sent (older ones would be superseded anyway). Acks and
 * nacks land in the AgentRegistry.
 */
import * as grpc from "@grpc/grpc-js";
import { logger } from "../observe/log.ts";
import { type Authenticator, AuthError } from "./auth.ts";
import type { AgentRegistry } from "./agents.ts";
import { agentAuthFailures } from "./metrics.ts";
import { agentServiceDefinition, MAX_MESSAGE_BYTES } from "./service.ts";
import type { EncodedSnapshot, SnapshotHub } from "./snapshot_hub.ts";
import type {
  AgentMessage,
  ControllerMessage,
  GetSnapshotRequest,
  GetSnapshotResponse,
  Hello,
} from "./wire.ts";

const log = logger("controller.grpc");

export interface GrpcServerOptions {
  /** "host:port"; port 0 picks a free one. */
  readonly address: string;
  /** Server certificate chain and key (PEM). */
  readonly certPem: string;
  readonly keyPem: string;
  readonly authenticate: Authenticator;
  readonly hub: SnapshotHub;
  readonly registry: AgentRegistry;
  /** Identity of this replica (pod name), stamped on each update. */
  readonly controllerId: string;
  /** How long an agent may take to send Hello (default 10 s). */
  readonly helloTimeoutMs?: number;
}

export interface GrpcServer {
  readonly port: number;
  /** Serve a new certificate to new connections (e.g. before the old one expires). */
  rotateCertificate(certPem: string, keyPem: string): void;
  /** Stop accepting; end open streams with UNAVAILABLE so agents reconnect elsewhere. */
  close(): Promise<void>;
}

/**
 * TLS server credentials from PEM strings. grpc-js's createSsl does not work
 * under Deno's node:tls: Buffer certificates are not read as PEM, and its
 * default `ca` (every public root) gets sent along and breaks the handshake.
 * Plain PEM strings and no `ca` work, and rotate() swaps the certificate of a
 * running server.
 */
class PemServerCredentials extends grpc.ServerCredentials {
  constructor(certPem: string, keyPem: string) {
    super({ requestCert: false }, { cert: certPem, key: keyPem });
  }
  rotate(certPem: string, keyPem: string): void {
    this.updateSecureContextOptions({ cert: certPem, key: keyPem });
  }
  _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

type Stream = grpc.ServerDuplexStream<AgentMessage, ControllerMessage>;

function statusError(code: grpc.status, details: string): grpc.StatusObject {
  return { code, details, metadata: new grpc.Metadata() };
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<GrpcServer> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 4 * 1024 * 1024, // agents only send small messages
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 10_000,
  });
  const streams = new Set<Stream>();
  const helloTimeout = opts.helloTimeoutMs ?? 10_000;

  async function authorize(token: string, node: string): Promise<string> {
    const id = await opts.authenticate(token, node);
    if (id.node !== undefined && id.node !== node) {
      throw new AuthError(
        `credential of ${id.subject} is bound to node "${id.node}", not "${node}"`,
      );
    }
    return id.subject;
  }

  function handleStream(call: Stream): void {
    streams.add(call);
    const peer = call.getPeer();
    let sessionId = 0;
    let node = "";
    let unwatch: (() => void) | undefined;
    let closed = false;
    // Backpressure: at most one write in flight; a newer version replaces a waiting one.
    let writing = false;
    let waiting: EncodedSnapshot | undefined;
    let helloSeen = false;

    const cleanup = (why: string) => {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      unwatch?.();
      streams.delete(call);
      if (sessionId) {
        opts.registry.remove(sessionId);
        log.info("agent disconnected", { node, peer, reason: why });
      }
    };
    const fail = (code: grpc.status, details: string) => {
      if (closed) return;
      call.emit("error", statusError(code, details));
      cleanup(details);
    };

    const send = (s: EncodedSnapshot) => {
      if (closed) return;
      if (writing) {
        waiting = s;
        return;
      }
      writing = true;
      opts.registry.sent(sessionId, s.version);
      log.debug("sending snapshot", { node, version: s.version, bytes: s.bytes.length });
      call.write(
        { snapshot: { version: s.version, snapshot: s.bytes, controller: opts.controllerId } },
        (err?: Error | null) => {
          writing = false;
          if (err) return cleanup(`write failed: ${err.message}`);
          const next = waiting;
          waiting = undefined;
          if (next) send(next);
        },
      );
    };

    const start = async (hello: Hello) => {
      if (!hello.node) return fail(grpc.status.INVALID_ARGUMENT, "Hello.node is empty");
      let subject: string;
      try {
        subject = await authorize(hello.token, hello.node);
      } catch (err) {
        agentAuthFailures.inc();
        const msg = err instanceof AuthError ? err.message : `authentication failed: ${err}`;
        log.warn("agent refused", { node: hello.node, peer, reason: msg });
        return fail(grpc.status.UNAUTHENTICATED, msg);
      }
      if (closed) return;
      node = hello.node;
      const session = opts.registry.add({
        node,
        peer,
        agentVersion: hello.agentVersion,
        subject,
        connectedAt: new Date(),
      });
      sessionId = session.id;
      if (hello.lastVersion) session.ackedVersion = hello.lastVersion;
      log.info("agent connected", {
        node,
        peer,
        subject,
        agentVersion: hello.agentVersion,
        lastVersion: hello.lastVersion,
      });
      unwatch = opts.hub.watch(node, send);
      const current = opts.hub.get(node);
      if (current) send(current);
    };

    const timer = setTimeout(
      () => fail(grpc.status.UNAUTHENTICATED, `no Hello within ${helloTimeout} ms`),
      helloTimeout,
    );

    call.on("data", (m: AgentMessage) => {
      if (closed) return;
      if (!sessionId) {
        if (!("hello" in m)) {
          return fail(grpc.status.INVALID_ARGUMENT, "first message must be Hello");
        }
        if (helloSeen) return; // a second Hello while the first is being authenticated
        helloSeen = true;
        clearTimeout(timer);
        start(m.hello).catch((err) => fail(grpc.status.INTERNAL, String(err)));
        return;
      }
      if ("ack" in m) {
        opts.registry.ack(sessionId, m.ack.version);
        log.debug("agent acked", { node, version: m.ack.version });
      } else if ("nack" in m) {
        opts.registry.nack(sessionId, m.nack.version, m.nack.reason);
        log.warn("agent rejected snapshot", {
          node,
          version: m.nack.version,
          reason: m.nack.reason,
        });
      } else {
        fail(grpc.status.INVALID_ARGUMENT, "Hello sent twice");
      }
    });
    call.on("end", () => {
      cleanup("agent closed the stream");
      call.end();
    });
    call.on("cancelled", () => cleanup("cancelled"));
    call.on(
      "error",
      (err: Partial<grpc.StatusObject> & Error) =>
        cleanup(`stream error: ${err.details ?? err.message}`),
    );
    call.on("close", () => cleanup("closed"));
  }

  async function handleGet(
    call: grpc.ServerUnaryCall<GetSnapshotRequest, GetSnapshotResponse>,
    cb: grpc.sendUnaryData<GetSnapshotResponse>,
  ): Promise<void> {
    const req = call.request;
    try {
      await authorize(req.token, req.node);
    } catch (err) {
      agentAuthFailures.inc();
      const msg = err instanceof AuthError ? err.message : `authentication failed: ${err}`;
      return cb(statusError(grpc.status.UNAUTHENTICATED, msg), null);
    }
    const s = opts.hub.redacted(req.node);
    if (!s) {
      return cb(
        statusError(
          grpc.status.UNAVAILABLE,
          `no snapshot for node "${req.node}" yet (controller still syncing?)`,
        ),
        null,
      );
    }
    cb(null, { version: s.version, snapshot: s.bytes, agents: opts.registry.list() });
  }

  server.addService(agentServiceDefinition, {
    StreamSnapshots: handleStream,
    GetSnapshot: (
      call: grpc.ServerUnaryCall<GetSnapshotRequest, GetSnapshotResponse>,
      cb: grpc.sendUnaryData<GetSnapshotResponse>,
    ) => void handleGet(call, cb),
  });

  const creds = new PemServerCredentials(opts.certPem, opts.keyPem);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.address, creds, (err, port) => {
      if (err) {
        reject(new Error(`cannot listen for agents on ${opts.address}: ${err.message}`));
      } else resolve(port);
    });
  });
  log.info("agent gRPC server listening", { address: opts.address, port });

  return {
    port,
    rotateCertificate: (certPem, keyPem) => creds.rotate(certPem, keyPem),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...streams]) {
          s.emit("error", statusError(grpc.status.UNAVAILABLE, "controller shutting down"));
        }
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          resolve();
        };
        // tryShutdown waits for calls to finish; force after a grace period.
        const t = setTimeout(() => {
          server.forceShutdown();
          finish();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          finish();
        });
      }),
  };
}
