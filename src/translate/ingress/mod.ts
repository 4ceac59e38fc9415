/**
 * Ingress (networking.k8s.io/v1) → NovaEdge CRDs, as a pure function.
 *
 * Every IngressClass of ours gets one shared ProxyGateway `ingress-<class>` (in
 * `ingressNamespace`, owned by the IngressClass) with the HTTP listener all its
 * Ingresses attach to. Each Ingress becomes, in its own namespace:
 * - ProxyGateway `ingress-<name>`: one HTTPS listener per TLS host (certificate
 *   from the TLS entry's Secret, same namespace), when it has TLS;
 * - ProxyRoutes `ingress-<name>-<host>`: one per host (plus `-redirect` routes
 *   sending HTTP to HTTPS, and `ingress-<name>-default` for defaultBackend);
 * - ProxyBackends `ingress-<name>-<service>-<port>`;
 * - ProxyPolicy `ingress-<name>` when rate limits, IP allow lists or basic auth
 *   are asked for.
 * ingress-nginx annotations are mapped (see annotations.ts); unsupported ones
 * are reported in diagnostics, on the Ingress's status conditions and as an
 * annotation on the generated ProxyRoutes.
 */
import type { Condition, Diagnostic, KubeObject, ObjectStatus } from "../../store/types.ts";
import { parseNovaEdgeObject } from "../../crds/mod.ts";
import { arr, int, obj, str } from "../../crds/schema.ts";
import { parseWith } from "../../crds/schema.ts";
import type { Infer } from "../../crds/schema.ts";
import {
  compact,
  compareObjects,
  cond,
  generatedObject,
  INGRESS_OWNER_LABEL,
  NameRegistry,
  objectNameOf,
  reserveHandWritten,
  sourceOf,
} from "../gateway_api/generated.ts";
import type { SourceRef } from "../gateway_api/generated.ts";
import { protocolForAppProtocol } from "../gateway_api/backends.ts";
import { buildWorld, sanitizeObjects, tlsSecretProblem } from "../gateway_api/world.ts";
import type { World } from "../gateway_api/world.ts";
import { intersectHostname } from "../gateway_api/hostnames.ts";
import { parseAnnotations } from "./annotations.ts";
import { AUTH_SECRET_KEY, authSecretProblems } from "./auth_secret.ts";
import type { AnnotationProblem, IngressConfig } from "./annotations.ts";
import type { Translation } from "../gateway_api/mod.ts";
import { vipAddresses } from "../gateway_api/mod.ts";
import { isIP } from "node:net";

export { NGINX_PREFIX, SUPPORTED_ANNOTATIONS } from "./annotations.ts";

/** The IngressClass `spec.controller` NovaEdge answers to. */
export const INGRESS_CONTROLLER_NAME = "novaedge.io/ingress-controller";
/** Annotation on generated ProxyRoutes listing the Ingress annotations NovaEdge ignored. */
export const UNSUPPORTED_ANNOTATIONS_ANNOTATION = "novaedge.io/unsupported-annotations";

export interface IngressOptions {
  /** IngressClass controller to serve (default "novaedge.io/ingress-controller"). */
  readonly controllerName?: string;
  /**
   * Where clients reach the Ingress controller (IPs or hostnames) for
   * `status.loadBalancer`, overriding what the addresses below would give.
   */
  readonly ingressAddresses?: readonly string[];
  /**
   * The controller's Gateway addresses (`--gateway-address`), by "<namespace>/<name>"
   * or "*": the shared ProxyGateway `<ingressNamespace>/ingress-<class>` is reached
   * where a Gateway of that name would be, so `status.loadBalancer` and Gateway
   * `status.addresses` come from one source. See {@link ingressStatusAddresses}.
   */
  readonly gatewayAddresses?: Readonly<Record<string, readonly string[]>>;
  /**
   * Namespace of the shared HTTP ProxyGateway `ingress-<class>` every Ingress of a
   * class attaches to (default "novaedge-system").
   */
  readonly ingressNamespace?: string;
  /**
   * IP the Ingress listeners bind (default: every address). Needed when Gateways
   * use the same ports on other IPs of the node.
   */
  readonly ingressAddress?: string;
  /** Ports of the generated listeners (defaults 80 and 443). */
  readonly httpPort?: number;
  readonly httpsPort?: number;
}

