/**
 * Pure helpers of the status writer: merge the status a pure stage wants into
 * the live one, stamp condition timestamps, and decide whether anything
 * changed. No I/O, no clock (the caller passes `now`).
 *
 * Ownership rules (so the writer never fights another writer):
 * - top-level keys the pipeline produces are ours and replace the live ones;
 *   keys it does not produce are left alone;
 * - in Gateway API route statuses, `parents` entries of other controllers
 *   (a different controllerName) are kept untouched;
 * - a condition's lastTransitionTime moves only when its status flips.
 */

type Json = unknown;
type Obj = Record<string, Json>;

const isObj = (v: Json): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Kubernetes metav1.Time: RFC 3339 with second precision. */
export function kubeTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

/** Identity of an array element for matching desired against live. */
function elementKey(v: Json): string | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.type === "string" && "status" in v) return `type:${v.type}`;
  if (isObj(v.parentRef)) return `parent:${canonical(v.parentRef)}:${v.controllerName ?? ""}`;
  if (typeof v.name === "string") return `name:${v.name}`;
  return undefined;
}

/** Canonical JSON (sorted keys) for comparisons. */
export function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObj(v)) {
    return `{${
      Object.keys(v).sort().filter((k) => v[k] !== undefined).map((k) =>
        `${JSON.stringify(k)}:${canonical(v[k])}`
      ).join(",")
    }}`;
  }
  return JSON.stringify(v);
}

/** Copy `desired`, giving each condition a lastTransitionTime: kept from `live` unless its status changed. */
export function stampConditions(desired: Json, live: Json, now: string): Json {
  if (Array.isArray(desired)) {
    const liveByKey = new Map<string, Json>();
    if (Array.isArray(live)) {
      for (const l of live) {
        const k = elementKey(l);
        if (k) liveByKey.set(k, l);
      }
    }
    return desired.map((d, i) => {
      const k = elementKey(d);
      const l = k ? liveByKey.get(k) : Array.isArray(live) ? live[i] : undefined;
      return stampConditions(d, l, now);
    });
  }
  if (!isObj(desired)) return desired;
  const out: Obj = {};
  for (const [k, v] of Object.entries(desired)) {
    out[k] = stampConditions(v, isObj(live) ? live[k] : undefined, now);
  }
  const isCondition = typeof desired.type === "string" && typeof desired.status === "string" &&
    "reason" in desired;
  if (isCondition) {
    const prev = isObj(live) && live.status === desired.status
      ? live.lastTransitionTime
      : undefined;
    out.lastTransitionTime = typeof prev === "string" ? prev : now;
  }
  return out;
}

/** Drop lastTransitionTime everywhere (change detection ignores timestamps). */
function withoutTimes(v: Json): Json {
  if (Array.isArray(v)) return v.map(withoutTimes);
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) if (k !== "lastTransitionTime") out[k] = withoutTimes(x);
  return out;
}

/**
 * The status to write: live status with our keys replaced by `desired`
 * (timestamps stamped), keeping other controllers' route parents.
 */
export function mergeStatus(live: Json, desired: Obj, now: string): Obj {
  const liveObj = isObj(live) ? live : {};
  const stamped = stampConditions(desired, liveObj, now) as Obj;
  const out: Obj = { ...liveObj, ...stamped };
  if (Array.isArray(stamped.parents) && Array.isArray(liveObj.parents)) {
    const ours = new Set(
      stamped.parents.map((p) => (isObj(p) ? String(p.controllerName ?? "") : "")),
    );
    const others = liveObj.parents.filter((p) =>
      isObj(p) && !ours.has(String(p.controllerName ?? ""))
    );
    out.parents = [...stamped.parents, ...others];
  }
  return out;
}

/** True when writing `next` would change nothing but timestamps. */
export function sameStatus(live: Json, next: Json): boolean {
  return canonical(withoutTimes(live ?? {})) === canonical(withoutTimes(next));
}

/**
 * Ingress (networking.k8s.io/v1): the status as the API server stores it.
 * Its schema has only `loadBalancer`; conditions and observedGeneration (kept
 * in dumps and /debug) would be dropped by the server and then look like a
 * change on every sync. An empty address list is stored as `loadBalancer: {}`.
 * Other kinds pass through unchanged.
 */
export function storedStatus(kind: string, status: Obj): Obj {
  if (kind !== "Ingress") return status;
  const lb = isObj(status.loadBalancer) ? status.loadBalancer : {};
  const ingress = Array.isArray(lb.ingress) ? lb.ingress : [];
  return { loadBalancer: ingress.length ? { ingress } : {} };
}

/**
 * The merge-patch body for `next`. For an Ingress whose live status lists
 * addresses that `next` no longer has, `ingress: null` clears them (a merge
 * patch keeps keys it does not mention). Other kinds: `next` as is.
 */
export function statusPatch(kind: string, live: Json, next: Obj): Obj {
  if (kind !== "Ingress") return next;
  const liveLb = isObj(live) && isObj(live.loadBalancer) ? live.loadBalancer : {};
  const nextLb = isObj(next.loadBalancer) ? next.loadBalancer : {};
  if (Array.isArray(liveLb.ingress) && nextLb.ingress === undefined) {
    return { ...next, loadBalancer: { ...nextLb, ingress: null } };
  }
  return next;
}
