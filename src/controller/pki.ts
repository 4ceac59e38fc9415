/**
 * A tiny certificate authority for the controller's gRPC channel: an ECDSA
 * P-256 CA and server leaf certificates, built as DER by hand (WebCrypto signs,
 * but neither WebCrypto nor node:crypto can create X.509 certificates). Doing it
 * here keeps the controller image free of an `openssl` binary and of
 * subprocesses. The output satisfies rustls/webpki (what Deno's node:tls uses):
 * v3, CA with basicConstraints CA:true + keyCertSign, leaf with SANs and
 * serverAuth.
 */
import { Buffer } from "node:buffer";

/** PEM-encoded certificate and PKCS#8 private key. */
export interface CertKeyPair {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface LeafOptions {
  readonly commonName: string;
  /** DNS names and IP addresses (v4 or v6) for the subjectAltName extension. */
  readonly sans: readonly string[];
  /** Validity in days (default 365). */
  readonly days?: number;
  /** Extended key usages; default server and client auth. */
  readonly usage?: readonly ("server" | "client")[];
}

// ---------- DER encoding ----------

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function derLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  while (n > 0) {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(content);
  return concat([Uint8Array.of(tag), derLength(body.length), body]);
}

const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
const set = (...c: Uint8Array[]) => tlv(0x31, ...c);
const octets = (b: Uint8Array) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
const bool = (b: boolean) => tlv(0x01, Uint8Array.of(b ? 0xff : 0));
const explicit = (n: number, ...c: Uint8Array[]) => tlv(0xa0 | n, ...c);

/** INTEGER from unsigned big-endian bytes (minimal, non-negative). */
function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if (b[0] & 0x80) b = concat([Uint8Array.of(0), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    let v = Math.floor(p / 128);
    while (v > 0) {
      chunk.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(out));
}

/** BIT STRING of whole octets (signatures, keys): no unused bits. */
function bitString(bytes: Uint8Array): Uint8Array {
  return tlv(0x03, Uint8Array.of(0), bytes);
}

/**
 * BIT STRING of named bits (keyUsage): DER drops trailing zero bits and counts
 * them as unused. (Doing this to a signature would corrupt it: webpki rejects
 * the certificate with BadEncoding while openssl shrugs.)
 */
function namedBits(bytes: Uint8Array): Uint8Array {
  let unused = 0;
  const last = bytes[bytes.length - 1] ?? 0;
  if (last !== 0) {
    while (((last >> unused) & 1) === 0) unused++;
  }
  return tlv(0x03, Uint8Array.of(unused), bytes);
}

function time(d: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}` +
    `${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  if (y < 2050) return tlv(0x17, new TextEncoder().encode(p(y % 100) + body));
  return tlv(0x18, new TextEncoder().encode(p(y, 4) + body));
}

function name(commonName: string): Uint8Array {
  return seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
}

function ipBytes(ip: string): Uint8Array | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split(".").map(Number);
    return parts.every((n) => n <= 255) ? Uint8Array.from(parts) : null;
  }
  if (!ip.includes(":")) return null;
  const [head, tail] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  if (ip.split("::").length > 2) return null;
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const groups = [...h, ...Array(fill).fill("0"), ...t];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

// ---------- DER reading (just enough to take a CA certificate apart) ----------

interface Tlv {
  readonly tag: number;
  /** The whole element, header included. */
  readonly raw: Uint8Array;
  readonly body: Uint8Array;
}

function readTlv(buf: Uint8Array, off: number): { el: Tlv; next: number } {
  const tag = buf[off];
  let len = buf[off + 1];
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[off + 2 + i];
    hdr += n;
  }
  const end = off + hdr + len;
  if (end > buf.length) throw new Error("truncated DER");
  return {
    el: { tag, raw: buf.subarray(off, end), body: buf.subarray(off + hdr, end) },
    next: end,
  };
}

function children(el: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let off = 0;
  while (off < el.body.length) {
    const { el: c, next } = readTlv(el.body, off);
    out.push(c);
    off = next;
  }
  return out;
}

// ---------- PEM ----------