const lenient = { strict: false } as const;
const backendSchema = obj({
  service: obj({
    name: str({ minLength: 1 }),
    port: obj({ number: int().opt(), name: str().opt() }, lenient).opt(),
  }, lenient).opt(),
  resource: obj({ apiGroup: str().opt(), kind: str(), name: str() }, lenient).opt(),
}, lenient);
type BackendIn = Infer<typeof backendSchema>;
const ingressSpec = obj({
  ingressClassName: str().opt(),
  defaultBackend: backendSchema.opt(),
  tls: arr(obj({ hosts: arr(str()).opt(), secretName: str().opt() }, lenient)).opt(),
  rules: arr(obj({
    host: str().opt(),
    http: obj({
      paths: arr(
        obj({ path: str().opt(), pathType: str().opt(), backend: backendSchema }, lenient),
      ),
    }, lenient).opt(),
  }, lenient)).opt(),
}, lenient);
type IngressSpecIn = Infer<typeof ingressSpec>;

const INGRESS_GROUP_PREFIX = "networking.k8s.io/";

/** Our IngressClass names, and the default one (if any). */
function ourClasses(
  objects: readonly KubeObject[],
  controller: string,
): { names: Set<string>; defaultClass?: string } {
  const names = new Set<string>();
  let defaultClass: string | undefined;
  for (const o of objects) {
    if (o.kind !== "IngressClass" || !o.apiVersion.startsWith(INGRESS_GROUP_PREFIX)) continue;
    const spec = o.spec as { controller?: unknown } | undefined;
    if (spec?.controller !== controller) continue;
    names.add(o.metadata.name);
    if (o.metadata.annotations?.["ingressclass.kubernetes.io/is-default-class"] === "true") {
      defaultClass ??= o.metadata.name;
    }
  }
  return { names, defaultClass };
}

/** The IngressClass of ours serving `o`, if any. */
function classOf(
  o: KubeObject,
  spec: IngressSpecIn,
  classes: { names: Set<string>; defaultClass?: string },
): string | undefined {
  const cls = spec.ingressClassName ?? o.metadata.annotations?.["kubernetes.io/ingress.class"];
  if (cls !== undefined) return classes.names.has(cls) ? cls : undefined;
  return classes.defaultClass;
}

interface PathIn {
  readonly host: string; // "" = any
  readonly path: string;
  readonly pathType: string;
  readonly backend: BackendIn;
}

/** One Ingress being translated. */
interface Ctx {
  readonly o: KubeObject;
  /** The shared HTTP ProxyGateway of the Ingress's class. */
  readonly http: { readonly namespace: string; readonly name: string; used: boolean };
  readonly ns: string;
  readonly name: string;
  readonly src: SourceRef;
  readonly cfg: IngressConfig;
  readonly w: World;
  readonly registry: NameRegistry;
  readonly problems: AnnotationProblem[];
  readonly warnings: string[];
  readonly objects: KubeObject[];
  readonly backendNames: Map<string, string>;
}

function gen(
  ctx: Ctx,
  kind: string,
  name: string,
  spec: unknown,
  annotations?: Record<string, string>,
): KubeObject {
  return generatedObject(kind, ctx.ns, name, ctx.src, spec, {
    ownerLabel: INGRESS_OWNER_LABEL,
    annotations,
  });
}

/**
 * The ProxyBackend for an Ingress backend, generated once per (service, port)
 * per Ingress (`owner` = the Ingress whose annotations configure it).
 */
