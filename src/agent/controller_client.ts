/**
 * The agent's side of the snapshot stream: connect to the controller over TLS,
 * say Hello (node name + token), hand every received snapshot to `onSnapshot`,
 * and ack it when that resolves or nack it (with the error's message) when it
 * rejects. Reconnects forever with capped exponential backoff and full jitter;
 * the backoff resets once a stream has delivered a snapshot.
 *
 * Snapshots arrive as encoded bytes: decoding and validation belong to the
 * agent's apply path (the one boundary where wire data becomes domain types).
 * Updates are applied one at a time; if several arrive during an apply, only
 * the newest is applied next.
 */
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { logger } from "../observe/log.ts";
import {
  MAX_MESSAGE_BYTES,
  pemBuffer,
  STREAM_SNAPSHOTS_PATH,
  tlsNameFor,
} from "../controller/service.ts";
import {
  type AgentMessage,
  type ControllerMessage,
  decodeControllerMessage,
  encodeAgentMessage,
} from "../controller/wire.ts";

const log = logger("agent.controller");

/** One snapshot version as received from the controller. */
export interface SnapshotDelivery {
  readonly version: string;
  /** Encoded `novaedge.v1.Snapshot`. */
  readonly bytes: Uint8Array;
  /** Replica that sent it. */
  readonly controller: string;
}

export type ConnectionState = "connecting" | "connected" | "disconnected" | "stopped";

export interface ControllerClientOptions {
  /** Controller address, "host:port" (e.g. novaedge-controller.novaedge-system.svc:9443). */
  readonly address: string;
  /** This agent's node name. */
  readonly node: string;
  /** CA that signed the controller's certificate (PEM). */
  readonly caPem: string;
  /** TLS name to verify instead of the address's host (e.g. when dialing an IP). */
  readonly serverName?: string;
  /** Bearer token, read again on every connect (projected tokens rotate). */
  readonly token: () => Promise<string>;
  readonly agentVersion: string;
  /** Version the agent serves right now ("" if none): sent in Hello. */
  readonly currentVersion: () => string;
  /** Apply a snapshot. Resolve = ack; reject = nack with the error's message. */
  readonly onSnapshot: (update: SnapshotDelivery) => Promise<void>;
  /** Reconnect backoff (defaults 500 ms doubling up to 30 s). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Told about every connection state change (for readiness and logs). */
  readonly onStateChange?: (state: ConnectionState, detail: string) => void;
}

/** Delay before reconnect attempt `attempt` (0-based): full jitter over a capped exponential. */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const cap = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  // Never less than a tenth of the step so a crash loop cannot spin.
  return Math.max(cap / 10, cap * random());
}

export class ControllerClient {
  #opts: ControllerClientOptions;
  #client: grpc.Client | undefined;
  #call: grpc.ClientDuplexStream<AgentMessage, ControllerMessage> | undefined;
  #stopped = true;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #state: ConnectionState = "disconnected";
  #lastError = "";
  #applying = false;
  #pending: SnapshotDelivery | undefined;
  #applied = Promise.resolve();

