/**
 * ProxyGateway → snapshot Listeners. Resolves TLS certificateRefs to Secrets,
 * detects port conflicts across every gateway (first by Gateway API precedence
 * wins) and reports per-listener and per-gateway conditions.
 */
import type { Typed } from "../crds/mod.ts";
import type { ListenerSpec } from "../crds/proxy_gateway.ts";
import { durationMs } from "../crds/common.ts";
import type { BuildContext, StatusBuilder } from "./build_context.ts";
import { condition } from "./build_context.ts";
import type { Listener, ListenerProtocol } from "./types.ts";
import { caBundle, tlsSecretEntry } from "./tls_secrets.ts";
import type { Condition } from "../store/types.ts";

/** A listener that made it into the snapshot, with what routes need to attach. */
export interface AcceptedListener {
  readonly gateway: Typed<"ProxyGateway">;
  readonly index: number;
  readonly spec: ListenerSpec;
  readonly name: string;
  /** Routes attached so far (filled by the route builder, reported in status). */
  attachedRoutes: number;
}

/** Result per gateway: its accepted listeners, by listener name. */
export type GatewayListeners = Map<string, Map<string, AcceptedListener>>;

const UNSPECIFIED = new Set(["0.0.0.0", "::", ""]);

function transport(p: ListenerProtocol): "tcp" | "udp" {
  return p === "UDP" ? "udp" : "tcp";
}

/** Listeners that may share a port: HTTP with HTTP, HTTPS/TLS with each other (by SNI). */
function family(p: ListenerProtocol): string {
  return p === "HTTPS" || p === "TLS" ? "tls" : p.toLowerCase();
}

interface Placed {
  readonly spec: ListenerSpec;
  readonly name: string;
  /** "<namespace>/<name>" of its gateway. */
  readonly gateway: string;
}

/**
 * Why `l` (of gateway `gw`) cannot share its port with `other`, or undefined
 * when both can coexist. Listeners of different gateways on one address and
 * port are merged into one socket by the data plane (routing by hostname, as
 * Gateway API conformance expects of Gateways sharing port 80): plain HTTP
 * listeners always merge, even with the same hostname (their routes are then
 * ordered by route precedence); TLS listeners need distinct hostnames, since
 * SNI picks the certificate. Within one gateway, a hostname is claimed once.
 */
function conflict(l: ListenerSpec, gw: string, other: Placed): [string, string] | undefined {
  const a = l.address || "0.0.0.0", b = other.spec.address || "0.0.0.0";
  if (a !== b && !UNSPECIFIED.has(a) && !UNSPECIFIED.has(b)) return undefined;
  if (transport(l.protocol) !== transport(other.spec.protocol)) return undefined;
  // A wildcard and a specific address (or two wildcards of different families)
  // on one port cannot both be bound: they are never merged into one socket.
  if (a !== b) {
    return [
      "PortUnavailable",
      `port ${l.port} on ${a} overlaps listener ${other.name} on ${b}`,
    ];
  }
  if (family(l.protocol) !== family(other.spec.protocol)) {
    return [
      "ProtocolConflict",
      `protocol ${l.protocol} conflicts with ${other.spec.protocol} listener ${other.name} on port ${l.port}`,
    ];
  }
  const merges = gw !== other.gateway && l.protocol === "HTTP" && other.spec.protocol === "HTTP";
  if (!merges && (l.hostname ?? "") === (other.spec.hostname ?? "")) {
    return [
      "HostnameConflict",
      `port ${l.port} hostname ${
        JSON.stringify(l.hostname ?? "*")
      } is already used by listener ${other.name}`,
    ];
  }
  return undefined;
}

/** A client CA bundle's PEM, or [reason, message] when the reference is unusable. */
function clientCa(
  ctx: BuildContext,
  gw: Typed<"ProxyGateway">,
  ref: { group?: string; kind?: "Secret" | "ConfigMap"; name: string; namespace?: string },
): string | [string, string] {
  const ns = ref.namespace ?? gw.namespace;
  const kind = ref.kind ?? "Secret";
  if (ref.group) {
    return ["InvalidCACertificateKind", `${ref.group}/${kind}: only core ConfigMaps and Secrets`];
  }
  if (!ctx.refPermittedFrom(gw.source, "", kind, ns, ref.name)) {
    return [
      "RefNotPermitted",
      `${kind} ${ns}/${ref.name} is in another namespace and no ReferenceGrant allows it`,
    ];
  }
  const ca = caBundle(ctx.index, kind, ns, ref.name);
  return ca.error === undefined ? ca.pem : ["InvalidCACertificateRef", ca.error];
}