function backendRef(
  ctx: Ctx,
  b: BackendIn,
  where: string,
): { kind: string; name: string } | undefined {
  if (b.resource !== undefined) {
    if (b.resource.apiGroup === "novaedge.io" && b.resource.kind === "ProxyBackend") {
      return { kind: "ProxyBackend", name: b.resource.name };
    }
    ctx.warnings.push(
      `${where}: resource backend ${
        b.resource.apiGroup ?? ""
      }/${b.resource.kind} is not supported (novaedge.io/ProxyBackend is)`,
    );
    return undefined;
  }
  if (b.service === undefined) {
    ctx.warnings.push(`${where}: backend has neither service nor resource`);
    return undefined;
  }
  const port = b.service.port?.number ?? b.service.port?.name;
  if (port === undefined) {
    ctx.warnings.push(`${where}: backend service ${b.service.name} has no port`);
    return undefined;
  }
  const key = `${b.service.name}/${port}`;
  const have = ctx.backendNames.get(key);
  if (have) return { kind: "ProxyBackend", name: have };
  const svc = ctx.w.services.get(`${ctx.ns}/${b.service.name}`);
  if (svc === undefined) {
    ctx.warnings.push(
      `${where}: Service ${ctx.ns}/${b.service.name} does not exist (requests get an error)`,
    );
  }
  const sp = svc?.spec.ports.find((
    p,
  ) => (typeof port === "number" ? p.port === port : p.name === port));
  if (svc !== undefined && sp === undefined && svc.spec.type !== "ExternalName") {
    ctx.warnings.push(
      `${where}: Service ${ctx.ns}/${b.service.name} has no port ${port} (requests get an error)`,
    );
  }
  const cfg = ctx.cfg;
  let protocol = cfg.backendProtocol ?? protocolForAppProtocol(sp?.appProtocol, "http") ?? "HTTP";
  const tls = cfg.backendTls || protocol === "HTTPS"
    ? { insecureSkipVerify: !cfg.backendTlsVerify }
    : undefined;
  if (protocol === "H2C" && tls) protocol = "HTTPS";
  const timeouts = compact({ connect: cfg.connectTimeout, idle: cfg.idleTimeout });
  const spec = compact({
    service: { name: b.service.name, port },
    protocol,
    tls,
    loadBalancing: cfg.affinityCookie
      ? {
        policy: "RoundRobin",
        sessionAffinity: compact({
          cookie: cfg.affinityCookie.cookie,
          ttl: cfg.affinityCookie.ttl,
        }),
      }
      : undefined,
    timeouts: Object.keys(timeouts).length ? timeouts : undefined,
    hostRewrite: cfg.upstreamVhost,
  });
  const name = ctx.registry.claim(
    "ProxyBackend",
    ctx.ns,
    objectNameOf(["ingress", ctx.name, b.service.name, port]),
    `Ingress/${ctx.ns}/${ctx.name}`,
  );
  ctx.backendNames.set(key, name);
  ctx.objects.push(gen(ctx, "ProxyBackend", name, spec));
  return { kind: "ProxyBackend", name };
}

/** Path match and rewrite for one Ingress path (ingress-nginx semantics). */
function pathMatch(
  ctx: Ctx,
  p: PathIn,
): { match: Record<string, unknown>; rewrite?: Record<string, unknown> } | undefined {
  const cfg = ctx.cfg;
  const path = p.path === "" ? "/" : p.path;
  if (p.pathType === "Exact") {
    return {
      match: { path: { type: "Exact", value: path } },
      rewrite: fullPathRewrite(ctx, path, false),
    };
  }
  if (p.pathType !== "Prefix" && p.pathType !== "ImplementationSpecific") {
    ctx.warnings.push(`path ${path}: pathType ${p.pathType} is not supported`);
    return undefined;
  }
  const regexMode = p.pathType === "ImplementationSpecific" &&
    (cfg.useRegex || cfg.rewriteTarget !== undefined);
  if (!regexMode) {
    if (!path.startsWith("/")) {
      ctx.warnings.push(`path ${JSON.stringify(path)} must start with "/"`);
      return undefined;
    }
    return {
      match: { path: { type: "PathPrefix", value: path } },
      rewrite: fullPathRewrite(ctx, path, false),
    };
  }
  // The canonical ingress-nginx rewrite: `<prefix>(/|$)(.*)` with target `<new>/$2`
  // is a prefix replacement (ReplacePrefixMatch needs a PathPrefix match; unlike
  // nginx's `~*` it is case-sensitive, see docs/ingress-nginx-annotations.md).
  const canon = /^(\/[^()*+?[\]{}|\\^$]*?)\(\/\|\$\)\(\.\*\)$/.exec(path);
  const target = cfg.rewriteTarget;
  if (canon && target !== undefined) {
    const t = /^(\/?[^$]*?)\/?\$2$/.exec(target);
    if (t) {
      return {
        match: { path: { type: "PathPrefix", value: canon[1] || "/" } },
        rewrite: {
          type: "ReplacePrefixMatch",
          replacePrefixMatch: t[1] === "" ? "/" : t[1].startsWith("/") ? t[1] : `/${t[1]}`,
        },
      };
    }
  }
  try {
    new RegExp(path);
  } catch (e) {
    ctx.warnings.push(
      `path ${JSON.stringify(path)} is not a valid regular expression: ${(e as Error).message}`,
    );
    return undefined;
  }
  return {
    match: { path: { type: "RegularExpression", value: nginxRegexLocation(path) } },
    rewrite: fullPathRewrite(ctx, path, true),
  };
}

/**
 * The regex ingress-nginx puts in `location ~* "^<path>"`, for NovaEdge's
 * full-match RegularExpression: case-insensitive, matched from the start of the
 * path, anything may follow. The group keeps a top-level `|` inside the prefix
 * (`/a|/b` must not become `/a|/b.*`); even a path without regex characters is a
 * regex prefix there, so `/plain` matches `/plainfoo` and `/PLAIN/x`.
 */
export function nginxRegexLocation(path: string): string {
  return `(?i:${path}).*`;
}

/**
 * rewrite-target outside the canonical prefix form: ingress-nginx replaces the
 * whole path. Capture groups are only supported in the canonical form.
 */
