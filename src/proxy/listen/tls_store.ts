/**
 * Certificates of a TLS listener, chosen per handshake by SNI: exact name,
 * then the wildcard one label up, then the default (first) certificate.
 * The store is rebuilt per snapshot and swapped under a running server, so
 * certificates change without a restart. It also holds the client-certificate
 * validation (mTLS) of the listeners on the socket, chosen by SNI the same
 * way: the context handed to the handshake then carries that CA bundle.
 */
import * as tls from "node:tls";
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { ClientValidation, SecretEntry } from "../../snapshot/types.ts";

/** Client validation of one listener on the socket, by the hostnames it serves. */
export interface ClientAuthRule {
  /** Listener hostnames ("" or none: every name). */
  readonly hostnames: readonly string[];
  readonly validation?: ClientValidation;
}

export class CertStore {
  private exact = new Map<string, tls.SecureContext>();
  private wildcard = new Map<string, tls.SecureContext>();
  readonly defaultContext: tls.SecureContext;
  /** Certificate and key of the default entry (node:tls needs one at creation). */
  readonly defaultPem: { cert: string; key: string };
  /** Lowest TLS version accepted ("TLSv1.2" or "TLSv1.3"). */
  readonly minVersion: tls.SecureVersion;
  /** Ask clients for a certificate (some listener on the socket validates them). */
  readonly requestCert: boolean;
  /** Refuse the handshake without a valid client certificate (every listener says AllowValidOnly). */
  readonly rejectUnauthorized: boolean;
  private pem = new Map<tls.SecureContext, { cert: string; key: string }>();
  private withCa = new Map<string, tls.SecureContext>();
  private rules: readonly ClientAuthRule[];

  /** Throws with a clear reason when a certificate, key or client CA is unusable. */
  constructor(
    secrets: readonly SecretEntry[],
    minVersion: string,
    clientAuth: readonly ClientAuthRule[] = [],
  ) {
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
      this.pem.set(ctx, { cert: s.certPem, key: s.keyPem });
      for (const name of namesOf(s)) {
        const n = name.toLowerCase();
        if (n.startsWith("*.")) {
          if (!this.wildcard.has(n.slice(2))) this.wildcard.set(n.slice(2), ctx);
        } else if (!this.exact.has(n)) this.exact.set(n, ctx);
      }
    }
    this.defaultContext = first!;
    this.defaultPem = { cert: secrets[0].certPem, key: secrets[0].keyPem };
    this.rules = clientAuth;
    for (const r of clientAuth) {
      if (r.validation) checkCaBundle(r.validation.caPem, r.hostnames);
    }
    this.requestCert = clientAuth.some((r) => r.validation);
    this.rejectUnauthorized = clientAuth.length > 0 &&
      clientAuth.every((r) => r.validation?.mode === "AllowValidOnly");
  }

  /** The client validation for a server name: the listener with the most specific hostname. */
  clientValidation(servername: string | undefined): ClientValidation | undefined {
    const n = (servername ?? "").toLowerCase();
    let best: ClientAuthRule | undefined;
    let rank = 0;
    for (const r of this.rules) {
      for (const h of r.hostnames.length ? r.hostnames : [""]) {
        const x = h.toLowerCase();
        const k = x === n && x !== ""
          ? 3
          : x.startsWith("*.") && n.endsWith(x.slice(1))
          ? 2
          : x === ""
          ? 1
          : 0;
        if (k > rank) [best, rank] = [r, k];
      }
    }
    return best?.validation;
  }

  /** The context for a client's server name (SNI), with the client CA when it validates clients. */
  select(servername: string | undefined): tls.SecureContext {
    return this.selectWith(
      servername,
      this.requestCert ? this.clientValidation(servername) : undefined,
    );
  }

  /**
   * The certificate context for a server name, carrying the CA bundle of `v`
   * (none: the plain certificate context). For callers that already know
   * which listener, hence which validation, serves the name (L4 terminate).
   */
  selectWith(servername: string | undefined, v: ClientValidation | undefined): tls.SecureContext {
    const ctx = this.certContext(servername);
    if (!v) return ctx;
    const pem = this.pem.get(ctx)!;
    const key = `${pem.cert}\0${v.caPem}`;
    let c = this.withCa.get(key);
    if (!c) {
      c = tls.createSecureContext({ ...pem, ca: v.caPem, minVersion: this.minVersion });
      this.withCa.set(key, c);
    }
    return c;
  }

  private certContext(servername: string | undefined): tls.SecureContext {
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

/** Throws when a client CA bundle holds no usable certificate. */
function checkCaBundle(pem: string, hostnames: readonly string[]): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  const where = `client CA of listener ${hostnames.length ? hostnames.join(",") : "*"}`;
  if (!blocks?.length) throw new Error(`${where} holds no PEM certificate`);
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new Error(`${where} is not a valid certificate: ${(e as Error).message}`);
    }
  }
}

function normalizeMinVersion(v: string): tls.SecureVersion {
  const s = v.replace(/[^0-9.]/g, "").replace("1_", "1.");
  if (s === "1.3" || /1_?3$/.test(v)) return "TLSv1.3";
  return "TLSv1.2";
}
