/**
 * ListenerSets: listeners declared outside a Gateway and merged into it.
 *
 * A ListenerSet attaches when its parent Gateway is ours and the Gateway's
 * `spec.allowedListeners` admits its namespace (default: none → NotAllowed).
 * Attached ListenerSets are ordered by creation time, then "<ns>/<name>"; their
 * listeners follow the Gateway's own in precedence (and, within a ListenerSet,
 * come in their order), so a listener that clashes (port protocol or hostname)
 * with an earlier one is the one refused
 * (Accepted/Programmed False, Conflicted True). Their certificateRefs are the
 * ListenerSet's (ReferenceGrants must name the ListenerSet; a Secret in its own
 * namespace needs none), their client-certificate validation the Gateway's
 * `spec.tls.frontend`. Accepted listeners become
 * listeners of the Gateway's ProxyGateway under unique names; routes reach them
 * only through a parentRef to the ListenerSet (attach.ts).
 */
import type { Condition, Diagnostic, KubeObject, ObjectStatus } from "../../store/types.ts";
import { parseWith } from "../../crds/schema.ts";
import { GATEWAY_GROUP, listenerSetSpec } from "./api_types.ts";
import type { ListenerSetSpecIn } from "./api_types.ts";
import {
  family,
  listenerStatus,
  settleListener,
  tlsCapabilities,
  validateListener,
} from "./gateway.ts";
import type {
  GatewayState,
  ListenerSetLike,
  ListenerState,
  TlsCapabilities,
  Verdict,
} from "./gateway.ts";
import { applyFrontendValidation } from "./frontend_tls.ts";
import { cond, objectNameOf } from "./generated.ts";
import { labelsOfNamespace, matchesSelector } from "./world.ts";
import type { World } from "./world.ts";

export interface ListenerSetState extends ListenerSetLike {
  readonly obj: KubeObject;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number;
  readonly spec: ListenerSetSpecIn;
  readonly gateway: GatewayState;
  /** Why it is not attached (NotAllowed) or not accepted (ParentNotAccepted, ListenersNotValid). */
  readonly problem?: Verdict;
  readonly listeners: ListenerState[];
}

function listenersAllowedFrom(gw: GatewayState, lsNs: string, w: World): boolean {
  const ns = gw.spec.allowedListeners?.namespaces;
  const from = ns?.from ?? "None";
  if (from === "All") return true;
  if (from === "Same") return lsNs === gw.namespace;
  if (from === "Selector") {
    return ns?.selector !== undefined && matchesSelector(ns.selector, labelsOfNamespace(w, lsNs));
  }
  return false;
}

const portSpace = (l: ListenerState) =>
  `${l.spec.protocol === "UDP" ? "udp" : "tcp"}/${l.spec.port}`;
const hostKey = (l: ListenerState) =>
  l.spec.protocol === "TCP" || l.spec.protocol === "UDP" ? "" : l.spec.hostname ?? "";

const tlsMode = (l: ListenerState) => l.spec.tls?.mode ?? "Terminate";

/**
 * The conflict of `l` with a listener of higher precedence, if any: the rules
 * of a Gateway's own listeners (`detectConflicts`) over the merged list —
 * another protocol family on the port, TLS listeners terminating next to
 * passing through on one port without TLSRouteModeMixed, the same hostname —
 * except that the listener of higher precedence keeps its port (GEP-1713).
 */
function conflictWith(
  l: ListenerState,
  taken: readonly ListenerState[],
  caps: TlsCapabilities,
): { reason: "HostnameConflict" | "ProtocolConflict"; message: string } | undefined {
  for (const t of taken) {
    if (portSpace(t) !== portSpace(l)) continue;
    if (family(t.spec.protocol) !== family(l.spec.protocol)) {
      return {
        reason: "ProtocolConflict",
        message: `port ${l.spec.port} is already used by listener ${
          JSON.stringify(t.spec.name)
        } with protocol ${t.spec.protocol}, which takes precedence`,
      };
    }
    if (
      !caps.mixed && l.spec.protocol === "TLS" && t.spec.protocol === "TLS" &&
      tlsMode(l) !== tlsMode(t)
    ) {
      return {
        reason: "ProtocolConflict",
        message: `port ${l.spec.port} is already used by TLS listener ${
          JSON.stringify(t.spec.name)
        } with tls.mode ${
          tlsMode(t)
        }, which takes precedence; this GatewayClass does not support mixing tls.mode Terminate and Passthrough on one port (TLSRouteModeMixed): use separate ports`,
      };
    }
    if (hostKey(t) === hostKey(l)) {
      return {
        reason: "HostnameConflict",
        message: `listener ${
          JSON.stringify(t.spec.name)
        } on port ${l.spec.port} already uses hostname ${
          JSON.stringify(l.spec.hostname ?? "")
        } and takes precedence`,
      };
    }
  }
  return undefined;
}