function fullPathRewrite(
  ctx: Ctx,
  path: string,
  regex: boolean,
): Record<string, unknown> | undefined {
  const t = ctx.cfg.rewriteTarget;
  if (t === undefined) return undefined;
  if (/\$[0-9]/.test(t)) {
    ctx.problems.push({
      annotation: "nginx.ingress.kubernetes.io/rewrite-target",
      message: regex
        ? `rewrite-target ${
          JSON.stringify(t)
        } with capture groups is only supported in the form "<prefix>(/|$)(.*)" → "<new>/$2" (path ${
          JSON.stringify(path)
        })`
        : `rewrite-target ${JSON.stringify(t)} uses capture groups but path ${
          JSON.stringify(path)
        } has none`,
    });
    return undefined;
  }
  if (!t.startsWith("/")) {
    ctx.problems.push({
      annotation: "nginx.ingress.kubernetes.io/rewrite-target",
      message: `rewrite-target ${JSON.stringify(t)} must start with "/"`,
    });
    return undefined;
  }
  return { type: "ReplaceFullPath", replaceFullPath: t };
}

/** permanent-/temporal-redirect (the target was checked by parseAnnotations). */
function redirectFilter(cfg: IngressConfig): Record<string, unknown> | undefined {
  const r = cfg.redirect;
  if (r === undefined) return undefined;
  return {
    type: "RequestRedirect",
    requestRedirect: compact({
      scheme: r.scheme,
      hostname: r.hostname,
      port: r.port,
      path: { type: "ReplaceFullPath", replaceFullPath: r.path },
      statusCode: r.code,
    }),
  };
}

function corsFilter(cfg: IngressConfig): Record<string, unknown> | undefined {
  if (!cfg.cors) return undefined;
  const c = cfg.cors;
  return {
    type: "CORS",
    cors: compact({
      allowOrigins: c.allowOrigins,
      allowMethods: c.allowMethods,
      allowHeaders: c.allowHeaders,
      exposeHeaders: c.exposeHeaders.length ? c.exposeHeaders : undefined,
      allowCredentials: c.allowCredentials,
      maxAge: c.maxAge,
    }),
  };
}

/** Canary contributions, keyed by `<host>|<pathType>|<path>`. */
interface Canary {
  readonly backend: { kind: string; name: string };
  readonly weight?: number;
  readonly total: number;
  readonly header?: { name: string; value: string; regex: boolean };
  readonly source: string;
}

function pathsOf(spec: IngressSpecIn): PathIn[] {
  const out: PathIn[] = [];
  for (const r of spec.rules ?? []) {
    for (const p of r.http?.paths ?? []) {
      out.push({
        host: r.host ?? "",
        path: p.path ?? "/",
        pathType: p.pathType ?? "ImplementationSpecific",
        backend: p.backend,
      });
    }
  }
  return out;
}

function ruleKey(p: { host: string; pathType: string; path: string }): string {
  return `${p.host}|${p.pathType}|${p.path === "" ? "/" : p.path}`;
}

/**
 * Where clients reach the Ingresses of a class (its shared ProxyGateway
 * `key` = "<namespace>/<name>"), first of: `ingressAddresses`; a
 * `gatewayAddresses` entry or ProxyVIP for that ProxyGateway (what a Gateway
 * gets); the IP its listeners bind (`ingressAddress`); the `*` Gateway
 * address. Nothing known gives nothing: status never names an address
 * clients cannot use.
 */
export function ingressStatusAddresses(
  key: string,
  options: IngressOptions,
  vips: Readonly<Record<string, readonly string[]>>,
): { ip?: string; hostname?: string }[] {
  const given = options.gatewayAddresses ?? {};
  const addrs = options.ingressAddresses?.length
    ? options.ingressAddresses
    : given[key] ?? vips[key] ??
      (options.ingressAddress ? [options.ingressAddress] : given["*"] ?? []);
  return [...new Set(addrs)].map((a) => (isIP(a) ? { ip: a } : { hostname: a }));
}

