/**
 * The `Programmed` condition of ProxyRoutes: is the route, as it is now,
 * served on the nodes that should serve it? A node counts as programmed for a
 * route when the snapshot its agent acked holds exactly the route's current
 * rules (so a change to one route never marks the others pending). Only agents
 * connected to this replica are known; nodes whose agents are elsewhere (or
 * absent) are reported, not held against the route.
 */
import type { Route, Snapshot } from "../snapshot/types.ts";
import { canonicalJson } from "../snapshot/version.ts";
import type { Condition, ObjectStatus } from "../store/types.ts";
import { routeObjectKey } from "./node_filter.ts";

/** Per node: the snapshot it should serve and the one its agent serves (undefined: unknown). */
export interface NodeView {
  readonly node: string;
  readonly expected: Snapshot;
  readonly served: Snapshot | undefined;
  /** The agent rejected the current version (reason), if it did. */
  readonly nackReason?: string;
}

/** Canonical rules per route object, computed once per snapshot object (snapshots are immutable). */
const canonCache = new WeakMap<Snapshot, Map<string, string>>();
function canonicalRoutes(s: Snapshot): Map<string, string> {
  let m = canonCache.get(s);
  if (!m) {
    m = new Map();
    for (const [k, rs] of routesByObject(s)) m.set(k, canonicalJson(rs));
    canonCache.set(s, m);
  }
  return m;
}

function routesByObject(s: Snapshot): Map<string, Route[]> {
  const m = new Map<string, Route[]>();
  for (const r of s.routes) {
    const k = routeObjectKey(r.name);
    let l = m.get(k);
    if (!l) m.set(k, l = []);
    l.push(r);
  }
  return m;
}

/** Programmed condition per route object key "<ns>/<name>". Pure. */
export function programmedConditions(
  views: readonly NodeView[],
  generationOf: (key: string) => number,
): Map<string, Condition> {
  const want = new Map<string, { node: string; rules: string }[]>();
  const have = new Map<string, Map<string, string>>();
  const nacks = new Map<string, string>();
  for (const v of views) {
    for (const [k, rules] of canonicalRoutes(v.expected)) {
      let l = want.get(k);
      if (!l) want.set(k, l = []);
      l.push({ node: v.node, rules });
    }
    if (v.served) have.set(v.node, canonicalRoutes(v.served));
    if (v.nackReason) nacks.set(v.node, v.nackReason);
  }
  const out = new Map<string, Condition>();
  for (const [key, nodes] of want) {
    const pending: string[] = [];
    const unknown: string[] = [];
    let confirmed = 0;
    for (const { node, rules } of nodes) {
      const served = have.get(node);
      if (!served) unknown.push(node);
      else if (served.get(key) === rules) confirmed++;
      else pending.push(nacks.has(node) ? `${node} (rejected: ${nacks.get(node)})` : node);
    }
    const gen = generationOf(key);
    const tail = unknown.length
      ? `; ${unknown.length} node(s) not reporting to this controller: ${unknown.join(", ")}`
      : "";
    out.set(
      key,
      pending.length === 0
        ? {
          type: "Programmed",
          status: "True",
          reason: "Programmed",
          message: `served by ${confirmed} of ${nodes.length} node(s)${tail}`,
          observedGeneration: gen,
        }
        : {
          type: "Programmed",
          status: "False",
          reason: "Pending",
          message: `not yet served by ${
            pending.join(", ")
          } (${confirmed} of ${nodes.length} done)${tail}`,
          observedGeneration: gen,
        },
    );
  }
  return out;
}

/** Append the Programmed conditions to the ProxyRoute statuses. */
export function withProgrammed(
  statuses: readonly ObjectStatus[],
  conditions: ReadonlyMap<string, Condition>,
): ObjectStatus[] {
  return statuses.map((s) => {
    if (s.ref.kind !== "ProxyRoute") return s;
    const c = conditions.get(`${s.ref.namespace ?? ""}/${s.ref.name}`);
    if (!c) return s;
    return {
      ...s,
      status: {
        ...s.status,
        conditions: [
          ...s.status.conditions.filter((x) => x.type !== "Programmed"),
          { ...c, observedGeneration: s.generation },
        ],
      },
    };
  });
}
