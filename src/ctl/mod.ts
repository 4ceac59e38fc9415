/**
 * `novaedge ctl` (also built as `novactl`): read-only views of what NovaEdge
 * did with the cluster's Gateway API objects, like `kubectl get` / `describe`
 * for our kinds, plus the latest conformance report. Exit codes: 0 done,
 * 1 a problem the user can fix (printed as one line), 2 usage.
 */
import { type FlagSpec, formatFlags, parseFlags, stringFlag, UsageError } from "../cli/flags.ts";
import type { KubeClient } from "../source/kube_client.ts";
import { conformanceView, DEFAULT_REPORT, readReport, renderConformance } from "./conformance.ts";
import { describeGateway, renderGatewayDescription } from "./describe_gateway.ts";
import { type ApiObject, gatewayClassTable, gatewayTable, httpRouteTable } from "./gateway_api.ts";
import {
  connect,
  contextNamespace,
  CtlError,
  getOne,
  listAll,
  listIfServed,
  type Resource,
} from "./kube.ts";
import {
  isOutputFormat,
  type OutputFormat,
  renderData,
  renderTable,
  type Table,
} from "./output.ts";

const FLAGS: readonly FlagSpec[] = [
  {
    name: "kubeconfig",
    kind: "string",
    help: "kubeconfig path (default: KUBECONFIG, ~/.kube/config)",
  },
  { name: "context", kind: "string", help: "kubeconfig context (default: its current-context)" },
  {
    name: "namespace",
    kind: "string",
    help: "-n: namespace (default: the context's, else default)",
  },
  { name: "all-namespaces", kind: "boolean", help: "-A: every namespace" },
  { name: "output", kind: "string", help: "-o: table | json | yaml", default: "table" },
  {
    name: "report",
    kind: "string",
    help: `conformance report to read (conformance only; default ${DEFAULT_REPORT})`,
  },
];

export const USAGE = [
  "usage: novaedge ctl <command> [flags]     (also built as `novactl <command>`)",
  "",
  "Read-only views of NovaEdge's Gateway API objects and conformance results.",
  "",
  "commands:",
  "  gateway-api gatewayclasses          GatewayClasses: controller, Accepted, supported features",
  "  gateway-api gateways                Gateways: class, addresses, Programmed",
  "  gateway-api httproutes              HTTPRoutes: hostnames, parents, Accepted / ResolvedRefs per parent",
  "  gateway-api describe-gateway NAME   one Gateway: listeners, addresses, attached routes,",
  "                                      generated ProxyGateway/ProxyRoutes, problems",
  "  conformance                         per-profile results of the latest conformance report",
  "",
  "flags:",
  formatFlags(FLAGS),
  "",
  "examples:",
  "  novaedge ctl gateway-api gateways -A",
  "  novaedge ctl gateway-api describe-gateway web -n shop",
  "  novactl gateway-api httproutes -n shop -o yaml",
  "  novactl conformance --report tests/conformance/report.yaml",
].join("\n");

/** kubectl-style short flags (`-n ns`, `-nns`, `-A`, `-o yaml`, `-oyaml`) as long ones. */
export function expandShortFlags(args: readonly string[]): string[] {
  const long: Record<string, string> = { n: "namespace", o: "output" };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (a === "-A") out.push("--all-namespaces");
    else if (/^-[no]$/.test(a)) {
      out.push(`--${long[a[1]]}`);
      if (i + 1 < args.length) out.push(args[++i]);
    } else if (/^-[no].+/.test(a)) out.push(`--${long[a[1]]}=${a.slice(2).replace(/^=/, "")}`);
    else out.push(a);
  }
  return out;
}

const GATEWAY_API = "gateway.networking.k8s.io";
const RES = {
  gatewayclasses: {
    group: GATEWAY_API,
    version: "v1",
    plural: "gatewayclasses",
    kind: "GatewayClass",
    clusterScoped: true,
  },
  gateways: { group: GATEWAY_API, version: "v1", plural: "gateways", kind: "Gateway" },
  httproutes: { group: GATEWAY_API, version: "v1", plural: "httproutes", kind: "HTTPRoute" },
} satisfies Record<string, Resource>;
/** Every route kind that can attach to a Gateway (describe-gateway lists them all). */
const ROUTE_KINDS: readonly Resource[] = [
  RES.httproutes,
  { group: GATEWAY_API, version: "v1", plural: "grpcroutes", kind: "GRPCRoute" },
  { group: GATEWAY_API, version: "v1alpha2", plural: "tlsroutes", kind: "TLSRoute" },
  { group: GATEWAY_API, version: "v1alpha2", plural: "tcproutes", kind: "TCPRoute" },
  { group: GATEWAY_API, version: "v1alpha2", plural: "udproutes", kind: "UDPRoute" },
];
const GENERATED_KINDS: readonly Resource[] = [
  { group: "novaedge.io", version: "v1alpha1", plural: "proxygateways", kind: "ProxyGateway" },
  { group: "novaedge.io", version: "v1alpha1", plural: "proxyroutes", kind: "ProxyRoute" },
];
const OWNER_LABEL = "novaedge.io/gateway-api-owner";

interface Options {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly namespace?: string;
  readonly allNamespaces: boolean;
  readonly output: OutputFormat;
  readonly report?: string;
}

/** Where output goes (tests capture it). */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => Date;
}

const defaultIo: Io = {
  out: (t) => console.log(t),
  err: (t) => console.error(t),
  now: () => new Date(),
};