/** Translates Ingress objects into NovaEdge objects, Ingress statuses and diagnostics. */
export function translateIngress(
  objects: readonly KubeObject[],
  options: IngressOptions = {},
): Translation {
  const controller = options.controllerName ?? INGRESS_CONTROLLER_NAME;
  const httpPort = options.httpPort ?? 80;
  const httpsPort = options.httpsPort ?? 443;
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const earlyDiags: Diagnostic[] = [];
  const clean = sanitizeObjects(objects, earlyDiags);
  const sorted = [...clean].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const w = buildWorld(sorted);
  const classes = ourClasses(sorted, controller);
  const registry = new NameRegistry();
  reserveHandWritten(registry, sorted);
  const ingressNs = options.ingressNamespace ?? "novaedge-system";
  // One shared HTTP entry point per IngressClass: every Ingress's HTTP routes
  // attach to it (port 80 is one listener, as in ingress-nginx), HTTPS listeners
  // stay per Ingress, next to their Secrets.
  const httpGateways = new Map<string, { namespace: string; name: string; used: boolean }>();
  const httpGatewayOf = (cls: string) => {
    let g = httpGateways.get(cls);
    if (g === undefined) {
      const name = registry.claim(
        "ProxyGateway",
        ingressNs,
        objectNameOf(["ingress", cls]),
        `IngressClass//${cls}`,
      );
      g = { namespace: ingressNs, name, used: false };
      httpGateways.set(cls, g);
    }
    return g;
  };
  const diagnostics: Diagnostic[] = [...earlyDiags];
  const generated: KubeObject[] = [];
  const statuses: ObjectStatus[] = [];

  const ingresses: { o: KubeObject; spec: IngressSpecIn; ctx: Ctx }[] = [];
  for (const o of sorted) {
    if (o.kind !== "Ingress" || !o.apiVersion.startsWith(INGRESS_GROUP_PREFIX)) continue;
    const ns = o.metadata.namespace ?? "default";
    const p = parseWith(ingressSpec, o.spec ?? {});
    if (!p.ok) {
      diagnostics.push({
        severity: "error",
        source: `Ingress/${ns}/${o.metadata.name}`,
        field: `spec.${p.errors[0].field}`,
        message: p.errors[0].message,
      });
      continue;
    }
    const cls = classOf(o, p.value, classes);
    if (cls === undefined) continue;
    const { config, problems } = parseAnnotations(o.metadata.annotations ?? {}, ns);
    // Checked before anything is generated: an unusable Secret fails the Ingress closed.
    if (config.basicAuth) {
      problems.push(...authSecretProblems(ns, config.basicAuth.secretName, w.secrets));
    }
    ingresses.push({
      o,
      spec: p.value,
      ctx: {
        o,
        http: httpGatewayOf(cls),
        ns,
        name: o.metadata.name,
        src: sourceOf(o),
        cfg: config,
        w,
        registry,
        problems,
        warnings: [],
        objects: [],
        backendNames: new Map(),
      },
    });
  }

  // Canary Ingresses first: they only contribute to their primary's rules.
  const canaries = new Map<string, Canary[]>();
  for (const { spec, ctx } of ingresses) {
    if (!ctx.cfg.canary || ctx.problems.some((p) => p.security)) continue;
    for (const p of pathsOf(spec)) {
      const b = backendRef(ctx, p.backend, `host ${p.host || "*"} path ${p.path}`);
      if (b === undefined) continue;
      const k = `${ctx.ns}/${ruleKey(p)}`;
      const list = canaries.get(k) ?? [];
      list.push({
        backend: b,
        weight: ctx.cfg.canaryWeight,
        total: ctx.cfg.canaryWeightTotal,
        header: ctx.cfg.canaryHeader,
        source: `Ingress/${ctx.ns}/${ctx.name}`,
      });
      canaries.set(k, list);
    }
  }
  const usedCanaries = new Set<string>();
  const vips = vipAddresses(sorted);

  for (const { spec, ctx } of ingresses) {
    if (!ctx.cfg.canary) {
      translateOne(ctx, spec, httpsPort, options.ingressAddress, canaries, usedCanaries);
    }
  }
  // A canary is served when some primary took at least one of its paths.
  const servedCanaries = new Set<string>();
  for (const [k, list] of canaries) {
    if (usedCanaries.has(k)) { for (const c of list) servedCanaries.add(c.source); }
  }
  for (const { o, ctx } of ingresses) {
    const canaryServed = servedCanaries.has(`Ingress/${ctx.ns}/${ctx.name}`);
    const addresses = ingressStatusAddresses(
      `${ctx.http.namespace}/${ctx.http.name}`,
      options,
      vips,
    );
    finish(ctx, o, addresses, canaryServed, diagnostics, generated, statuses);
  }
  for (const [cls, g] of [...httpGateways.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!g.used) continue;
    const ic = sorted.find((o) => o.kind === "IngressClass" && o.metadata.name === cls)!;
    const src: SourceRef = {
      apiVersion: ic.apiVersion,
      kind: "IngressClass",
      namespace: "",
      name: cls,
      uid: ic.metadata.uid,
    };
    generated.push(generatedObject("ProxyGateway", g.namespace, g.name, src, {
      listeners: [compact({
        name: "http",
        port: httpPort,
        protocol: "HTTP",
        address: options.ingressAddress,
        allowedRoutes: { namespaces: { from: "All" } },
      })],
    }, { ownerLabel: INGRESS_OWNER_LABEL }));
  }
  for (const [k, list] of canaries) {
    if (usedCanaries.has(k)) continue;
    for (const c of list) {
      diagnostics.push({
        severity: "warning",
        source: c.source,
        message: `canary path ${
          k.split("/").slice(1).join("/")
        } has no primary Ingress with the same host and path; it is not served`,
      });
    }
  }
  generated.sort(compareObjects);
  statuses.sort((
    a,
    b,
  ) => (`${a.ref.namespace}/${a.ref.name}` < `${b.ref.namespace}/${b.ref.name}` ? -1 : 1));
  return { objects: generated, statuses, diagnostics };
}

