/**
 * A tiny schema language: one definition gives (1) the TypeScript type (via
 * `Infer`), (2) the validating parser used by the pure pipeline and (3) the
 * OpenAPI v3 structural schema written into the CRD manifests. Keeping the three
 * in one place is what stops the manifests, the types and the validation from
 * drifting apart.
 */

/** One validation failure, with a JSON-path-like field ("spec.listeners[0].port"). */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** OpenAPI v3 schema node as written into a CRD (structural subset). */
export type OpenApi = { readonly [k: string]: unknown };

/** Common documentation/behaviour options of every schema node. */
export interface NodeOpts {
  readonly description?: string;
}

/**
 * A schema node. `parse` returns the narrowed value or `undefined` after pushing
 * at least one error. `T` is phantom-typed for inference.
 */
export interface Schema<T> {
  readonly optional: false;
  parse(v: unknown, field: string, errs: FieldError[]): T | undefined;
  openapi(): OpenApi;
  /** Adds a semantic check run after the structural parse succeeded. */
  check(fn: (v: T) => string | undefined): Schema<T>;
  /**
   * Adds a CEL rule (x-kubernetes-validations) so the API server enforces what a
   * `check` enforces here. Parsing is unchanged: pair it with a `check`.
   */
  cel(rule: string, message: string): Schema<T>;
  /** Marks the field optional inside an object. */
  opt(): Optional<T>;
  /** Replaces a missing value by `d` (and records it as the OpenAPI default). */
  default(d: T): Defaulted<T>;
}

/** An optional object member. */
export interface Optional<T> {
  readonly optional: true;
  readonly inner: Schema<T>;
}

/** A member that is filled with a default when missing (always present after parse). */
export interface Defaulted<T> {
  readonly optional: "default";
  readonly inner: Schema<T>;
  readonly value: T;
}

// deno-lint-ignore no-explicit-any
type AnySchema = Schema<any>;
// deno-lint-ignore no-explicit-any
type Member = AnySchema | Optional<any> | Defaulted<any>;
export type Shape = { readonly [k: string]: Member };

/** The TypeScript type a schema describes. */
export type Infer<S> = S extends Schema<infer T> ? T
  : S extends Optional<infer T> ? T
  : S extends Defaulted<infer T> ? T
  : never;

type OptKeys<S extends Shape> = { [K in keyof S]: S[K] extends Optional<unknown> ? K : never }[
  keyof S
];
type ReqKeys<S extends Shape> = Exclude<keyof S, OptKeys<S>>;
type Flat<T> = { [K in keyof T]: T[K] } & unknown;
/** Object type of a shape: optional members become `?:`, all readonly. */
export type InferShape<S extends Shape> = Flat<
  & { readonly [K in ReqKeys<S>]: Infer<S[K]> }
  & { readonly [K in OptKeys<S>]?: Infer<S[K]> }
>;

function node<T>(
  parseBase: (v: unknown, field: string, errs: FieldError[]) => T | undefined,
  openapi: () => OpenApi,
  checks: ReadonlyArray<(v: T) => string | undefined> = [],
): Schema<T> {
  const s: Schema<T> = {
    optional: false,
    parse(v, field, errs) {
      const out = parseBase(v, field, errs);
      if (out === undefined) return undefined;
      for (const c of checks) {
        const msg = c(out);
        if (msg !== undefined) {
          errs.push({ field, message: msg });
          return undefined;
        }
      }
      return out;
    },
    openapi,
    check: (fn) => node(parseBase, openapi, [...checks, fn]),
    cel: (rule, message) =>
      node(parseBase, () => {
        const base = openapi();
        const prev = (base["x-kubernetes-validations"] ?? []) as unknown[];
        return { ...base, "x-kubernetes-validations": [...prev, { rule, message }] };
      }, checks),
    opt: () => ({ optional: true, inner: s }),
    default: (d) => ({ optional: "default", inner: s, value: d }),
  };
  return s;
}

