/**
 * `novaedge controller`: wiring only. Informers feed the store; the reconciler
 * runs the pure pipeline and publishes per-node snapshots to the gRPC server;
 * the leader (Lease) writes statuses; the admin server reports health,
 * readiness, metrics and the agents' versions.
 */
import {
  boolFlag,
  numberFlag,
  parseRole,
  type RoleSpec,
  stringFlag,
  UsageError,
} from "../cli/flags.ts";
import { waitForSignal } from "../cli/signals.ts";
import { isLogLevel, logger, setLogLevel } from "../observe/log.ts";
import { registry as metricsRegistry } from "../observe/metrics.ts";
import { startAdminServer } from "../observe/admin.ts";
import { encodeSnapshot } from "../snapshot/codec.ts";
import { isNovaEdgeKind } from "../crds/mod.ts";
import { KubeClient, loadKubeConfig } from "../source/kube_client.ts";
import { KubeSource } from "../source/kube.ts";
import { AgentRegistry } from "../controller/agents.ts";
import { tokenReviewAuthenticator } from "../controller/auth_tokenreview.ts";
import {
  controllerSans,
  ensureCa,
  expiresWithin,
  issueServingCert,
} from "../controller/ca_secret.ts";
import { startGrpcServer } from "../controller/grpc_server.ts";
import { LeaderElector } from "../controller/leader.ts";
import { watchRestarts } from "../controller/metrics.ts";
import { Reconciler } from "../controller/reconciler.ts";
import { SnapshotHub } from "../controller/snapshot_hub.ts";
import { StatusWriter } from "../controller/status_writer.ts";
import { generatedByValue, GeneratedWriter } from "../controller/generated_writer.ts";
import { GATEWAY_CONTROLLER_NAME, GENERATED_CORE_KINDS } from "../translate/gateway_api/mod.ts";
import type { GatewayApiOptions } from "../translate/mod.ts";

export const spec: RoleSpec = {
  name: "controller",
  summary: "Watch Kubernetes, build snapshots with the same pure pipeline as --config-dir,\n" +
    "write statuses (leader only) and push each node's snapshot to its agent over gRPC/TLS.",
  flags: [
    {
      name: "kubeconfig",
      kind: "string",
      help: "kubeconfig path (default: KUBECONFIG, ~/.kube/config, in-cluster)",
    },
    {
      name: "namespace",
      kind: "string",
      help:
        "namespace of the CA Secret, the leader Lease and the agents' ServiceAccount (default: POD_NAMESPACE or novaedge-system)",
    },
    { name: "listen", kind: "string", help: "agent gRPC (TLS) address", default: "0.0.0.0:9443" },
    {
      name: "admin-address",
      kind: "string",
      help: "admin server (/healthz /readyz /metrics /debug/*)",
      default: "0.0.0.0:9902",
    },
    {
      name: "id",
      kind: "string",
      help: "this replica's identity (default: POD_NAME or the hostname)",
    },
    {
      name: "service-name",
      kind: "string",
      help: "the controller's Service (for certificate names)",
      default: "novaedge-controller",
    },
    {
      name: "tls-san",
      kind: "string",
      repeat: true,
      help: "extra DNS name or IP for the serving certificate",
    },
    {
      name: "agent-service-account",
      kind: "string",
      repeat: true,
      help:
        "ServiceAccount allowed to receive snapshots, as ns/name (default: <namespace>/novaedge-agent)",
    },
    {
      name: "agent-token-audience",
      kind: "string",
      help: "audience agent tokens must carry",
      default: "novaedge-controller",
    },
    {
      name: "leader-elect",
      kind: "boolean",
      help: "elect a leader on a Lease (only the leader writes statuses)",
      default: true,
    },
    {
      name: "lease-name",
      kind: "string",
      help: "leader election Lease name",
      default: "novaedge-controller",
    },
    {
      name: "debounce-ms",
      kind: "number",
      help: "quiet time after a change before a build",
      default: 50,
    },
    {
      name: "gateway-controller-name",
      kind: "string",
      help: "GatewayClass controllerName served (default novaedge.io/gateway-controller)",
    },
    {
      name: "ingress-controller-name",
      kind: "string",
      help: "IngressClass spec.controller served (default novaedge.io/ingress-controller)",
    },
    {
      name: "gateway-address",
      kind: "string",
      repeat: true,
      help: "where clients reach a Gateway, as ns/name=ADDR or *=ADDR (Gateway status.addresses)",
    },
    {
      name: "gateway-address-pool",
      kind: "string",
      repeat: true,
      help: "IPs (a.b.c.d or a range a.b.c.d-e) given one per Gateway that has no address",
    },
    {
      name: "gateway-usable-address",
      kind: "string",
      repeat: true,
      help:
        "IPs (a.b.c.d or a range) agents can serve besides the pool; a Gateway asking for any other is AddressNotUsable",
    },
    {
      name: "gateway-supported-feature",
      kind: "string",
      repeat: true,
      help:
        "GatewayClass status.supportedFeatures entry (default: every feature whose conformance tests pass)",
    },
    {
      name: "bind-gateway-addresses",
      kind: "boolean",
      help:
        "bind each Gateway's listeners to its own IP (Gateways sharing a port on different IPs)",
      default: false,
    },
    { name: "log-level", kind: "string", help: "debug | info | warn | error", default: "info" },
  ],
  epilog: "examples:\n" +
    "  novaedge controller                       # in a pod: in-cluster config\n" +
    "  novaedge controller --kubeconfig ~/.kube/config --namespace novaedge-system --listen 127.0.0.1:9443",
};

