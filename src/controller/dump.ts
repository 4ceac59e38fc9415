/**
 * The data behind `novaedge snapshot dump --controller ADDR [--node NAME]` and
 * `novaedge snapshot dump --agent URL`, for src/roles/snapshot_dump.ts to print.
 */
import { decodeSnapshot, snapshotMessageType } from "../snapshot/codec.ts";
import type { Snapshot } from "../snapshot/types.ts";
import { fetchSnapshotFromController } from "./dump_client.ts";
import type { AgentState } from "./wire.ts";

export interface ControllerDump {
  readonly source: string;
  readonly node: string;
  readonly version: string;
  /** Private keys redacted by the controller. */
  readonly snapshot: Snapshot;
  /** Agents connected to the replica that answered, with the version each one serves. */
  readonly agents: readonly AgentState[];
}

export interface ControllerDumpOptions {
  readonly address: string;
  readonly node: string;
  /** Default NOVAEDGE_CONTROLLER_CA or /var/run/novaedge/ca/ca.crt. */
  readonly caFile?: string;
  /** Default NOVAEDGE_AGENT_TOKEN_FILE or /var/run/secrets/novaedge/token. */
  readonly tokenFile?: string;
  readonly serverName?: string;
}

export async function dumpFromController(opts: ControllerDumpOptions): Promise<ControllerDump> {
  const caFile = opts.caFile ?? Deno.env.get("NOVAEDGE_CONTROLLER_CA") ??
    "/var/run/novaedge/ca/ca.crt";
  const tokenFile = opts.tokenFile ?? Deno.env.get("NOVAEDGE_AGENT_TOKEN_FILE") ??
    "/var/run/secrets/novaedge/token";
  const r = await fetchSnapshotFromController({
    address: opts.address,
    node: opts.node,
    caPem: await Deno.readTextFile(caFile),
    token: (await Deno.readTextFile(tokenFile)).trim(),
    serverName: opts.serverName,
  });
  // Redacted keys fail the decode boundary's PEM checks, so no validation here.
  return {
    source: `controller ${opts.address}`,
    node: opts.node,
    version: r.version,
    snapshot: decodeSnapshotLoose(r.snapshot),
    agents: r.agents,
  };
}

function decodeSnapshotLoose(bytes: Uint8Array): Snapshot {
  try {
    return decodeSnapshot(bytes);
  } catch {
    // Fall back to the raw message when validation objects to redacted fields.
    return rawDecode(bytes);
  }
}

function rawDecode(bytes: Uint8Array): Snapshot {
  const T = snapshotMessageType();
  return T.toObject(T.decode(bytes), {
    longs: Number,
    defaults: true,
    arrays: true,
  }) as unknown as Snapshot;
}

/** GET an agent's admin /debug/snapshot (already redacted by the agent). */
export async function dumpFromAgent(adminUrl: string): Promise<Snapshot> {
  const url = new URL("/debug/snapshot", adminUrl);
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`agent ${adminUrl}: ${r.status} ${(await r.text()).trim()}`);
  return await r.json() as Snapshot;
}