function describe(o: OpenApi, opts?: NodeOpts): OpenApi {
  return opts?.description ? { description: opts.description, ...o } : o;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

export interface StringOpts extends NodeOpts {
  readonly minLength?: number;
  readonly maxLength?: number;
  /** ECMAScript regex source, also emitted as the OpenAPI `pattern`. */
  readonly pattern?: string;
  /** Human-readable name of the pattern for error messages. */
  readonly patternName?: string;
  readonly format?: string;
}

/** A string with optional length/pattern constraints. */
export function str(opts: StringOpts = {}): Schema<string> {
  const re = opts.pattern !== undefined ? new RegExp(opts.pattern) : undefined;
  return node<string>((v, field, errs) => {
    if (typeof v !== "string") {
      const hint = typeof v === "boolean"
        ? " (YAML reads unquoted yes/no/on/off/y/n/true/false as booleans: quote the value)"
        : typeof v === "number"
        ? " (quote the value)"
        : "";
      errs.push({
        field,
        message: `must be a string, got ${typeName(v)} ${JSON.stringify(v)}${hint}`,
      });
      return undefined;
    }
    if (opts.minLength !== undefined && v.length < opts.minLength) {
      errs.push({
        field,
        message: opts.minLength === 1
          ? "must not be empty"
          : `must be at least ${opts.minLength} characters`,
      });
      return undefined;
    }
    if (opts.maxLength !== undefined && v.length > opts.maxLength) {
      errs.push({ field, message: `must be at most ${opts.maxLength} characters` });
      return undefined;
    }
    if (re && !re.test(v)) {
      errs.push({
        field,
        message: `${JSON.stringify(v)} is not a valid ${
          opts.patternName ?? `value (${re.source})`
        }`,
      });
      return undefined;
    }
    return v;
  }, () =>
    describe({
      type: "string",
      ...(opts.format !== undefined ? { format: opts.format } : {}),
      ...(opts.minLength !== undefined ? { minLength: opts.minLength } : {}),
      ...(opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {}),
      ...(opts.pattern !== undefined ? { pattern: opts.pattern } : {}),
    }, opts));
}

/** One of a fixed set of strings. */
export function enumOf<const V extends string>(
  values: readonly V[],
  opts: NodeOpts = {},
): Schema<V> {
  return node<V>((v, field, errs) => {
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
      errs.push({
        field,
        message: `must be one of ${values.join(", ")}, got ${JSON.stringify(v)}`,
      });
      return undefined;
    }
    return v as V;
  }, () => describe({ type: "string", enum: [...values] }, opts));
}

export interface IntOpts extends NodeOpts {
  readonly min?: number;
  readonly max?: number;
  readonly format?: "int32" | "int64";
}

/** An integer within optional bounds. */
export function int(opts: IntOpts = {}): Schema<number> {
  return node<number>((v, field, errs) => {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      errs.push({ field, message: `must be an integer, got ${JSON.stringify(v)}` });
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      errs.push({ field, message: `must be >= ${opts.min}, got ${v}` });
      return undefined;
    }
    if (opts.max !== undefined && v > opts.max) {
      errs.push({ field, message: `must be <= ${opts.max}, got ${v}` });
      return undefined;
    }
    return v;
  }, () =>
    describe({
      type: "integer",
      format: opts.format ?? "int32",
      ...(opts.min !== undefined ? { minimum: opts.min } : {}),
      ...(opts.max !== undefined ? { maximum: opts.max } : {}),
    }, opts));
}

/** A boolean. */
export function bool(opts: NodeOpts = {}): Schema<boolean> {
  return node<boolean>((v, field, errs) => {
    if (typeof v !== "boolean") {
      errs.push({ field, message: `must be true or false, got ${JSON.stringify(v)}` });
      return undefined;
    }
    return v;
  }, () => describe({ type: "boolean" }, opts));
}

export interface ArrayOpts extends NodeOpts {
  readonly minItems?: number;
  readonly maxItems?: number;
  /** Emitted as x-kubernetes-list-type (e.g. "atomic", "set", "map"). */
  readonly listType?: "atomic" | "set" | "map";
  readonly listMapKeys?: readonly string[];
  /** Object key that must be unique among items (checked and reported). */
  readonly uniqueBy?: string;
}

/** An array of items. */
export function arr<T>(item: Schema<T>, opts: ArrayOpts = {}): Schema<readonly T[]> {
  return node<readonly T[]>((v, field, errs) => {
    if (!Array.isArray(v)) {
      errs.push({ field, message: `must be a list, got ${typeName(v)}` });
      return undefined;
    }
    if (opts.minItems !== undefined && v.length < opts.minItems) {
      errs.push({ field, message: `must have at least ${opts.minItems} item(s)` });
      return undefined;
    }
    if (opts.maxItems !== undefined && v.length > opts.maxItems) {
      errs.push({ field, message: `must have at most ${opts.maxItems} items` });
      return undefined;
    }
    const out: T[] = [];
    let ok = true;
    for (let i = 0; i < v.length; i++) {
      const p = item.parse(v[i], `${field}[${i}]`, errs);
      if (p === undefined) ok = false;
      else out.push(p);
    }
    if (!ok) return undefined;
    if (opts.uniqueBy !== undefined) {
      const seen = new Map<unknown, number>();
      for (let i = 0; i < out.length; i++) {
        const key = (out[i] as Record<string, unknown>)[opts.uniqueBy];
        const prev = seen.get(key);
        if (prev !== undefined) {
          errs.push({
            field: `${field}[${i}].${opts.uniqueBy}`,
            message: `duplicate ${opts.uniqueBy} ${JSON.stringify(key)} (also at index ${prev})`,
          });
          return undefined;
        }
        seen.set(key, i);
      }
    }
    return out;
  }, () =>
    describe({
      type: "array",
      items: item.openapi(),
      ...(opts.minItems !== undefined ? { minItems: opts.minItems } : {}),
      ...(opts.maxItems !== undefined ? { maxItems: opts.maxItems } : {}),
      ...(opts.listType !== undefined ? { "x-kubernetes-list-type": opts.listType } : {}),
      ...(opts.listMapKeys !== undefined ? { "x-kubernetes-list-map-keys": opts.listMapKeys } : {}),
    }, opts));
}