const log = logger("controller");

/** Expand "a.b.c.d", "a.b.c.d-e" or "a.b.c.d-a.b.c.e" (last octet range) into IPs. */
export function expandAddressRange(s: string): string[] {
  // "a.b.c.d-a.b.c.e" (same /24) is read as "a.b.c.d-e".
  const full = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})-(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})$/
    .exec(s.trim());
  if (full && full[1] === full[3]) s = `${full[1]}${full[2]}-${full[4]}`;
  const m = /^(\d{1,3}\.\d{1,3}\.\d{1,3}\.)(\d{1,3})(?:-(\d{1,3}))?$/.exec(s.trim());
  if (!m) {
    if (s.includes("-")) throw new UsageError(`--gateway-address-pool: bad range "${s}"`);
    return [s.trim()];
  }
  const from = Number(m[2]), to = m[3] === undefined ? from : Number(m[3]);
  if (from > 255 || to > 255 || to < from) {
    throw new UsageError(`--gateway-address-pool: bad range "${s}"`);
  }
  return Array.from({ length: to - from + 1 }, (_, i) => `${m[1]}${from + i}`);
}

/** Gateway API translator options from the controller's flags. */
export function gatewayApiOptions(flags: Record<string, unknown>): GatewayApiOptions {
  const addresses: Record<string, string[]> = {};
  for (const a of (flags["gateway-address"] as string[] | undefined) ?? []) {
    const i = a.indexOf("=");
    if (i <= 0) throw new UsageError(`--gateway-address takes ns/name=ADDR or *=ADDR, not "${a}"`);
    (addresses[a.slice(0, i)] ??= []).push(a.slice(i + 1));
  }
  const pool = ((flags["gateway-address-pool"] as string[] | undefined) ?? []).flatMap((p) =>
    p.split(",").filter(Boolean).flatMap(expandAddressRange)
  );
  const usable = ((flags["gateway-usable-address"] as string[] | undefined) ?? []).flatMap((p) =>
    p.split(",").filter(Boolean).flatMap(expandAddressRange)
  );
  const name = flags["gateway-controller-name"];
  const features = ((flags["gateway-supported-feature"] as string[] | undefined) ?? []).flatMap((
    f,
  ) => f.split(",").filter(Boolean));
  return {
    ...(features.length ? { supportedFeatures: features } : {}),
    ...(typeof name === "string" ? { controllerName: name } : {}),
    ...(Object.keys(addresses).length ? { gatewayAddresses: addresses } : {}),
    ...(pool.length ? { gatewayAddressPool: pool } : {}),
    ...(usable.length ? { usableGatewayAddresses: usable } : {}),
    ...(flags["bind-gateway-addresses"] === true ? { bindGatewayAddresses: true } : {}),
  };
}

