/**
 * Agent ↔ controller wiring: serve the persisted snapshot first (so an agent
 * that starts while the controller is unreachable serves what it served
 * before), then follow the controller's stream. Each received snapshot is
 * decoded and validated at this one boundary, applied, persisted, and acked;
 * a snapshot that fails to decode or apply is nacked with the reason.
 */
import { type ConnectionState, ControllerClient } from "./controller_client.ts";
import { SnapshotStateStore } from "./state.ts";
import type { SnapshotApplier } from "./applier.ts";
import { decodeSnapshot } from "../snapshot/codec.ts";
import { logger } from "../observe/log.ts";
import { VERSION } from "../version.ts";

const log = logger("agent.connect");

export interface ConnectOptions {
  readonly address: string;
  readonly node: string;
  readonly stateDir: string;
  readonly applier: SnapshotApplier;
  /** PEM file of the CA that signed the controller's certificate. */
  readonly caFile: string;
  /** Bearer token file (a projected ServiceAccount token), re-read on every connect. */
  readonly tokenFile: string;
  /** TLS name to verify when the address is an IP. */
  readonly serverName?: string;
  readonly onStateChange?: (state: ConnectionState, detail: string) => void;
}

async function readFile(path: string, what: string, hint: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw new Error(`cannot read the ${what} at ${path}: ${(err as Error).message} (${hint})`);
  }
}

/** Starts following the controller; resolves to a stop function. */
export async function connectAgentToController(opts: ConnectOptions): Promise<() => Promise<void>> {
  const store = new SnapshotStateStore(opts.stateDir);
  try {
    const persisted = await store.load();
    if (persisted) {
      const snapshot = decodeSnapshot(persisted.bytes);
      const outcome = await opts.applier.submit(snapshot);
      log.info(
        outcome.ok
          ? "serving the persisted snapshot until the controller answers"
          : "the persisted snapshot could not be applied",
        { version: persisted.version, savedAt: persisted.savedAt, error: outcome.error },
      );
    }
  } catch (err) {
    log.warn("ignoring the persisted snapshot", {
      path: store.path,
      error: (err as Error).message,
    });
  }

  const caPem = await readFile(
    opts.caFile,
    "controller CA certificate",
    "mount the controller's CA (ConfigMap novaedge-controller-ca) there or pass --controller-ca",
  );
  const client = new ControllerClient({
    address: opts.address,
    node: opts.node,
    caPem,
    serverName: opts.serverName,
    token: async () =>
      (await readFile(
        opts.tokenFile,
        "agent token",
        "mount a projected ServiceAccount token there or pass --token-file",
      )).trim(),
    agentVersion: VERSION,
    currentVersion: () => opts.applier.current?.version ?? "",
    onStateChange: (state, detail) => {
      log.info("controller connection", { state, detail, controller: opts.address });
      opts.onStateChange?.(state, detail);
    },
    onSnapshot: async (update) => {
      const snapshot = decodeSnapshot(update.bytes);
      const outcome = await opts.applier.submit(snapshot);
      if (!outcome.ok) throw new Error(outcome.error ?? "apply failed");
      if (outcome.version === snapshot.version) {
        await store.save(snapshot.version, update.bytes).catch((err) =>
          log.warn("could not persist the snapshot", { error: (err as Error).message })
        );
      }
    },
  });
  client.start();
  return () => client.stop();
}
