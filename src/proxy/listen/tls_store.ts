/**
 * Certificates of a TLS listener, chosen per handshake by SNI: exact name,
 * then the wildcard one label up, then the default (first) certificate.
 * The store is rebuilt per snapshot and swapped under a running server, so
 * certificates change without a restart.
 */
import * as tls from "node:tls";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { SecretEntry } from "../../snapshot/types.ts";

export class CertStore {
  private exact = new Map<string, tls.SecureContext>();
  private wildcard = new Map<string, tls.SecureContext>();
  readonly defaultContext: tls.SecureContext;
  /** Certificate and key of the default entry (node:tls needs one at creation). */
  readonly defaultPem: { cert: string; key: string };
  /** Lowest TLS version accepted ("TLSv1.2" or "TLSv1.3"). */
  readonly minVersion: tls.SecureVersion;

  /** Throws with a clear reason when a certificate or key is unusable. */
  constructor(secrets: readonly SecretEntry[], minVersion: string) {
    if (secrets.length === 0) throw new Error("TLS listener has no certificate");
    const min = normalizeMinVersion(minVersion);
    this.minVersion = min;
    let first: tls.SecureContext | null = null;
    for (const s of secrets) {
      let ctx: tls.SecureContext;
      try {
        // node:tls under Deno defers key errors to the handshake: check up front.
        const x = new X509Certificate(s.certPem);
        const key = createPrivateKey(s.keyPem);
        if (!x.checkPrivateKey(key)) throw new Error("the key does not match the certificate");
        ctx = tls.createSecureContext({ cert: s.certPem, key: s.keyPem, minVersion: min });
      } catch (e) {
        throw new Error(`certificate "${s.name}" is unusable: ${(e as Error).message}`);
      }
      first ??= ctx;
      for (const name of namesOf(s)) {
        const n = name.toLowerCase();
        if (n.startsWith("*.")) {
          if (!this.wildcard.has(n.slice(2))) this.wildcard.set(n.slice(2), ctx);
        } else if (!this.exact.has(n)) this.exact.set(n, ctx);
      }
    }
    this.defaultContext = first!;
    this.defaultPem = { cert: secrets[0].certPem, key: secrets[0].keyPem };
  }

  /** The context for a client's server name (SNI). */
  select(servername: string | undefined): tls.SecureContext {
    if (!servername) return this.defaultContext;
    const n = servername.toLowerCase();
    const e = this.exact.get(n);
    if (e) return e;
    const dot = n.indexOf(".");
    if (dot > 0) {
      const w = this.wildcard.get(n.slice(dot + 1));
      if (w) return w;
    }
    return this.defaultContext;
  }
}

function namesOf(s: SecretEntry): string[] {
  if (s.dnsNames.length) return [...s.dnsNames];
  try {
    const x = new X509Certificate(s.certPem);
    const out: string[] = [];
    for (const part of (x.subjectAltName ?? "").split(",")) {
      const p = part.trim();
      if (p.startsWith("DNS:")) out.push(p.slice(4));
    }
    if (out.length === 0) {
      const cn = /CN=([^,\n]+)/.exec(x.subject);
      if (cn) out.push(cn[1].trim());
    }
    return out;
  } catch {
    return [];
  }
}

function normalizeMinVersion(v: string): tls.SecureVersion {
  const s = v.replace(/[^0-9.]/g, "").replace("1_", "1.");
  if (s === "1.3" || /1_?3$/.test(v)) return "TLSv1.3";
  return "TLSv1.2";
}