function byPrecedence(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? "", tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? "default"}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? "default"}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Parses the ListenerSets whose parent is one of `gateways`, validates and
 * merges their listeners (setting each Gateway's `listenerSets`), and returns
 * them by "<namespace>/<name>".
 */
export function collectListenerSets(
  objects: readonly KubeObject[],
  gateways: ReadonlyMap<string, GatewayState>,
  w: World,
  supportedFeatures: readonly string[],
  diags: Diagnostic[],
): Map<string, ListenerSetState> {
  const caps = tlsCapabilities(supportedFeatures);
  const byGateway = new Map<GatewayState, { o: KubeObject; spec: ListenerSetSpecIn }[]>();
  for (const o of objects) {
    if (o.kind !== "ListenerSet" || !o.apiVersion.startsWith(`${GATEWAY_GROUP}/`)) continue;
    const ns = o.metadata.namespace ?? "default";
    const p = parseWith(listenerSetSpec, o.spec);
    if (!p.ok) {
      diags.push({
        severity: "error",
        source: `ListenerSet/${ns}/${o.metadata.name}`,
        field: `spec.${p.errors[0].field}`,
        message: p.errors[0].message,
      });
      continue;
    }
    const ref = p.value.parentRef;
    if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? "Gateway") !== "Gateway") {
      continue;
    }
    const gw = gateways.get(`${ref.namespace ?? ns}/${ref.name}`);
    if (gw === undefined) continue; // not a Gateway of ours
    const list = byGateway.get(gw) ?? [];
    list.push({ o, spec: p.value });
    byGateway.set(gw, list);
  }
  const out = new Map<string, ListenerSetState>();
  for (const [gw, sets] of byGateway) {
    sets.sort((a, b) => byPrecedence(a.o, b.o));
    // Listeners that hold their port/hostname, in precedence order.
    const taken = gw.listeners.filter((l) => l.accepted.ok && !l.conflicted);
    const states: ListenerSetState[] = [];
    for (const { o, spec } of sets) {
      const namespace = o.metadata.namespace ?? "default";
      const name = o.metadata.name;
      const listeners = spec.listeners.map((l, i) =>
        validateListener(l, i, { namespace, kind: "ListenerSet" }, w, caps)
      );
      for (const l of listeners) {
        l.proxyName = objectNameOf(["ls", namespace, name, l.spec.name], 63);
        l.sameNamespace = namespace;
        // Its certificateRefs are the ListenerSet's (checked as such by validateListener).
        l.referrer = { kind: "ListenerSet", namespace };
      }
      let problem: Verdict | undefined;
      const attached = listenersAllowedFrom(gw, namespace, w);
      if (!attached) {
        problem = {
          ok: false,
          reason: "NotAllowed",
          message:
            `Gateway ${gw.namespace}/${gw.name} does not allow ListenerSets from namespace ${namespace} (spec.allowedListeners)`,
        };
      } else {
        // The Gateway's client-certificate validation covers every HTTPS listener
        // of the merged list (never served without the check the Gateway asks for).
        applyFrontendValidation(gw.spec, listeners, gw.namespace, w);
        // In precedence order (the Gateway's listeners, earlier ListenerSets, then
        // this one's in order), the later of two clashing listeners is refused.
        for (const l of listeners) {
          if (!l.accepted.ok) continue;
          const c = conflictWith(l, taken, caps);
          if (c) {
            l.conflicted = c;
            l.accepted = { ok: false, reason: c.reason, message: c.message };
            l.programmedReason = c.reason;
          } else taken.push(l);
        }
        for (const l of listeners) settleListener(l);
        if (gw.addressProblem || gw.programmedProblem) {
          const why = (gw.addressProblem ?? gw.programmedProblem)!;
          problem = {
            ok: false,
            reason: "ParentNotAccepted",
            message: `Gateway ${gw.namespace}/${gw.name} is not ${
              gw.addressProblem ? "accepted" : "programmed"
            }: ${why.message}`,
          };
          for (const l of listeners) {
            l.programmed = false;
            l.programmedMessage = problem.message;
          }
        } else if (!listeners.some((l) => l.programmed)) {
          problem = {
            ok: false,
            reason: "ListenersNotValid",
            message: "No listener is valid; see status.listeners",
          };
        }
      }
      const st: ListenerSetState = {
        obj: o,
        namespace,
        name,
        generation: o.metadata.generation ?? 0,
        spec,
        gateway: gw,
        problem,
        attached,
        accepted: problem === undefined,
        listeners,
      };
      states.push(st);
      out.set(`${namespace}/${name}`, st);
    }
    gw.listenerSets = states;
  }
  return out;
}

/** A ListenerSet's status (after routes have been attached). */
export function listenerSetStatus(ls: ListenerSetState): ObjectStatus {
  const gen = ls.generation;
  let conditions: Condition[];
  if (ls.problem) {
    conditions = [
      cond("Accepted", false, ls.problem.reason, ls.problem.message, gen),
      cond("Programmed", false, ls.problem.reason, ls.problem.message, gen),
    ];
  } else {
    const allValid = ls.listeners.every((l) => l.accepted.ok && l.resolvedRefs.ok);
    conditions = [
      allValid ? cond("Accepted", true, "Accepted", "ListenerSet is accepted", gen) : cond(
        "Accepted",
        true,
        "ListenersNotValid",
        "Some listeners are not valid; see status.listeners",
        gen,
      ),
      cond("Programmed", true, "Programmed", "ListenerSet is programmed", gen),
    ];
  }
  return {
    ref: {
      apiVersion: ls.obj.apiVersion,
      kind: "ListenerSet",
      namespace: ls.namespace,
      name: ls.name,
    },
    generation: gen,
    status: {
      observedGeneration: gen,
      conditions,
      ...(ls.attached ? { listeners: ls.listeners.map((l) => listenerStatus(l, gen)) } : {}),
    },
  };
}