  constructor(opts: ControllerClientOptions) {
    this.#opts = opts;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Why the last stream ended ("" if none has). */
  get lastError(): string {
    return this.#lastError;
  }

  /** Start connecting (returns at once; runs until stop()). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    const creds = grpc.credentials.createSsl(pemBuffer(this.#opts.caPem));
    const options: grpc.ChannelOptions = {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.keepalive_time_ms": 20_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      // The channel's own reconnect backoff stays short: our loop does the backing off.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 2_000,
    };
    const tlsName = tlsNameFor(this.#opts.address, this.#opts.serverName);
    if (tlsName) {
      options["grpc.ssl_target_name_override"] = tlsName;
      options["grpc.default_authority"] = tlsName;
    }
    this.#client = new grpc.Client(this.#opts.address, creds, options);
    this.#loop = this.#run();
  }

  /** Close the stream and stop reconnecting; waits for an apply in progress. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#call?.cancel();
    this.#wake?.();
    await this.#loop;
    await this.#applied;
    this.#client?.close();
    this.#client = undefined;
    this.#setState("stopped", "stopped");
  }

  #setState(state: ConnectionState, detail: string): void {
    if (state === this.#state && state !== "disconnected") return;
    this.#state = state;
    this.#opts.onStateChange?.(state, detail);
  }

  async #run(): Promise<void> {
    const initial = this.#opts.backoff?.initialMs ?? 500;
    const max = this.#opts.backoff?.maxMs ?? 30_000;
    let attempt = 0;
    while (!this.#stopped) {
      this.#setState("connecting", this.#opts.address);
      const { delivered, error } = await this.#stream();
      if (this.#stopped) break;
      this.#lastError = error;
      if (delivered) attempt = 0;
      const delay = backoffDelay(attempt++, initial, max);
      this.#setState("disconnected", error);
      log.warn("controller stream ended; reconnecting", {
        address: this.#opts.address,
        error,
        retryInMs: Math.round(delay),
      });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** One stream, start to end. Resolves (never rejects) with why it ended. */
  async #stream(): Promise<{ delivered: boolean; error: string }> {
    let token: string;
    try {
      token = await this.#opts.token();
    } catch (err) {
      return { delivered: false, error: `cannot read the agent token: ${(err as Error).message}` };
    }
    const client = this.#client;
    if (!client) return { delivered: false, error: "stopped" };
    return new Promise((resolve) => {
      let delivered = false;
      let done = false;
      const call = client.makeBidiStreamRequest(
        STREAM_SNAPSHOTS_PATH,
        (m: AgentMessage) => Buffer.from(encodeAgentMessage(m)),
        (b: Buffer) => decodeControllerMessage(b),
        new grpc.Metadata(),
        {},
      );
      this.#call = call;
      const finish = (error: string) => {
        if (done) return;
        done = true;
        if (this.#call === call) this.#call = undefined;
        resolve({ delivered, error });
      };
      const send = (m: AgentMessage) => {
        if (!done) call.write(m);
      };
      call.on("data", (m: ControllerMessage) => {
        const u = m.snapshot;
        if (!u) return;
        if (!delivered) {
          delivered = true;
          this.#setState("connected", u.controller);
          log.info("connected to controller", {
            address: this.#opts.address,
            controller: u.controller,
          });
        }
        this.#enqueue({ version: u.version, bytes: u.snapshot, controller: u.controller }, send);
      });
      call.on(
        "error",
        (err: grpc.ServiceError) => finish(`${grpc.status[err.code]}: ${err.details}`),
      );
      call.on("status", (s: grpc.StatusObject) => {
        if (s.code !== grpc.status.OK) finish(`${grpc.status[s.code]}: ${s.details}`);
        else finish("controller ended the stream");
      });
      call.on("end", () => finish("controller ended the stream"));
      call.write({
        hello: {
          node: this.#opts.node,
          agentVersion: this.#opts.agentVersion,
          lastVersion: this.#opts.currentVersion(),
          token,
        },
      });
    });
  }

  #enqueue(u: SnapshotDelivery, send: (m: AgentMessage) => void): void {
    this.#pending = u;
    if (this.#applying) return;
    this.#applying = true;
    this.#applied = (async () => {
      try {
        while (this.#pending) {
          const next = this.#pending;
          this.#pending = undefined;
          try {
            // A reconnect re-sends the version already served (e.g. the persisted one): just ack.
            if (next.version !== this.#opts.currentVersion()) await this.#opts.onSnapshot(next);
            send({ ack: { version: next.version } });
          } catch (err) {
            const reason = err instanceof Error ? err.message : String(err);
            log.warn("snapshot rejected", { version: next.version, reason });
            send({ nack: { version: next.version, reason } });
          }
        }
      } finally {
        this.#applying = false;
      }
    })();
  }
}
