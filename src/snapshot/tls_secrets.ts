/**
 * Reads kubernetes.io/tls Secrets into snapshot SecretEntries: PEMs decoded from
 * `data` (base64) or `stringData`, the certificate parsed with node:crypto to
 * take its DNS SANs (for SNI selection) and to check the key matches it.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { Buffer } from "node:buffer";
import type { KubeObject } from "../store/types.ts";
import type { SecretEntry } from "./types.ts";
import type { ObjectIndex } from "./object_index.ts";
import { parseWith } from "../crds/schema.ts";
import { secretBody } from "../crds/core.ts";

/** Decoded string data of a Secret (`data` base64-decoded, `stringData` taking precedence). */
export function secretData(o: KubeObject): { type: string; data: Map<string, string> } | string {
  const r = parseWith(secretBody, o);
  if (!r.ok) return `${r.errors[0].field}: ${r.errors[0].message}`;
  const data = new Map<string, string>();
  for (const [k, v] of Object.entries(r.value.data)) {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(v)) return `data.${k}: not valid base64`;
    data.set(k, Buffer.from(v, "base64").toString("utf8"));
  }
  for (const [k, v] of Object.entries(r.value.stringData)) data.set(k, v);
  return { type: r.value.type, data };
}

/** DNS names from an X509 subjectAltName string ("DNS:a, DNS:*.b, IP Address:..."). */
export function dnsNamesFromSan(san: string | undefined): string[] {
  if (!san) return [];
  const out: string[] = [];
  for (const part of san.split(",")) {
    const p = part.trim();
    if (p.startsWith("DNS:")) out.push(p.slice(4).toLowerCase());
  }
  return [...new Set(out)].sort();
}

/** Builds a SecretEntry from a TLS Secret, or returns the reason it cannot be used. */
export function tlsSecretEntry(name: string, o: KubeObject): SecretEntry | string {
  const d = secretData(o);
  if (typeof d === "string") return d;
  if (d.type !== "kubernetes.io/tls") {
    return `type must be kubernetes.io/tls, got ${JSON.stringify(d.type)}`;
  }
  const certPem = d.data.get("tls.crt") ?? "";
  const keyPem = d.data.get("tls.key") ?? "";
  if (!certPem) return `data["tls.crt"] is missing`;
  if (!keyPem) return `data["tls.key"] is missing`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    return `data["tls.crt"] is not a PEM certificate: ${(e as Error).message}`;
  }
  try {
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) return `data["tls.key"] does not match the certificate`;
  } catch (e) {
    return `data["tls.key"] is not a PEM private key: ${(e as Error).message}`;
  }
  return {
    name,
    certPem,
    keyPem,
    dnsNames: dnsNamesFromSan(cert.subjectAltName),
    caPem: d.data.get("ca.crt") ?? "",
  };
}

/**
 * A CA bundle from a Secret (ca.crt, else tls.crt) or a ConfigMap (ca.crt),
 * or the reason it cannot be used (missing object or key, no PEM certificate).
 */
export function caBundle(
  index: ObjectIndex,
  kind: "Secret" | "ConfigMap",
  ns: string,
  name: string,
): { pem: string; error?: string } {
  if (kind === "ConfigMap") {
    const cm = index.get("ConfigMap", `${ns}/${name}`);
    if (!cm) return { pem: "", error: `ConfigMap ${ns}/${name} not found` };
    const pem = (cm as { data?: Record<string, unknown> }).data?.["ca.crt"];
    if (typeof pem !== "string" || !pem.includes("-----BEGIN CERTIFICATE-----")) {
      return { pem: "", error: `ConfigMap ${ns}/${name} has no PEM certificate under ca.crt` };
    }
    return { pem };
  }
  const sec = index.get("Secret", `${ns}/${name}`);
  const d = sec ? secretData(sec) : `Secret ${ns}/${name} not found`;
  if (typeof d === "string") return { pem: "", error: d };
  const pem = d.data.get("ca.crt") ?? d.data.get("tls.crt") ?? "";
  return pem ? { pem } : { pem, error: `Secret ${ns}/${name} has no ca.crt` };
}
