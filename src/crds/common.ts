/**
 * Building blocks shared by the NovaEdge CRDs: names, hostnames, durations,
 * addresses, header modifiers, references and label selectors — each with its
 * validation and its OpenAPI form (see schema.ts).
 */
import { isIP } from "node:net";
import { arr, bool, enumOf, int, obj, str, stringMap } from "./schema.ts";
import type { Infer, Schema } from "./schema.ts";

export const GROUP = "novaedge.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** DNS-1123 subdomain, the shape of Kubernetes object names. */
export const objectName = (): Schema<string> =>
  str({
    minLength: 1,
    maxLength: 253,
    pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    patternName: "object name (lowercase DNS-1123 subdomain)",
  });

/** DNS-1123 label: listener names, section names, namespaces. */
export const sectionName = (): Schema<string> =>
  str({
    minLength: 1,
    maxLength: 63,
    pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    patternName: "name (lowercase DNS-1123 label)",
  });

/** Gateway API hostname: an optional leading "*." then DNS labels; no IPs, no ports. */
export const hostname = (): Schema<string> =>
  str({
    minLength: 1,
    maxLength: 253,
    pattern: "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    patternName: 'hostname (lowercase, optional leading "*.")',
  });

/** TCP/UDP port. */
export const port = (): Schema<number> => int({ min: 1, max: 65535 });

/** Gateway API duration string ("10s", "1m30s", "500ms"). */
export const DURATION_PATTERN = "^([0-9]{1,5}(h|m|s|ms)){1,4}$";
export const duration = (): Schema<string> =>
  str({
    pattern: DURATION_PATTERN,
    patternName: 'duration (Gateway API style, e.g. "10s", "1m30s", "500ms")',
  });

/** Converts a Gateway API duration string to milliseconds. */
export function durationMs(d: string | undefined): number {
  if (d === undefined) return 0;
  let total = 0;
  for (const m of d.matchAll(/([0-9]+)(ms|h|m|s)/g)) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === "h" ? n * 3_600_000 : unit === "m" ? n * 60_000 : unit === "s" ? n * 1000 : n;
  }
  return total;
}

/** HTTP header name (RFC 7230 token). */
export const headerName = (): Schema<string> =>
  str({
    minLength: 1,
    maxLength: 256,
    pattern: "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$",
    patternName: "header name",
  });

/** An IPv4/IPv6 address. */
export const ipAddress = (): Schema<string> =>
  str({ minLength: 1, maxLength: 64 }).check((v) =>
    isIP(v) === 0 ? `${JSON.stringify(v)} is not an IP address` : undefined
  );

/** Returns an error message when `v` is not a valid CIDR ("10.0.0.0/8", "2001:db8::/32"). */
export function cidrError(v: string): string | undefined {
  const slash = v.indexOf("/");
  if (slash === -1) return `${JSON.stringify(v)} is not a CIDR (missing "/prefix")`;
  const ip = v.slice(0, slash);
  const prefix = v.slice(slash + 1);
  const fam = isIP(ip);
  if (fam === 0) return `${JSON.stringify(v)} is not a CIDR (bad address)`;
  const max = fam === 4 ? 32 : 128;
  if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > max) {
    return `${JSON.stringify(v)} is not a CIDR (prefix must be 0..${max})`;
  }
  return undefined;
}

/** A CIDR. */
export const cidr = (): Schema<string> => str({ minLength: 1, maxLength: 64 }).check(cidrError);

/** A regular expression that must compile (ECMAScript syntax). */
export const regex = (): Schema<string> =>
  str({ minLength: 1, maxLength: 1024 }).check((v) => {
    try {
      new RegExp(v);
      return undefined;
    } catch (e) {
      return `regular expression ${JSON.stringify(v)} does not compile: ${(e as Error).message}`;
    }
  });

export const headerValue = (): Schema<string> => str({ maxLength: 4096 });