function translateOne(
  ctx: Ctx,
  spec: IngressSpecIn,
  httpsPort: number,
  address: string | undefined,
  canaries: ReadonlyMap<string, Canary[]>,
  usedCanaries: Set<string>,
): void {
  const cfg = ctx.cfg;
  const owner = `Ingress/${ctx.ns}/${ctx.name}`;
  // Fail closed: an access-control annotation that cannot be applied must not
  // leave the Ingress served without it.
  if (ctx.problems.some((p) => p.security)) return;
  const gwName = ctx.registry.claim(
    "ProxyGateway",
    ctx.ns,
    objectNameOf(["ingress", ctx.name]),
    owner,
  );

  // Listeners: HTTP, then one HTTPS listener per TLS host with a usable Secret.
  const listeners: Record<string, unknown>[] = [];
  const tlsHosts: { listener: string; hostname?: string }[] = [];
  (spec.tls ?? []).forEach((t, k) => {
    if (t.secretName === undefined) {
      ctx.warnings.push(
        `tls[${k}] has no secretName; NovaEdge has no default certificate, so these hosts are not served over HTTPS`,
      );
      return;
    }
    const secret = ctx.w.secrets.get(`${ctx.ns}/${t.secretName}`);
    const why = secret === undefined ? "does not exist" : tlsSecretProblem(secret);
    if (why !== undefined) {
      ctx.warnings.push(
        `tls[${k}]: Secret ${ctx.ns}/${t.secretName} ${why}; these hosts are not served over HTTPS`,
      );
      return;
    }
    const hosts = t.hosts?.length ? t.hosts : [undefined];
    hosts.forEach((h, j) => {
      if (tlsHosts.some((x) => x.hostname === h)) {
        ctx.warnings.push(
          `tls[${k}].hosts[${j}] ${h ?? "(any)"} is already covered by an earlier TLS entry`,
        );
        return;
      }
      const name = hosts.length === 1 && t.hosts === undefined ? `https-${k}` : `https-${k}-${j}`;
      listeners.push(compact({
        name,
        port: httpsPort,
        protocol: "HTTPS",
        address,
        hostname: h,
        tls: { mode: "Terminate", certificateRefs: [{ kind: "Secret", name: t.secretName }] },
        allowedRoutes: { namespaces: { from: "Same" } },
      }));
      tlsHosts.push({ listener: name, hostname: h });
    });
  });
  const httpsListenersFor = (host: string): string[] =>
    tlsHosts.filter((t) =>
      t.hostname === undefined || (host !== "" && intersectHostname(t.hostname, host) === host)
    ).map((t) => t.listener);

  // Rules per host, in order of first appearance.
  const byHost = new Map<string, Record<string, unknown>[]>();
  const hostOrder: string[] = [];
  for (const p of pathsOf(spec)) {
    if (!byHost.has(p.host)) (byHost.set(p.host, []), hostOrder.push(p.host));
    const where = `host ${p.host || "*"} path ${p.path}`;
    const pm = pathMatch(ctx, p);
    if (pm === undefined) continue;
    const b = backendRef(ctx, p.backend, where);
    const filters: Record<string, unknown>[] = [];
    const redirect = redirectFilter(cfg);
    if (redirect) filters.push(redirect);
    else if (pm.rewrite) filters.push({ type: "URLRewrite", urlRewrite: { path: pm.rewrite } });
    const cors = corsFilter(cfg);
    if (cors) filters.push(cors);
    const base = compact({
      matches: [pm.match],
      filters: filters.length ? filters : undefined,
      maxBodyBytes: cfg.maxBodyBytes,
    });
    const rules = byHost.get(p.host)!;
    const primary = b ??
      { kind: "ProxyBackend", name: objectNameOf(["ingress", ctx.name, "unresolved"]) };
    const cks = `${ctx.ns}/${ruleKey(p)}`;
    const cs = canaries.get(cks) ?? [];
    if (cs.length) usedCanaries.add(cks);
    // Header canaries: a more specific rule (header match) wins over the plain path rule.
    for (const c of cs) {
      if (!c.header) continue;
      rules.push({
        ...base,
        matches: [{
          ...pm.match,
          headers: [{
            type: c.header.regex ? "RegularExpression" : "Exact",
            name: c.header.name,
            value: c.header.value,
          }],
        }],
        backendRefs: [{ ...c.backend, weight: 1 }],
      });
    }
    const weighted = cs.find((c) => c.weight !== undefined);
    const backendRefs = weighted
      ? [{ ...primary, weight: weighted.total - weighted.weight! }, {
        ...weighted.backend,
        weight: weighted.weight!,
      }]
      : [{ ...primary, weight: 1 }];
    rules.push({ ...base, backendRefs });
  }
  if (cfg.appRoot !== undefined) {
    for (const h of hostOrder.length ? hostOrder : [""]) {
      if (!byHost.has(h)) (byHost.set(h, []), hostOrder.push(h));
      byHost.get(h)!.unshift({
        matches: [{ path: { type: "Exact", value: "/" } }],
        filters: [{
          type: "RequestRedirect",
          requestRedirect: {
            path: { type: "ReplaceFullPath", replaceFullPath: cfg.appRoot },
            statusCode: 302,
          },
        }],
      });
    }
  }

  const unsupported = ctx.problems.map((p) => p.annotation).filter((a, i, xs) =>
    xs.indexOf(a) === i
  ).sort();
  const routeAnnotations: Record<string, string> = unsupported.length
    ? { "novaedge.io/unsupported-annotations": unsupported.join(",") }
    : {};
  const routeNames: string[] = [];
  const addRoute = (
    suffix: (string | number)[],
    hostnames: string[] | undefined,
    sections: string[],
    rules: Record<string, unknown>[],
  ) => {
    if (!rules.length || !sections.length) return;
    const name = ctx.registry.claim(
      "ProxyRoute",
      ctx.ns,
      objectNameOf(["ingress", ctx.name, ...suffix]),
      owner,
    );
    const routeSpec = compact({
      parentRefs: sections.map((s) =>
        s === "http"
          ? compact({
            namespace: ctx.http.namespace === ctx.ns ? undefined : ctx.http.namespace,
            name: ctx.http.name,
            sectionName: "http",
          })
          : { name: gwName, sectionName: s }
      ),
      hostnames,
      rules,
    });
    const obj = gen(ctx, "ProxyRoute", name, routeSpec, routeAnnotations);
    const check = parseNovaEdgeObject("ProxyRoute", obj);
    if (!check.ok) {
      ctx.warnings.push(
        `route for ${hostnames?.join(",") ?? "any host"} cannot be expressed: ${
          check.errors.map((e) => `${e.field}: ${e.message}`).join("; ")
        }`,
      );
      return;
    }
    ctx.objects.push(obj);
    routeNames.push(name);
    if (sections.includes("http")) ctx.http.used = true;
  };
  for (const h of hostOrder) {
    const rules = byHost.get(h)!;
    const https = httpsListenersFor(h);
    const redirect = cfg.forceSslRedirect || (cfg.sslRedirect && https.length > 0);
    const hostnames = h === "" ? undefined : [h];
    const hostPart = h === "" ? "any" : h;
    addRoute([hostPart], hostnames, redirect ? https : ["http", ...https], rules);
    if (redirect) {
      if (!https.length) {
        ctx.warnings.push(
          `host ${
            h || "*"
          }: force-ssl-redirect sends HTTP to HTTPS, but this Ingress has no TLS for the host`,
        );
      }
      // Redirect exactly what the host serves (ingress-nginx redirects per location).
      const toHttps = {
        type: "RequestRedirect",
        requestRedirect: compact({
          scheme: "https",
          port: httpsPort === 443 ? undefined : httpsPort,
          statusCode: 308,
        }),
      };
      addRoute(
        [hostPart, "redirect"],
        hostnames,
        ["http"],
        rules.map((r) => ({ matches: r.matches, filters: [toHttps] })),
      );
    }
  }
  if (spec.defaultBackend !== undefined) {
    const b = backendRef(ctx, spec.defaultBackend, "defaultBackend");
    if (b !== undefined) {
      const https = tlsHosts.map((t) => t.listener);
      addRoute(["default"], undefined, ["http", ...https], [{
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        backendRefs: [{ ...b, weight: 1 }],
      }]);
    }
  }

  // Policy: rate limit, allow list, basic auth (targets every generated route).
  if (
    routeNames.length &&
    (cfg.rateLimit || cfg.ipAllow || cfg.basicAuth || cfg.limitConnections !== undefined)
  ) {
    const pspec = compact({
      targetRefs: routeNames.slice(0, 16).map((n) => ({
        group: "novaedge.io",
        kind: "ProxyRoute",
        name: n,
      })),
      rateLimit: cfg.rateLimit ? { ...cfg.rateLimit, key: "source-ip" } : undefined,
      connectionLimit: cfg.limitConnections !== undefined
        ? { perClientIp: cfg.limitConnections }
        : undefined,
      ipAllow: cfg.ipAllow,
      basicAuth: cfg.basicAuth
        ? {
          realm: cfg.basicAuth.realm,
          secretRef: { name: cfg.basicAuth.secretName, key: AUTH_SECRET_KEY },
        }
        : undefined,
    });
    if (routeNames.length > 16) {
      ctx.warnings.push(`more than 16 routes: the policy only targets the first 16`);
    }
    const pname = ctx.registry.claim(
      "ProxyPolicy",
      ctx.ns,
      objectNameOf(["ingress", ctx.name]),
      owner,
    );
    ctx.objects.push(gen(ctx, "ProxyPolicy", pname, pspec));
  }
  if (routeNames.length && listeners.length) {
    ctx.objects.push(gen(ctx, "ProxyGateway", gwName, { listeners }));
  }
}

