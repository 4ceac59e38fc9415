/**
 * Which htpasswd hash formats NovaEdge can check. Shared by the data plane
 * (basic_auth.ts) and the Ingress translator, which reports users whose hash
 * can never match instead of silently locking them out. No imports: the
 * translator must stay pure.
 */

/** A hash format the proxy verifies. */
export type HtpasswdHashKind = "sha" | "bcrypt" | "apr1";

const SHA = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
// Apache MD5 (`htpasswd -m`, the tool's default): salt of 1–8 chars, 22-char digest.
const APR1 = /^\$apr1\$[^$]{1,8}\$[./0-9A-Za-z]{22}$/;

/** The format of a stored hash, or null when no password can ever match it. */
export function htpasswdHashKind(hash: string): HtpasswdHashKind | null {
  if (SHA.test(hash)) return "sha";
  if (BCRYPT.test(hash)) return "bcrypt";
  if (APR1.test(hash)) return "apr1";
  return null;
}

/** The formats a user can pick, for messages ("use … : htpasswd -B, -m or -s"). */
export const SUPPORTED_HTPASSWD_HINT =
  "bcrypt, Apache MD5 ($apr1$) or {SHA}: htpasswd -B, -m or -s";
