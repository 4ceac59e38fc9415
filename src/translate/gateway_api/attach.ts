/**
 * Route → Gateway attachment, per parentRef, with the spec's reasons:
 * NoMatchingParent (no listener with that sectionName / port),
 * NotAllowedByListeners (kind or namespace not allowed),
 * NoMatchingListenerHostname (no hostname intersection). Every listener a
 * route attaches to counts it in `attachedRoutes`, whatever the route's own
 * validity (as the spec requires).
 */
import { GATEWAY_GROUP } from "./api_types.ts";
import type { ParentRefIn, RouteKind } from "./api_types.ts";
import type { GatewayState, ListenerState, Verdict } from "./gateway.ts";
import { effectiveHostnames } from "./hostnames.ts";
import { labelsOfNamespace, matchesSelector } from "./world.ts";
import type { World } from "./world.ts";

/** A listener a route attached to, with the route's effective hostnames there. */
export interface Attachment {
  readonly gateway: GatewayState;
  readonly listener: ListenerState;
  /** undefined = any host. */
  readonly hostnames: readonly string[] | undefined;
}

export interface ParentResult {
  /** The parentRef echoed into status (group and kind defaulted). */
  readonly parentRef: Readonly<Record<string, unknown>>;
  readonly accepted: Verdict;
  readonly attachments: readonly Attachment[];
}

function routeAllowedFrom(l: ListenerState, gw: GatewayState, routeNs: string, w: World): boolean {
  const ns = l.spec.allowedRoutes?.namespaces;
  const from = ns?.from ?? "Same";
  if (from === "All") return true;
  if (from === "Same") return routeNs === (l.sameNamespace ?? gw.namespace);
  if (from === "Selector") {
    return ns?.selector !== undefined &&
      matchesSelector(ns.selector, labelsOfNamespace(w, routeNs));
  }
  return false; // "None" or unknown
}

/** A ListenerSet as routes see it: its Gateway and, when attached, its listeners. */
export interface ListenerSetParent {
  readonly gateway: GatewayState;
  readonly attached: boolean;
  readonly listeners: readonly ListenerState[];
}

/**
 * Attaches a route's parentRefs to our Gateways and ListenerSets. A Gateway
 * parentRef sees only the Gateway's own listeners, a ListenerSet parentRef only
 * the ListenerSet's. parentRefs that name nothing of ours are left out (another
 * controller owns their status).
 */
export function attachRoute(
  kind: RouteKind,
  routeNs: string,
  hostnames: readonly string[] | undefined,
  parentRefs: readonly ParentRefIn[],
  gateways: ReadonlyMap<string, GatewayState>,
  w: World,
  listenerSets: ReadonlyMap<string, ListenerSetParent> = new Map(),
): ParentResult[] {
  const out: ParentResult[] = [];
  const l4 = kind === "TCPRoute" || kind === "UDPRoute";
  const counted = new Set<ListenerState>();
  for (const ref of parentRefs) {
    const group = ref.group ?? GATEWAY_GROUP;
    const refKind = ref.kind ?? "Gateway";
    if (group !== GATEWAY_GROUP || (refKind !== "Gateway" && refKind !== "ListenerSet")) continue;
    const gwNs = ref.namespace ?? routeNs;
    let gw: GatewayState | undefined;
    let own: readonly ListenerState[];
    if (refKind === "Gateway") {
      gw = gateways.get(`${gwNs}/${ref.name}`);
      own = gw?.listeners ?? [];
    } else {
      const ls = listenerSets.get(`${gwNs}/${ref.name}`);
      gw = ls?.gateway;
      own = ls?.attached ? ls.listeners : [];
    }
    if (gw === undefined) continue;
    const echo: Record<string, unknown> = { group, kind: refKind };
    if (ref.namespace !== undefined) echo.namespace = ref.namespace;
    echo.name = ref.name;
    if (ref.sectionName !== undefined) echo.sectionName = ref.sectionName;
    if (ref.port !== undefined) echo.port = ref.port;
    const parentName = `${refKind} ${gwNs}/${ref.name}`;

    const candidates = own.filter((l) =>
      (ref.sectionName === undefined || l.spec.name === ref.sectionName) &&
      (ref.port === undefined || l.spec.port === ref.port)
    );
    if (!candidates.length) {
      const what = [
        ref.sectionName !== undefined ? `named ${JSON.stringify(ref.sectionName)}` : "",
        ref.port !== undefined ? `on port ${ref.port}` : "",
      ].filter(Boolean).join(" ");
      out.push({
        parentRef: echo,
        accepted: {
          ok: false,
          reason: "NoMatchingParent",
          message: `${parentName} has no ${
            refKind === "ListenerSet" && own.length === 0 ? "attached " : ""
          }listener ${what}`.trim(),
        },
        attachments: [],
      });
      continue;
    }
    const kindOk = candidates.filter((l) => l.supportedKinds.includes(kind));
    if (!kindOk.length) {
      out.push({
        parentRef: echo,
        accepted: {
          ok: false,
          reason: "NotAllowedByListeners",
          message: `no matching listener of ${parentName} allows ${kind}`,
        },
        attachments: [],
      });
      continue;
    }
    const nsOk = kindOk.filter((l) => routeAllowedFrom(l, gw, routeNs, w));
    if (!nsOk.length) {
      out.push({
        parentRef: echo,
        accepted: {
          ok: false,
          reason: "NotAllowedByListeners",
          message: `no matching listener of ${parentName} allows routes from namespace ${routeNs}`,
        },
        attachments: [],
      });
      continue;
    }
    const attachments: Attachment[] = [];
    for (const l of nsOk) {
      const eff = l4 ? undefined : effectiveHostnames(l.spec.hostname, hostnames);
      if (eff !== undefined && eff.length === 0) continue;
      attachments.push({ gateway: gw, listener: l, hostnames: eff });
    }
    if (!attachments.length) {
      out.push({
        parentRef: echo,
        accepted: {
          ok: false,
          reason: "NoMatchingListenerHostname",
          message: `no hostname of the route intersects a listener hostname of ${parentName}`,
        },
        attachments: [],
      });
      continue;
    }
    for (const a of attachments) {
      if (counted.has(a.listener)) continue;
      counted.add(a.listener);
      a.listener.attachedRoutes++;
    }
    out.push({
      parentRef: echo,
      accepted: { ok: true, reason: "Accepted", message: "Route is accepted" },
      attachments,
    });
  }
  return out;
}
