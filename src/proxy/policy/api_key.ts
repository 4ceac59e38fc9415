/**
 * API-key authentication: the presented key (from a header or a query
 * parameter) is hashed with SHA-256 and compared with the configured hashes
 * (the snapshot carries hashes only). Every stored hash is compared in
 * constant time, without an early exit.
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyAuth } from "../../snapshot/types.ts";

/** Reads the first value of query parameter `name` from a raw query (with or without "?"). */
export function queryParam(query: string, name: string): string | null {
  if (query === "") return null;
  const q = query.charCodeAt(0) === 63 ? query.slice(1) : query;
  for (const part of q.split("&")) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    let dk: string;
    try {
      dk = decodeURIComponent(k.replaceAll("+", " "));
    } catch {
      continue;
    }
    if (dk !== name) continue;
    const v = eq < 0 ? "" : part.slice(eq + 1);
    try {
      return decodeURIComponent(v.replaceAll("+", " "));
    } catch {
      return null;
    }
  }
  return null;
}

/** A compiled API-key check. */
export class ApiKeyVerifier {
  readonly #hashes: Buffer[];
  readonly header: string;
  readonly queryParam: string;

  constructor(c: ApiKeyAuth) {
    this.header = c.header.toLowerCase();
    this.queryParam = c.queryParam;
    this.#hashes = c.keySha256.filter((h) => /^[0-9a-f]{64}$/i.test(h)).map((h) =>
      Buffer.from(h, "hex")
    );
  }

  /** The key presented by the request (header first, then query), or null. */
  presented(header: (name: string) => string | null, query: string): string | null {
    if (this.header !== "") {
      const v = header(this.header);
      if (v !== null && v.trim() !== "") return v.trim();
    }
    if (this.queryParam !== "") {
      const v = queryParam(query, this.queryParam);
      if (v !== null && v.trim() !== "") return v.trim();
    }
    return null;
  }

  /** Is `key` one of the configured keys? */
  verify(key: string): boolean {
    const d = createHash("sha256").update(key, "utf8").digest();
    let ok = false;
    for (const h of this.#hashes) ok = timingSafeEqual(d, h) || ok;
    return ok;
  }
}