/** Builds listeners for every valid gateway (sorted by precedence). */
export function buildGateways(
  ctx: BuildContext,
  gateways: readonly Typed<"ProxyGateway">[],
): { listeners: Listener[]; byGateway: GatewayListeners; finish: () => void } {
  const listeners: Listener[] = [];
  const byGateway: GatewayListeners = new Map();
  const placed = new Map<number, Placed[]>();
  const listenerConds = new Map<StatusBuilder, Map<string, Condition[]>>();

  for (const gw of gateways) {
    const st = ctx.status(gw.source);
    const gwKey = `${gw.namespace}/${gw.name}`;
    const accepted = new Map<string, AcceptedListener>();
    const lconds = new Map<string, Condition[]>();
    listenerConds.set(st, lconds);
    let bad = 0;
    gw.spec.listeners.forEach((l, i) => {
      const field = `spec.listeners[${i}]`;
      const name = `${gwKey}/${l.name}`;
      const conds: Condition[] = [];
      lconds.set(l.name, conds);
      const g = gw.generation;
      // 1. Port conflicts.
      const onPort = placed.get(l.port) ?? [];
      let clash: [string, string] | undefined;
      for (const other of onPort) if ((clash = conflict(l, gwKey, other))) break;
      if (clash) {
        const f = clash[0] === "ProtocolConflict"
          ? `${field}.protocol`
          : clash[0] === "PortUnavailable"
          ? `${field}.address`
          : `${field}.hostname`;
        ctx.error(gw.source, f, `listener ${l.name}: ${clash[1]}`);
        conds.push(condition("Accepted", false, clash[0], `${f}: ${clash[1]}`, g));
        conds.push(
          clash[0] === "PortUnavailable"
            ? condition("Conflicted", false, "NoConflicts", "no conflicts", g)
            : condition("Conflicted", true, clash[0], `${f}: ${clash[1]}`, g),
        );
        conds.push(
          condition(
            "Programmed",
            false,
            "Invalid",
            clash[0] === "PortUnavailable" ? "port unavailable" : "listener is conflicted",
            g,
          ),
        );
        bad++;
        return;
      }
      // 2. TLS certificates.
      const certs: string[] = [];
      let refErr: [string, string, string] | undefined;
      (l.tls?.certificateRefs ?? []).forEach((ref, j) => {
        const ns = ref.namespace ?? gw.namespace;
        const rf = `${field}.tls.certificateRefs[${j}]`;
        if (!ctx.refPermittedForListener(gw.source, l.name, "", "Secret", ns, ref.name)) {
          refErr ??= [
            "RefNotPermitted",
            rf,
            `Secret ${ns}/${ref.name} is in another namespace and no ReferenceGrant allows it`,
          ];
          return;
        }
        const secret = ctx.index.get("Secret", `${ns}/${ref.name}`);
        if (!secret) {
          refErr ??= ["InvalidCertificateRef", rf, `Secret ${ns}/${ref.name} not found`];
          return;
        }
        const key = `${ns}/${ref.name}`;
        const entry = ctx.secrets.get(key) ?? tlsSecretEntry(key, secret);
        if (typeof entry === "string") {
          refErr ??= ["InvalidCertificateRef", rf, `Secret ${key}: ${entry}`];
          return;
        }
        ctx.secrets.set(key, entry);
        certs.push(key);
      });
      // 3. Client-certificate validation: CA bundles (an unusable one is left out).
      const cv = l.tls?.clientValidation;
      const caPems: string[] = [];
      (cv?.caCertificateRefs ?? []).forEach((ref, j) => {
        const rf = `${field}.tls.clientValidation.caCertificateRefs[${j}]`;
        const r = clientCa(ctx, gw, ref);
        if (typeof r === "string") caPems.push(r);
        else refErr ??= [r[0], rf, r[1]];
      });
      if (refErr) {
        ctx.error(gw.source, refErr[1], `listener ${l.name}: ${refErr[2]}`);
        conds.push(condition("ResolvedRefs", false, refErr[0], `${refErr[1]}: ${refErr[2]}`, g));
      } else {
        conds.push(condition("ResolvedRefs", true, "ResolvedRefs", "all references resolved", g));
      }
      if (cv && caPems.length === 0) {
        // Never serve without the client check that was asked for.
        conds.unshift(
          condition(
            "Accepted",
            false,
            "NoValidCACertificate",
            `${field}.tls.clientValidation: no usable CA certificate`,
            g,
          ),
        );
        conds.push(
          condition("Programmed", false, "Invalid", "listener has no usable client CA", g),
        );
        bad++;
        return;
      }
      const terminates = l.tls?.mode === "Terminate";
      if (terminates && certs.length === 0) {
        conds.unshift(
          condition(
            "Accepted",
            false,
            "InvalidCertificateRef",
            `${field}: no usable certificate`,
            g,
          ),
        );
        conds.push(
          condition("Programmed", false, "Invalid", "listener has no usable certificate", g),
        );
        bad++;
        return;
      }
      conds.unshift(condition("Accepted", true, "Accepted", "listener accepted", g));
      conds.push(condition("Conflicted", false, "NoConflicts", "no conflicts", g));
      conds.push(condition("Programmed", true, "Programmed", "listener is in the snapshot", g));
      onPort.push({ spec: l, name, gateway: gwKey });
      placed.set(l.port, onPort);
      const lim = l.limits;
      listeners.push({
        name,
        gateway: gwKey,
        address: l.address ?? "0.0.0.0",
        port: l.port,
        protocol: l.protocol,
        hostnames: l.hostname ? [l.hostname] : [],
        ...(l.tls
          ? {
            tls: {
              mode: l.tls.mode,
              certificates: certs,
              minVersion: l.tls.minVersion ?? "",
              alpn: [...(l.tls.alpn ?? [])],
              ...(cv ? { clientValidation: { caPem: caPems.join("\n"), mode: cv.mode } } : {}),
            },
          }
          : {}),
        ...(lim
          ? {
            limits: {
              maxHeaderBytes: lim.maxHeaderBytes ?? 0,
              maxHeaders: lim.maxHeaders ?? 0,
              maxBodyBytes: lim.maxBodyBytes ?? 0,
              headerTimeoutMs: durationMs(lim.headerTimeout),
              idleTimeoutMs: durationMs(lim.idleTimeout),
              maxConcurrentStreams: lim.maxConcurrentStreams ?? 0,
            },
          }
          : {}),
      });
      accepted.set(l.name, { gateway: gw, index: i, spec: l, name, attachedRoutes: 0 });
    });
    byGateway.set(gwKey, accepted);
    const total = gw.spec.listeners.length;
    if (accepted.size === 0) {
      st.set("Accepted", false, "ListenersNotValid", "no listener is valid");
      st.set("Programmed", false, "Invalid", "no listener is in the snapshot");
    } else {
      st.set(
        "Accepted",
        true,
        bad ? "ListenersNotValid" : "Accepted",
        bad ? `${bad} of ${total} listeners are not valid` : "gateway accepted",
      );
      st.set("Programmed", true, "Programmed", `${accepted.size} listener(s) in the snapshot`);
    }
  }

  // Listener statuses need attachedRoutes: `finish` writes them after routes attached.
  const finish = () => {
    for (const gw of gateways) {
      const st = ctx.status(gw.source);
      const lconds = listenerConds.get(st)!;
      const acc = byGateway.get(`${gw.namespace}/${gw.name}`)!;
      // The first listener with unresolved references names the reason.
      let unresolved: { listener: string; c: Condition } | undefined;
      for (const l of gw.spec.listeners) {
        const c = lconds.get(l.name)?.find((c) =>
          c.type === "ResolvedRefs" && c.status === "False"
        );
        if (c) {
          unresolved = { listener: l.name, c };
          break;
        }
      }
      if (!unresolved) st.set("ResolvedRefs", true, "ResolvedRefs", "all references resolved");
      else {
        st.set(
          "ResolvedRefs",
          false,
          unresolved.c.reason,
          `listener ${unresolved.listener}: ${unresolved.c.message}`,
        );
      }
      st.extra.listeners = gw.spec.listeners.map((l) => ({
        name: l.name,
        attachedRoutes: acc.get(l.name)?.attachedRoutes ?? 0,
        conditions: lconds.get(l.name) ?? [],
      }));
    }
  };
  return { listeners, byGateway, finish };
}
