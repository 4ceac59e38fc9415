/**
 * Canonical encoding and content-hash version of a Snapshot. The canonical form
 * is JSON with object keys sorted and `undefined` members dropped; the version
 * is "v" + the first 16 hex chars of its sha256. Same content, same version.
 */
import { createHash } from "node:crypto";
import type { Snapshot } from "./types.ts";

/** Stable JSON: sorted keys, no undefined members, no whitespace. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") {
    if (typeof v === "number" && !Number.isFinite(v)) throw new Error("non-finite number");
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) {
    return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(",")}]`;
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec).filter((k) => rec[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(rec[k])}`).join(",")}}`;
}

/** The canonical bytes of a snapshot's content (every field except `version`). */
export function canonicalSnapshot(s: Omit<Snapshot, "version"> | Snapshot): string {
  const { version: _v, ...content } = s as Snapshot;
  return canonicalJson(content);
}

/** Content-hash version: "v" + sha256(canonical form)[0:16]. */
export function snapshotVersion(s: Omit<Snapshot, "version"> | Snapshot): string {
  return "v" + createHash("sha256").update(canonicalSnapshot(s)).digest("hex").slice(0, 16);
}