export async function main(args: string[]): Promise<number> {
  const flags = parseRole(args, spec);
  if (!flags) return 0;
  const level = stringFlag(flags, "log-level") ?? "info";
  if (!isLogLevel(level)) {
    throw new UsageError(`--log-level must be debug, info, warn or error, not "${level}"`);
  }
  setLogLevel(level);
  const namespace = stringFlag(flags, "namespace") ?? Deno.env.get("POD_NAMESPACE") ??
    "novaedge-system";
  const id = stringFlag(flags, "id") ?? Deno.env.get("POD_NAME") ?? Deno.hostname();
  const listen = stringFlag(flags, "listen") ?? "0.0.0.0:9443";
  const sas = (flags["agent-service-account"] as string[] | undefined) ?? [
    `${namespace}/novaedge-agent`,
  ];
  const allowedUsers = sas.map((s) => {
    const [ns, name] = s.split("/");
    if (!ns || !name) throw new UsageError(`--agent-service-account takes ns/name, not "${s}"`);
    return `system:serviceaccount:${ns}:${name}`;
  });

  const client = new KubeClient(loadKubeConfig(stringFlag(flags, "kubeconfig")));
  log.info("starting", { id, namespace, apiServer: client.server, listen });

  // TLS for the agent channel: CA from its Secret (created by the first replica).
  // The API server may be down while we start (or restart): retry, saying why.
  let ca: Awaited<ReturnType<typeof ensureCa>> | undefined;
  for (let attempt = 1; !ca; attempt++) {
    try {
      ca = await ensureCa(client, namespace);
    } catch (err) {
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn("cannot load or create the agent-channel CA yet; retrying", {
        error: (err as Error).message,
        attempt,
        retryInMs: delay,
      });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  const podIp = Deno.env.get("POD_IP");
  const sans = controllerSans(
    namespace,
    stringFlag(flags, "service-name") ?? "novaedge-controller",
    [
      ...((flags["tls-san"] as string[] | undefined) ?? []),
      ...(podIp ? [podIp] : []),
    ],
  );
  let serving = await issueServingCert(ca, sans);

  const registry = new AgentRegistry(id);
  const hub = new SnapshotHub(encodeSnapshot);
  let source: KubeSource | undefined = undefined;
  let leader: LeaderElector | undefined = undefined;
  const leaderElect = boolFlag(flags, "leader-elect");
  const isLeader = () => !leaderElect || (leader?.isLeader ?? false);

  const writer = new StatusWriter({
    client,
    live: (kind, ns, name) => source?.get(kind, ns, name),
    // Only kinds whose status we own fully or merge safely (Ingress: of our classes only,
    // status.loadBalancer only).
    resourceOf: (kind) =>
      isNovaEdgeKind(kind) || kind.endsWith("Route") || kind === "Gateway" ||
        kind === "GatewayClass" || kind === "BackendTLSPolicy" || kind === "ListenerSet" ||
        kind === "Ingress"
        ? source?.specOf(kind)
        : undefined,
  });
  const gatewayApi = gatewayApiOptions(flags);
  const generatedWriter = new GeneratedWriter({
    client,
    generatedBy: generatedByValue(gatewayApi.controllerName ?? GATEWAY_CONTROLLER_NAME),
    live: () => source?.objects() ?? [],
    // NovaEdge kinds, and the Service + EndpointSlice generated for each Gateway.
    resourceOf: (kind) =>
      isNovaEdgeKind(kind) || Object.hasOwn(GENERATED_CORE_KINDS, kind)
        ? source?.specOf(kind)
        : undefined,
  });
  const reconciler = new Reconciler({
    objects: () => source?.objects() ?? [],
    hub,
    registry,
    isLeader,
    writeStatuses: (s) => writer.sync(s),
    observeStatuses: (s) => writer.observe(s),
    writeGenerated: (g) => generatedWriter.sync(g),
    pipeline: {
      gatewayApi,
      ingress: { controllerName: stringFlag(flags, "ingress-controller-name") },
    },
    debounceMs: numberFlag(flags, "debounce-ms") ?? 50,
  });
  source = new KubeSource({
    client,
    onChange: () => reconciler.trigger(),
    onRestart: (resource) => watchRestarts.inc({ resource }),
  });

  const grpc = await startGrpcServer({
    address: listen,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    authenticate: tokenReviewAuthenticator({
      client,
      allowedUsers,
      audience: stringFlag(flags, "agent-token-audience") ?? "novaedge-controller",
    }),
    hub,
    registry,
    controllerId: id,
  });
  // Re-issue the serving certificate well before it expires.
  const rotate = setInterval(async () => {
    if (!expiresWithin(serving.certPem, 30 * 86400_000)) return;
    try {
      serving = await issueServingCert(ca, sans);
      grpc.rotateCertificate(serving.certPem, serving.keyPem);
      log.info("rotated the serving certificate");
    } catch (err) {
      log.error("certificate rotation failed", { error: (err as Error).message });
    }
  }, 6 * 3600_000);

  const admin = await startAdminServer({
    address: stringFlag(flags, "admin-address") ?? "0.0.0.0:9902",
    registry: metricsRegistry,
    ready: () =>
      source?.synced
        ? { ready: true, reason: "" }
        : { ready: false, reason: "informers not synced yet" },
    debug: {
      "/debug/agents": () => registry.list(),
      "/debug/status": () => ({
        id,
        leader: isLeader(),
        informers: source?.status(),
        reconcile: reconciler.state
          ? { ...reconciler.state, statuses: reconciler.state.statuses.length }
          : null,
      }),
      "/debug/diagnostics": () => reconciler.state?.diagnostics,
    },
  });

  if (leaderElect) {
    leader = new LeaderElector({
      client,
      namespace,
      name: stringFlag(flags, "lease-name") ?? "novaedge-controller",
      identity: id,
      onStartedLeading: () => void reconciler.resyncStatuses(),
      onStoppedLeading: () => generatedWriter.reset(),
    });
    leader.start();
  }

  await source.start();
  log.info("informers synced; serving snapshots", { objects: source.objects().length });

  await waitForSignal();
  log.info("stopping");
  clearInterval(rotate);
  reconciler.stop();
  await leader?.stop();
  await grpc.close();
  await source.stop();
  await admin.close();
  log.info("stopped");
  return 0;
}
