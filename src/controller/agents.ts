/**
 * Which agents are connected to this replica and which snapshot version each
 * one serves (its last ack). Feeds the metrics, `snapshot dump --controller`
 * and the "programmed on all nodes" status condition.
 */
import type { AgentState } from "./wire.ts";
import { agentInSync, agentNacks, agentVersion, connectedAgents } from "./metrics.ts";

export interface AgentSession {
  readonly id: number;
  readonly node: string;
  readonly peer: string;
  readonly agentVersion: string;
  /** Who authenticated (e.g. system:serviceaccount:novaedge-system:novaedge-agent). */
  readonly subject: string;
  readonly connectedAt: Date;
  sentVersion: string;
  ackedVersion: string;
  nackedVersion: string;
  nackReason: string;
}

export class AgentRegistry {
  #sessions = new Map<number, AgentSession>();
  #nextId = 1;
  #listeners = new Set<() => void>();
  #controller: string;
  /** Current expected version per node (what the hub last published), for the in-sync metric. */
  #expected = new Map<string, string>();

  constructor(controllerId: string) {
    this.#controller = controllerId;
  }

  add(
    s: Omit<AgentSession, "id" | "sentVersion" | "ackedVersion" | "nackedVersion" | "nackReason">,
  ): AgentSession {
    const session: AgentSession = {
      ...s,
      id: this.#nextId++,
      sentVersion: "",
      ackedVersion: "",
      nackedVersion: "",
      nackReason: "",
    };
    this.#sessions.set(session.id, session);
    this.#changed(session.node);
    return session;
  }

  sent(id: number, version: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    s.sentVersion = version;
    this.#changed(s.node);
  }

  ack(id: number, version: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    s.ackedVersion = version;
    // Agents answer in order: an ack after a nack means it moved past the bad version.
    s.nackedVersion = "";
    s.nackReason = "";
    this.#changed(s.node);
  }

  nack(id: number, version: string, reason: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    s.nackedVersion = version;
    s.nackReason = reason;
    agentNacks.inc({ node: s.node });
    this.#changed(s.node);
  }

  remove(id: number): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    this.#changed(s.node);
  }

  /** Record the version the node should serve now. */
  expect(node: string, version: string): void {
    this.#expected.set(node, version);
    this.#changed(node);
  }

  sessions(): AgentSession[] {
    return [...this.#sessions.values()];
  }

  /**
   * The version `node` serves: the last ack of its newest session, or undefined
   * when no agent of that node is connected here.
   */
  servedVersion(node: string): string | undefined {
    let best: AgentSession | undefined;
    for (const s of this.#sessions.values()) {
      if (s.node === node && (!best || s.id > best.id)) best = s;
    }
    return best?.ackedVersion;
  }

  list(): AgentState[] {
    return this.sessions().sort((a, b) => a.node.localeCompare(b.node) || a.id - b.id).map((
      s,
    ) => ({
      node: s.node,
      peer: s.peer,
      agentVersion: s.agentVersion,
      sentVersion: s.sentVersion,
      ackedVersion: s.ackedVersion,
      nackedVersion: s.nackedVersion,
      nackReason: s.nackReason,
      connectedAt: s.connectedAt.toISOString(),
      controller: this.#controller,
    }));
  }

  /** Called after any change (connect, ack, nack, disconnect, new expected version). */
  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(node: string): void {
    connectedAgents.set(this.#sessions.size);
    agentVersion.reset();
    for (const s of this.#sessions.values()) {
      if (s.ackedVersion) agentVersion.set({ node: s.node, version: s.ackedVersion }, 1);
    }
    const served = this.servedVersion(node);
    const expected = this.#expected.get(node);
    if (served === undefined) agentInSync.remove({ node });
    else agentInSync.set({ node }, served !== "" && served === expected ? 1 : 0);
    for (const l of this.#listeners) l();
  }
}
