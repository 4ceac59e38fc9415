/**
 * Upstream TLS identity: the node:tls options for an upstream connection that
 * presents a client certificate or checks subjectAltNames (Deno.startTls can do
 * neither), and the subjectAltName check itself. Chain verification stays with
 * the TLS stack (CA bundle); only the name check is ours when SANs are given.
 */
import * as tls from "node:tls";
import type { UpstreamTls } from "./types.ts";

/** Does this upstream need node:tls (client certificate, SAN check, no verification)? */
export function needsNodeTls(t: UpstreamTls): boolean {
  return t.insecure || t.clientCert !== undefined || (t.subjectAltNames?.length ?? 0) > 0;
}

/** The names a peer certificate carries: DNS names (lowercase) and URIs. */
function certNames(cert: tls.PeerCertificate): { dns: string[]; uris: string[] } {
  const dns: string[] = [];
  const uris: string[] = [];
  for (const part of (cert.subjectaltname ?? "").split(", ")) {
    if (part.startsWith("DNS:")) dns.push(part.slice(4).toLowerCase());
    else if (part.startsWith("URI:")) uris.push(part.slice(4));
  }
  return { dns, uris };
}

/** Does DNS name `pattern` from a certificate (maybe "*.x") cover `name`? */
function dnsMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith("*.")) return false;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/**
 * Why `cert` fails the subjectAltNames check (undefined: it carries one of
 * `wanted`). A wanted name with "://" is a URI SAN, compared exactly; anything
 * else is a hostname, matched against DNS SANs (wildcards one label deep).
 */
export function sanProblem(
  wanted: readonly string[],
  cert: tls.PeerCertificate,
  target: string,
): Error | undefined {
  const have = certNames(cert);
  for (const w of wanted) {
    if (w.includes("://")) {
      if (have.uris.includes(w)) return undefined;
    } else if (have.dns.some((d) => dnsMatches(d, w.toLowerCase()))) return undefined;
  }
  const carried = [...have.dns.map((d) => `DNS:${d}`), ...have.uris.map((u) => `URI:${u}`)];
  return new Error(
    `upstream certificate of ${target} matches none of the subjectAltNames ${
      wanted.join(", ")
    } (it carries ${carried.length ? carried.join(", ") : "no DNS or URI names"})`,
  );
}

/** node:tls connection options for an upstream (CA, SNI, client certificate, SAN check). */
export function nodeTlsOptions(t: UpstreamTls, host: string, port: number): tls.ConnectionOptions {
  const sans = t.subjectAltNames ?? [];
  return {
    servername: t.sni || undefined,
    ...(t.caCerts.length ? { ca: [...t.caCerts] } : {}),
    ...(t.clientCert ? { cert: t.clientCert.cert, key: t.clientCert.key } : {}),
    rejectUnauthorized: !t.insecure,
    ...(sans.length && !t.insecure
      ? {
        checkServerIdentity: (_name: string, cert: tls.PeerCertificate) =>
          sanProblem(sans, cert, `${host}:${port}`),
      }
      : {}),
  };
}
