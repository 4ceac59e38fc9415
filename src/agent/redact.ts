import type { Policy, Snapshot } from "../snapshot/types.ts";

/** What redaction puts in place of a private key or another credential. */
export const REDACTED = "<redacted>";

/** JWK members that hold secret or private key material (RFC 7517/7518: oct `k`, RSA/EC privates). */
const SECRET_JWK_MEMBERS = ["k", "d", "p", "q", "dp", "dq", "qi", "oth"];

/**
 * The snapshot as debug endpoints and dumps show it: private keys and other
 * credentials (HMAC JWKs, htpasswd hashes) never leave the process. Public
 * material — certificates, CA bundles, public JWKs, API-key hashes — stays.
 */
export function redactSnapshot(s: Snapshot): Snapshot {
  return {
    ...s,
    secrets: s.secrets.map((e) => ({ ...e, keyPem: e.keyPem === "" ? "" : REDACTED })),
    policies: s.policies.map(redactPolicy),
  };
}

function redactPolicy(p: Policy): Policy {
  let out = p;
  if (p.jwt && p.jwt.jwksJson !== "") {
    out = { ...out, jwt: { ...p.jwt, jwksJson: redactJwks(p.jwt.jwksJson) } };
  }
  if (p.basicAuth && p.basicAuth.htpasswd.length > 0) {
    // Keep the user names (useful when debugging), drop the hashes.
    const htpasswd = p.basicAuth.htpasswd.map((l) => {
      const c = l.indexOf(":");
      return c < 0 ? REDACTED : `${l.slice(0, c)}:${REDACTED}`;
    });
    out = { ...out, basicAuth: { ...p.basicAuth, htpasswd } };
  }
  return out;
}

/** A JWKS with its secret members replaced; unreadable text is replaced whole. */
function redactJwks(json: string): string {
  let set: unknown;
  try {
    set = JSON.parse(json);
  } catch {
    return REDACTED;
  }
  if (typeof set !== "object" || set === null) return REDACTED;
  const keys = (set as { keys?: unknown }).keys;
  if (!Array.isArray(keys)) return REDACTED;
  const clean = keys.map((k: unknown) => {
    if (typeof k !== "object" || k === null) return REDACTED;
    const o: Record<string, unknown> = { ...(k as Record<string, unknown>) };
    for (const m of SECRET_JWK_MEMBERS) if (m in o) o[m] = REDACTED;
    return o;
  });
  return JSON.stringify({ ...(set as Record<string, unknown>), keys: clean });
}