/** A string → string map (labels, selectors). */
export function stringMap(opts: NodeOpts = {}): Schema<Readonly<Record<string, string>>> {
  return node<Readonly<Record<string, string>>>((v, field, errs) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      errs.push({ field, message: `must be a map, got ${typeName(v)}` });
      return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v)) {
      if (typeof x !== "string") {
        errs.push({ field: `${field}.${k}`, message: `must be a string, got ${typeName(x)}` });
        return undefined;
      }
      out[k] = x;
    }
    return out;
  }, () => describe({ type: "object", additionalProperties: { type: "string" } }, opts));
}

export interface ObjectOpts extends NodeOpts {
  /** Unknown keys are an error (like `kubectl apply --validate=strict`). Default true. */
  readonly strict?: boolean;
  /** Exactly/at most one of these members may be set. */
  readonly oneOf?: readonly string[];
  /** When `oneOf` is set: must exactly one be present (true) or at most one (false). */
  readonly oneRequired?: boolean;
  /** Keep unknown fields in the OpenAPI schema (x-kubernetes-preserve-unknown-fields). */
  readonly preserveUnknown?: boolean;
}

/** An object with a fixed set of members. */
export function obj<S extends Shape>(shape: S, opts: ObjectOpts = {}): Schema<InferShape<S>> {
  const strict = opts.strict ?? true;
  return node<InferShape<S>>((v, field, errs) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      errs.push({ field, message: `must be an object, got ${typeName(v)}` });
      return undefined;
    }
    const rec = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let ok = true;
    const at = (k: string) => (field === "" ? k : `${field}.${k}`);
    for (const [k, m] of Object.entries(shape)) {
      const raw = rec[k];
      if (raw === undefined || raw === null) {
        if (m.optional === true) continue;
        if (m.optional === "default") {
          out[k] = m.value;
          continue;
        }
        errs.push({ field: at(k), message: "is required" });
        ok = false;
        continue;
      }
      const s: AnySchema = m.optional === false ? m : m.inner;
      const p = s.parse(raw, at(k), errs);
      if (p === undefined) ok = false;
      else out[k] = p;
    }
    if (strict) {
      for (const k of Object.keys(rec)) {
        if (!(k in shape)) {
          errs.push({ field: at(k), message: "unknown field" });
          ok = false;
        }
      }
    }
    if (ok && opts.oneOf) {
      const present = opts.oneOf.filter((k) => rec[k] !== undefined && rec[k] !== null);
      if (present.length > 1) {
        errs.push({ field, message: `only one of ${opts.oneOf.join(", ")} may be set` });
        ok = false;
      } else if (present.length === 0 && opts.oneRequired) {
        errs.push({ field, message: `one of ${opts.oneOf.join(", ")} must be set` });
        ok = false;
      }
    }
    return ok ? out as InferShape<S> : undefined;
  }, () => {
    const properties: Record<string, OpenApi> = {};
    const required: string[] = [];
    for (const [k, m] of Object.entries(shape)) {
      if (m.optional === false) {
        properties[k] = m.openapi();
        required.push(k);
      } else if (m.optional === "default") {
        properties[k] = { ...m.inner.openapi(), default: m.value };
      } else {
        properties[k] = m.inner.openapi();
      }
    }
    return describe({
      type: "object",
      properties,
      ...(required.length ? { required } : {}),
      ...(opts.preserveUnknown ? { "x-kubernetes-preserve-unknown-fields": true } : {}),
    }, opts);
  });
}

/** Integer or string (Kubernetes IntOrString, e.g. a port number or port name). */
export function intOrString(opts: NodeOpts = {}): Schema<number | string> {
  return node<number | string>((v, field, errs) => {
    if (typeof v === "string" && v.length > 0) return v;
    if (typeof v === "number" && Number.isInteger(v)) return v;
    errs.push({ field, message: `must be an integer or a string, got ${JSON.stringify(v)}` });
    return undefined;
  }, () => describe({ "x-kubernetes-int-or-string": true }, opts));
}

/**
 * A schema node with a hand-written parser (for shapes the combinators cannot
 * express). `parse` pushes errors and returns undefined on failure.
 */
export function custom<T>(
  parse: (v: unknown, field: string, errs: FieldError[]) => T | undefined,
  openapi: () => OpenApi,
): Schema<T> {
  return node(parse, openapi);
}

/** Parses `v` with `s`, returning the value or the list of errors. */
export function parseWith<T>(
  s: Schema<T>,
  v: unknown,
  field = "",
): { ok: true; value: T } | { ok: false; errors: FieldError[] } {
  const errs: FieldError[] = [];
  const value = s.parse(v, field, errs);
  if (value === undefined || errs.length) {
    return {
      ok: false,
      errors: errs.length ? errs : [{ field, message: "invalid" }],
    };
  }
  return { ok: true, value };
}