function finish(
  ctx: Ctx,
  o: KubeObject,
  addresses: { ip?: string; hostname?: string }[],
  canaryServed: boolean,
  diagnostics: Diagnostic[],
  generated: KubeObject[],
  statuses: ObjectStatus[],
): void {
  const source = `Ingress/${ctx.ns}/${ctx.name}`;
  const g = o.metadata.generation ?? 0;
  for (const p of ctx.problems) {
    diagnostics.push({
      severity: "warning",
      source,
      field: `metadata.annotations[${JSON.stringify(p.annotation)}]`,
      message: p.message,
    });
  }
  for (const wmsg of ctx.warnings) diagnostics.push({ severity: "warning", source, message: wmsg });
  // Keep only what validates (a generated object that fails is a translator bug: report it).
  // An unused canary generates nothing (its backends would serve no route).
  for (const obj of ctx.cfg.canary && !canaryServed ? [] : ctx.objects) {
    const kind = obj.kind as "ProxyGateway" | "ProxyRoute" | "ProxyBackend" | "ProxyPolicy";
    const p = parseNovaEdgeObject(kind, obj);
    if (p.ok) generated.push(obj);
    else {diagnostics.push({
        severity: "error",
        source,
        message: `generated ${obj.kind}/${obj.metadata.name} is invalid: ${
          p.errors.map((e) => `${e.field}: ${e.message}`).join("; ")
        }`,
      });}
  }
  const served = ctx.cfg.canary ? canaryServed : ctx.objects.some((x) => x.kind === "ProxyRoute");
  const conditions: Condition[] = [];
  const security = ctx.problems.filter((p) => p.security);
  if (security.length) {
    conditions.push(cond(
      "Accepted",
      false,
      "AccessControlNotApplied",
      `not served: ${security.map((p) => p.message).join("; ")}`,
      g,
    ));
  } else if (ctx.cfg.canary) {
    conditions.push(
      served
        ? cond(
          "Accepted",
          true,
          "Canary",
          "canary Ingress: merged into its primary Ingress's routes",
          g,
        )
        : cond(
          "Accepted",
          false,
          "NoPrimaryIngress",
          "no primary Ingress has the same host and path",
          g,
        ),
    );
  } else {
    conditions.push(
      served ? cond("Accepted", true, "Accepted", "Ingress is translated", g) : cond(
        "Accepted",
        false,
        "NothingToServe",
        ctx.warnings[0] ?? "Ingress has no usable rule or default backend",
        g,
      ),
    );
  }
  const unsupported = [...new Set(ctx.problems.map((p) => p.annotation))].sort();
  conditions.push(
    unsupported.length
      ? cond(
        "AnnotationsSupported",
        false,
        "UnsupportedAnnotations",
        ctx.problems.map((p) => p.message).join("; "),
        g,
      )
      : cond("AnnotationsSupported", true, "AllSupported", "All annotations are supported", g),
  );
  statuses.push({
    ref: { apiVersion: o.apiVersion, kind: "Ingress", namespace: ctx.ns, name: ctx.name },
    generation: g,
    status: {
      observedGeneration: g,
      conditions,
      loadBalancer: { ingress: served ? addresses : [] },
    },
  });
}
