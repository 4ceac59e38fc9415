/**
 * Apache's MD5 crypt (`$apr1$`), the default hash of `htpasswd` and therefore
 * what most ingress-nginx auth Secrets hold. It is the FreeBSD md5crypt
 * algorithm with the magic "$apr1$": weak by today's standards, but users
 * migrating from ingress-nginx must not be locked out by it.
 */
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";

const MAGIC = "$apr1$";
const ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

function md5(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
}

function to64(v: number, n: number): string {
  let out = "";
  for (let i = 0; i < n; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** `$apr1$<salt>$<digest>` for a password and a salt (at most 8 chars are used). */
export function apr1Hash(password: string, salt: string): string {
  const s = salt.split("$")[0].slice(0, 8);
  const pw = Buffer.from(password, "utf8");
  const sb = Buffer.from(s, "utf8");
  const alt = md5(pw, sb, pw);
  const first: Uint8Array[] = [pw, Buffer.from(MAGIC), sb];
  for (let left = pw.length; left > 0; left -= 16) first.push(alt.subarray(0, Math.min(16, left)));
  // For each bit of the length: a zero byte when set, the password's first byte when clear.
  const zero = new Uint8Array(1);
  const head = pw.subarray(0, 1);
  for (let i = pw.length; i > 0; i >>= 1) first.push(i & 1 ? zero : head);
  let final = md5(...first);
  // 1000 rounds of stretching, as md5crypt specifies.
  for (let i = 0; i < 1000; i++) {
    const parts: Uint8Array[] = [i & 1 ? pw : final];
    if (i % 3) parts.push(sb);
    if (i % 7) parts.push(pw);
    parts.push(i & 1 ? final : pw);
    final = md5(...parts);
  }
  const f = final;
  const enc = to64((f[0] << 16) | (f[6] << 8) | f[12], 4) +
    to64((f[1] << 16) | (f[7] << 8) | f[13], 4) +
    to64((f[2] << 16) | (f[8] << 8) | f[14], 4) +
    to64((f[3] << 16) | (f[9] << 8) | f[15], 4) +
    to64((f[4] << 16) | (f[10] << 8) | f[5], 4) +
    to64(f[11], 2);
  return `${MAGIC}${s}$${enc}`;
}

/** The salt of a stored `$apr1$salt$digest` hash. */
export function apr1Salt(stored: string): string {
  return stored.slice(MAGIC.length).split("$")[0];
}
