/**
 * Parses the text of one manifest file (YAML, multi-document, or JSON) into
 * Kubernetes objects — the same YAML a user would `kubectl apply`. Pure: the
 * caller reads the file. Every problem becomes a diagnostic naming
 * "<file>#<document>" (1-based) and the reason; good documents still load.
 */
import { parseAllDocuments } from "yaml";
import type { Diagnostic, KubeObject } from "../store/types.ts";

/** Annotation recording where an object came from ("<file>#<doc>"). */
export const SOURCE_ANNOTATION = "novaedge.io/source";

/** Cluster-scoped kinds keep no namespace; everything else defaults to "default". */
const CLUSTER_SCOPED = new Set(["Node", "Namespace", "GatewayClass", "IngressClass"]);

export interface ParseResult {
  readonly objects: KubeObject[];
  readonly diagnostics: Diagnostic[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks the envelope of one object; returns it with defaults, or an error message. */
function toObject(v: unknown, source: string): KubeObject | string {
  if (!isRecord(v)) return "document is not a mapping";
  if (typeof v.apiVersion !== "string" || !v.apiVersion) return "apiVersion: is required";
  if (typeof v.kind !== "string" || !v.kind) return "kind: is required";
  const md = v.metadata;
  if (!isRecord(md)) return "metadata: is required";
  if (typeof md.name !== "string" || !md.name) return "metadata.name: is required";
  if (md.namespace !== undefined && typeof md.namespace !== "string") {
    return "metadata.namespace: must be a string";
  }
  for (const m of ["labels", "annotations"] as const) {
    const x = md[m];
    if (x === undefined || x === null) continue;
    if (!isRecord(x) || Object.values(x).some((s) => typeof s !== "string")) {
      return `metadata.${m}: must be a map of strings`;
    }
  }
  const namespace = CLUSTER_SCOPED.has(v.kind)
    ? undefined
    : (md.namespace as string | undefined) ?? "default";
  const annotations = {
    ...(md.annotations as Record<string, string> | undefined),
    [SOURCE_ANNOTATION]: source,
  };
  return {
    ...v,
    apiVersion: v.apiVersion,
    kind: v.kind,
    metadata: {
      ...md,
      name: md.name,
      ...(namespace !== undefined ? { namespace } : {}),
      annotations,
    },
  } as KubeObject;
}

/** Parses one file's text. `file` is used in diagnostics and the source annotation. */
export function parseManifests(text: string, file: string): ParseResult {
  const objects: KubeObject[] = [];
  const diagnostics: Diagnostic[] = [];
  let docs;
  try {
    // YAML 1.1, as kubectl (go-yaml) reads it: `on`, `yes`, `y` are booleans there too.
    docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, version: "1.1" });
  } catch (e) {
    diagnostics.push({
      severity: "error",
      source: file,
      message: `cannot parse: ${(e as Error).message}`,
    });
    return { objects, diagnostics };
  }
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const source = `${file}#${i + 1}`;
    if (doc.errors.length) {
      diagnostics.push({
        severity: "error",
        source,
        message: `malformed YAML: ${doc.errors[0].message.split("\n")[0]}`,
      });
      return;
    }
    const v: unknown = doc.toJS({ maxAliasCount: 100 });
    if (v === null || v === undefined) return; // empty document ("---" at the end)
    // kubectl accepts `kind: List` (and FooList) with items.
    if (
      isRecord(v) && typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items)
    ) {
      v.items.forEach((item: unknown, j: number) => {
        const o = toObject(item, `${source}`);
        if (typeof o === "string") {
          diagnostics.push({ severity: "error", source, field: `items[${j}]`, message: o });
        } else objects.push(o);
      });
      return;
    }
    const o = toObject(v, source);
    if (typeof o === "string") {
      const colon = o.indexOf(": ");
      diagnostics.push({
        severity: "error",
        source,
        ...(colon > 0 ? { field: o.slice(0, colon) } : {}),
        message: colon > 0 ? o.slice(colon + 2) : o,
      });
    } else objects.push(o);
  });
  return { objects, diagnostics };
}

/**
 * "<Kind>/<ns>/<name>" (the builder's diagnostic source) → "<file>#<doc>" for
 * every object that carries the source annotation, so problems can name files.
 */
export function objectFiles(objects: readonly KubeObject[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of objects) {
    const src = o.metadata.annotations?.[SOURCE_ANNOTATION];
    const key = `${o.kind}/${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
    if (src && !m.has(key)) m.set(key, src);
  }
  return m;
}

/** A diagnostic with "<file>#<doc>" prepended to its source when the object's file is known. */
export function locateDiagnostic(d: Diagnostic, files: ReadonlyMap<string, string>): Diagnostic {
  const f = files.get(d.source);
  return f ? { ...d, source: `${f} ${d.source}` } : d;
}