export function pemToDer(pem: string, label: string): Uint8Array {
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`).exec(pem);
  if (!m) throw new Error(`no "${label}" PEM block found`);
  return new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64"));
}

export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

// ---------- issuing ----------

/** Copy into a plain ArrayBuffer-backed view, which WebCrypto's types require. */
const buf = (u: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(u);

const ECDSA = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

async function keyId(spki: Uint8Array): Promise<Uint8Array> {
  // RFC 7093 method 1 style: truncated SHA-256 of the SubjectPublicKeyInfo.
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf(spki))).subarray(0, 20);
}

/** WebCrypto ECDSA signatures are r||s; X.509 wants SEQUENCE { r INTEGER, s INTEGER }. */
function p1363ToDer(sig: Uint8Array): Uint8Array {
  const half = sig.length / 2;
  return seq(uint(sig.subarray(0, half)), uint(sig.subarray(half)));
}

function serial(): Uint8Array {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] & 0x7f) | 0x01; // positive and never zero
  return uint(b);
}

async function sign(
  tbs: Uint8Array,
  issuerKey: CryptoKey,
): Promise<Uint8Array> {
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, issuerKey, buf(tbs)),
  );
  return seq(tbs, ECDSA_SHA256, bitString(p1363ToDer(sig)));
}

async function newKey(): Promise<{ pair: CryptoKeyPair; spki: Uint8Array; keyPem: string }> {
  const pair = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { pair, spki, keyPem: derToPem(pkcs8, "PRIVATE KEY") };
}

function validity(days: number): Uint8Array {
  // Backdate an hour so clock skew between nodes never makes a fresh cert "not yet valid".
  const now = Date.now();
  return seq(time(new Date(now - 3600_000)), time(new Date(now + days * 86400_000)));
}

/** Create a self-signed CA (default validity 10 years). */
export async function createCa(commonName: string, days = 3650): Promise<CertKeyPair> {
  const { pair, spki, keyPem } = await newKey();
  const kid = await keyId(spki);
  const subject = name(commonName);
  const tbs = seq(
    explicit(0, uint(Uint8Array.of(2))),
    serial(),
    ECDSA_SHA256,
    subject,
    validity(days),
    subject,
    spki,
    explicit(
      3,
      seq(
        extension("2.5.29.19", true, seq(bool(true))),
        // keyCertSign + cRLSign + digitalSignature
        extension("2.5.29.15", true, namedBits(Uint8Array.of(0x86))),
        extension("2.5.29.14", false, octets(kid)),
      ),
    ),
  );
  const cert = await sign(tbs, pair.privateKey);
  return { certPem: derToPem(cert, "CERTIFICATE"), keyPem };
}

/** Issue a leaf certificate signed by `ca`. */
export async function issueLeaf(ca: CertKeyPair, opts: LeafOptions): Promise<CertKeyPair> {
  if (opts.sans.length === 0) throw new Error("a leaf certificate needs at least one SAN");
  const caDer = pemToDer(ca.certPem, "CERTIFICATE");
  const caTbs = children(children(readTlv(caDer, 0).el)[0]);
  // tbs: [0]version, serial, sigAlg, issuer, validity, subject, spki, ...
  const caSubject = caTbs[5].raw;
  const caSpki = caTbs[6].raw;
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    buf(pemToDer(ca.keyPem, "PRIVATE KEY")),
    ECDSA,
    false,
    ["sign"],
  );
  const { spki, keyPem } = await newKey();
  const sans = opts.sans.map((s) => {
    const ip = ipBytes(s);
    return ip ? tlv(0x87, ip) : tlv(0x82, new TextEncoder().encode(s));
  });
  const usage = opts.usage ?? ["server", "client"];
  const eku = usage.map((u) => oid(u === "server" ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2"));
  const tbs = seq(
    explicit(0, uint(Uint8Array.of(2))),
    serial(),
    ECDSA_SHA256,
    caSubject,
    validity(opts.days ?? 365),
    name(opts.commonName),
    spki,
    explicit(
      3,
      seq(
        extension("2.5.29.19", true, seq()),
        extension("2.5.29.15", true, namedBits(Uint8Array.of(0x80))), // digitalSignature
        extension("2.5.29.37", false, seq(...eku)),
        extension("2.5.29.17", false, seq(...sans)),
        extension("2.5.29.14", false, octets(await keyId(spki))),
        extension("2.5.29.35", false, seq(tlv(0x80, await keyId(caSpki)))),
      ),
    ),
  );
  const cert = await sign(tbs, caKey);
  return { certPem: derToPem(cert, "CERTIFICATE"), keyPem };
}

/** notAfter of a PEM certificate, to know when to re-issue. */
export function certNotAfter(certPem: string): Date {
  const der = pemToDer(certPem, "CERTIFICATE");
  const tbs = children(children(readTlv(der, 0).el)[0]);
  const v = children(tbs[4])[1];
  const s = new TextDecoder().decode(v.body);
  const full = v.tag === 0x17 ? (Number(s.slice(0, 2)) < 50 ? "20" : "19") + s : s;
  const iso = `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:` +
    `${full.slice(10, 12)}:${full.slice(12, 14)}Z`;
  return new Date(iso);
}
