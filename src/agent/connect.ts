/**
 * `novaedge agent --controller`: glue between the snapshot stream, the
 * persisted state and the applier.
 *
 * On start the persisted snapshot (if any) is applied first, so a restarted
 * agent serves while the controller is unreachable. Each snapshot from the
 * controller is decoded and validated (the one wire → domain boundary), applied,
 * then persisted; a decode, validation or apply failure nacks with the reason
 * and the previous configuration keeps serving.
 */
import { logger } from "../observe/log.ts";
import { decodeSnapshot } from "../snapshot/codec.ts";
import type { Snapshot } from "../snapshot/types.ts";
import { VERSION } from "../version.ts";
import { type ConnectionState, ControllerClient } from "./controller_client.ts";
import { SnapshotStateStore } from "./state.ts";

const log = logger("agent.connect");

/** What the agent's applier must offer (src/agent/applier.ts's SnapshotApplier does). */
export interface ApplierLike {
  readonly current: Snapshot | null;
  submit(snapshot: Snapshot): Promise<{ ok: boolean; error?: string; version: string }>;
}

export interface ConnectOptions {
  /** Controller address "host:port". */
  readonly address: string;
  readonly node: string;
  readonly stateDir: string;
  readonly applier: ApplierLike;
  /** CA certificate file (default NOVAEDGE_CONTROLLER_CA or /var/run/novaedge/ca/ca.crt). */
  readonly caFile?: string;
  /** Token file (default NOVAEDGE_AGENT_TOKEN_FILE or /var/run/secrets/novaedge/token). */
  readonly tokenFile?: string;
  /** TLS name to verify (default NOVAEDGE_CONTROLLER_SERVER_NAME, else from the address). */
  readonly serverName?: string;
  readonly onStateChange?: (state: ConnectionState, detail: string) => void;
}

export const DEFAULT_CA_FILE = "/var/run/novaedge/ca/ca.crt";
export const DEFAULT_TOKEN_FILE = "/var/run/secrets/novaedge/token";

/** Start the controller connection; resolves once the persisted snapshot (if any) is applied. */
export async function connectAgentToController(
  opts: ConnectOptions,
): Promise<() => Promise<void>> {
  const caFile = opts.caFile ?? Deno.env.get("NOVAEDGE_CONTROLLER_CA") ?? DEFAULT_CA_FILE;
  const tokenFile = opts.tokenFile ?? Deno.env.get("NOVAEDGE_AGENT_TOKEN_FILE") ??
    DEFAULT_TOKEN_FILE;
  const serverName = opts.serverName ?? Deno.env.get("NOVAEDGE_CONTROLLER_SERVER_NAME") ??
    undefined;
  const state = new SnapshotStateStore(opts.stateDir);

  const persisted = await state.load();
  if (persisted) {
    try {
      const snap = decodeSnapshot(persisted.bytes);
      const outcome = await opts.applier.submit(snap);
      if (outcome.ok) {
        log.info("serving the persisted snapshot until the controller answers", {
          version: snap.version,
          savedAt: persisted.savedAt,
        });
      } else {
        log.warn("the persisted snapshot does not apply", { error: outcome.error });
      }
    } catch (err) {
      log.warn("the persisted snapshot is unusable", { error: (err as Error).message });
    }
  }

  let caPem: string;
  try {
    caPem = await Deno.readTextFile(caFile);
  } catch (err) {
    throw new Error(
      `cannot read the controller CA ${caFile}: ${(err as Error).message} ` +
        "(mount the novaedge-controller-ca ConfigMap or set NOVAEDGE_CONTROLLER_CA)",
    );
  }

  const client = new ControllerClient({
    address: opts.address,
    node: opts.node,
    caPem,
    serverName,
    agentVersion: VERSION,
    token: async () => (await Deno.readTextFile(tokenFile)).trim(),
    currentVersion: () => opts.applier.current?.version ?? "",
    onStateChange: opts.onStateChange,
    onSnapshot: async (u) => {
      const snap = decodeSnapshot(u.bytes, { checkVersion: true });
      const outcome = await opts.applier.submit(snap);
      if (!outcome.ok) throw new Error(outcome.error ?? "apply failed");
      if (outcome.version !== u.version) {
        // A newer submit superseded this one; the newer one is persisted by its own call.
        return;
      }
      try {
        await state.save(u.version, u.bytes);
      } catch (err) {
        // Serving matters more than persisting: log, keep serving, still ack.
        log.error("cannot persist the applied snapshot", {
          dir: opts.stateDir,
          error: (err as Error).message,
        });
      }
    },
  });
  client.start();
  log.info("connecting to the controller", { address: opts.address, node: opts.node });
  return () => client.stop();
}