/** Set/add/remove request or response headers (Gateway API HTTPHeaderFilter). */
const headerModifierSchema = obj({
  set: arr(obj({ name: headerName(), value: headerValue() }), {
    maxItems: 16,
    uniqueBy: "name",
  }).opt(),
  add: arr(obj({ name: headerName(), value: headerValue() }), { maxItems: 16 }).opt(),
  remove: arr(headerName(), { maxItems: 16 }).opt(),
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const headerModifier = (): typeof headerModifierSchema => headerModifierSchema;
export type HeaderModifierSpec = Infer<ReturnType<typeof headerModifier>>;

/** A reference to a Secret (or another object) by name, optionally in another namespace. */
const secretRefSchema = obj({
  group: str({ maxLength: 253 }).opt(),
  kind: enumOf(["Secret"]).opt(),
  name: objectName(),
  namespace: sectionName().opt(),
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const secretRef = (): typeof secretRefSchema => secretRefSchema;
export type SecretRefSpec = Infer<ReturnType<typeof secretRef>>;

/**
 * A CA bundle: a Secret (key ca.crt, or tls.crt) or a ConfigMap (key ca.crt),
 * as Gateway API's BackendTLSPolicy and frontend validation allow.
 */
const caRefSchema = obj({
  group: str({ maxLength: 253 }).opt(),
  kind: enumOf(["Secret", "ConfigMap"]).opt(),
  name: objectName(),
  namespace: sectionName().opt(),
});
/** Schema factory for a CA bundle reference. */
export const caRef = (): typeof caRefSchema => caRefSchema;

/** Label selector (matchLabels + matchExpressions), as in core Kubernetes. */
const labelSelectorSchema = obj({
  matchLabels: stringMap().opt(),
  matchExpressions: arr(
    obj({
      key: str({ minLength: 1, maxLength: 317 }),
      operator: enumOf(["In", "NotIn", "Exists", "DoesNotExist"]),
      values: arr(str({ maxLength: 63 })).opt(),
    }).check((e) =>
      (e.operator === "In" || e.operator === "NotIn") && !(e.values?.length)
        ? `operator ${e.operator} needs values`
        : (e.operator === "Exists" || e.operator === "DoesNotExist") && e.values?.length
        ? `operator ${e.operator} takes no values`
        : undefined
    ),
  ).opt(),
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const labelSelector = (): typeof labelSelectorSchema => labelSelectorSchema;
export type LabelSelectorSpec = Infer<ReturnType<typeof labelSelector>>;

/** Evaluates a label selector against labels. An empty selector matches everything. */
export function selectorMatches(
  sel: LabelSelectorSpec,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const vals = e.values ?? [];
    if (e.operator === "In" && !(has && vals.includes(l[e.key]))) return false;
    if (e.operator === "NotIn" && has && vals.includes(l[e.key])) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** CORS settings (shared by the CORS route filter and ProxyPolicy). */
const corsSpecSchema = obj({
  allowOrigins: arr(str({ minLength: 1, maxLength: 253 }), { maxItems: 64 }).opt(),
  allowMethods: arr(str({ minLength: 1, maxLength: 32, pattern: "^([A-Z]+|\\*)$" }), {
    maxItems: 16,
  }).opt(),
  allowHeaders: arr(str({ minLength: 1, maxLength: 256 }), { maxItems: 64 }).opt(),
  exposeHeaders: arr(str({ minLength: 1, maxLength: 256 }), { maxItems: 64 }).opt(),
  allowCredentials: bool().opt(),
  maxAge: duration().opt(),
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const corsSpec = (): typeof corsSpecSchema => corsSpecSchema;
export type CorsSpecT = Infer<ReturnType<typeof corsSpec>>;

/** Condition shape for the status schema. */
const conditionSchemaSchema = obj({
  type: str({ minLength: 1, maxLength: 316 }),
  status: enumOf(["True", "False", "Unknown"]),
  reason: str({ maxLength: 1024 }),
  message: str({ maxLength: 32768 }),
  observedGeneration: int({ min: 0, format: "int64" }).opt(),
  lastTransitionTime: str({ format: "date-time" }),
});
/** Schema factory (nodes are immutable, so one instance is shared). */
export const conditionSchema = (): typeof conditionSchemaSchema => conditionSchemaSchema;