function parseOptions(args: readonly string[]): { opts: Options; words: string[]; help: boolean } {
  let p;
  try {
    p = parseFlags(expandShortFlags(args), FLAGS);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message, USAGE);
    throw err;
  }
  const output = stringFlag(p.flags, "output") ?? "table";
  if (!isOutputFormat(output)) {
    throw new UsageError(`-o/--output takes table, json or yaml, not "${output}"`, USAGE);
  }
  const opts: Options = {
    kubeconfig: stringFlag(p.flags, "kubeconfig"),
    context: stringFlag(p.flags, "context"),
    namespace: stringFlag(p.flags, "namespace"),
    allNamespaces: p.flags["all-namespaces"] === true,
    output,
    report: stringFlag(p.flags, "report"),
  };
  if (opts.namespace !== undefined && opts.allNamespaces) {
    throw new UsageError("-n/--namespace and -A/--all-namespaces cannot be used together", USAGE);
  }
  return { opts, words: p.positionals, help: p.help };
}

/** kubectl's shape for several objects in JSON / YAML. */
const asList = (items: readonly unknown[]) => ({ apiVersion: "v1", kind: "List", items });

async function getTable(
  io: Io,
  opts: Options,
  client: KubeClient,
  r: Resource,
  table: (items: ApiObject[], now: Date, allNamespaces: boolean) => Table,
  clusterScoped = false,
): Promise<number> {
  const ns = clusterScoped || opts.allNamespaces
    ? undefined
    : opts.namespace ?? contextNamespace(client);
  const items = await listAll(client, r, ns) as ApiObject[];
  if (opts.output !== "table") {
    io.out(renderData(asList(items), opts.output).trimEnd());
    return 0;
  }
  if (items.length === 0) {
    io.err(ns ? `No resources found in ${ns} namespace.` : "No resources found");
    return 0;
  }
  io.out(renderTable(table(items, io.now(), !clusterScoped && opts.allNamespaces)));
  return 0;
}

async function describe(io: Io, opts: Options, client: KubeClient, name: string): Promise<number> {
  if (opts.allNamespaces) {
    throw new UsageError("describe-gateway takes one namespace (-n), not -A", USAGE);
  }
  const ns = opts.namespace ?? contextNamespace(client);
  const gateway = await getOne(
    client,
    RES.gateways,
    ns,
    name,
    `novaedge ctl gateway-api gateways -n ${ns}`,
  ) as ApiObject;
  // Routes may live in any namespace (allowedRoutes); kinds the cluster lacks are skipped.
  const routes = (await Promise.all(ROUTE_KINDS.map((k) => listIfServed(client, k, undefined))))
    .flat() as ApiObject[];
  const generated = (await Promise.all(
    GENERATED_KINDS.map((k) => listIfServed(client, k, undefined, OWNER_LABEL)),
  )).flat() as ApiObject[];
  const d = describeGateway({ gateway, routes, generated });
  io.out(
    opts.output === "table"
      ? renderGatewayDescription(d, io.now())
      : renderData(d, opts.output).trimEnd(),
  );
  return 0;
}

async function conformance(io: Io, opts: Options): Promise<number> {
  const path = opts.report ?? DEFAULT_REPORT;
  const view = conformanceView(await readReport(path));
  io.out(
    opts.output === "table" ? renderConformance(view) : renderData(view, opts.output).trimEnd(),
  );
  return 0;
}

const GATEWAY_API_COMMANDS = ["gatewayclasses", "gateways", "httproutes", "describe-gateway"];

/** Run `novaedge ctl <args>`; UsageError for usage problems (the caller exits 2). */
export async function runCtl(args: readonly string[], io: Io = defaultIo): Promise<number> {
  const { opts, words, help } = parseOptions(args);
  if (help || words.length === 0) {
    if (words.length === 0 && !help) throw new UsageError("no command given", USAGE);
    io.out(USAGE);
    return 0;
  }
  const usage = (msg: string) => new UsageError(msg, USAGE);
  const [group, cmd, ...rest] = words;
  if (group === "conformance") {
    if (words.length > 1) throw usage(`conformance takes no arguments, got "${words[1]}"`);
    return await conformance(io, opts);
  }
  if (group !== "gateway-api") throw usage(`unknown command "${group}"`);
  if (cmd === undefined) {
    throw usage(`gateway-api needs a command: ${GATEWAY_API_COMMANDS.join(", ")}`);
  }
  if (!GATEWAY_API_COMMANDS.includes(cmd)) {
    throw usage(
      `unknown gateway-api command "${cmd}" (commands: ${GATEWAY_API_COMMANDS.join(", ")})`,
    );
  }
  if (opts.report !== undefined) throw usage("--report is only for `conformance`");
  if (cmd === "describe-gateway") {
    if (rest.length !== 1) throw usage("describe-gateway takes exactly one Gateway name");
  } else if (rest.length > 0) {
    throw usage(`${cmd} takes no arguments, got "${rest[0]}"`);
  }
  const client = connect(opts);
  try {
    switch (cmd) {
      case "gatewayclasses":
        return await getTable(io, opts, client, RES.gatewayclasses, gatewayClassTable, true);
      case "gateways":
        return await getTable(io, opts, client, RES.gateways, gatewayTable);
      case "httproutes":
        return await getTable(io, opts, client, RES.httproutes, httpRouteTable);
      default:
        return await describe(io, opts, client, rest[0]);
    }
  } finally {
    client.close();
  }
}

/** The role entry: CtlError → one line on stderr, exit 1. */
export async function main(args: string[], io: Io = defaultIo): Promise<number> {
  try {
    return await runCtl(args, io);
  } catch (err) {
    if (err instanceof CtlError) {
      io.err(`novaedge ctl: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
