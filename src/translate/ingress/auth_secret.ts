/**
 * Checks the htpasswd Secret an Ingress's `auth-secret` names before anything is
 * served with it: a missing or unreadable Secret, no `auth` key or no usable
 * user must not leave the Ingress served unprotected or looking healthy, so
 * those are access-control problems (the Ingress fails closed); users whose hash
 * NovaEdge cannot check are reported but the others are served.
 */
import type { KubeObject } from "../../store/types.ts";
import { secretData } from "../../snapshot/tls_secrets.ts";
import { NGINX_PREFIX } from "./annotations.ts";
import type { AnnotationProblem } from "./annotations.ts";
import { htpasswdHashKind, SUPPORTED_HTPASSWD_HINT } from "../../proxy/policy/htpasswd_hash.ts";

/** The key ingress-nginx reads an `auth-file` Secret from (and NovaEdge's ProxyPolicy uses). */
export const AUTH_SECRET_KEY = "auth";

const ANNOTATION = `${NGINX_PREFIX}auth-secret`;

/** Problems with the basic-auth Secret `<namespace>/<name>` (none when it is usable). */
export function authSecretProblems(
  namespace: string,
  name: string,
  secrets: ReadonlyMap<string, KubeObject>,
): AnnotationProblem[] {
  const ref = `Secret ${namespace}/${name}`;
  const fail = (why: string): AnnotationProblem[] => [{
    annotation: ANNOTATION,
    message: `${ANNOTATION}: ${ref} ${why}; the Ingress is not served until this is fixed`,
    security: true,
  }];
  const secret = secrets.get(`${namespace}/${name}`);
  if (secret === undefined) {
    return fail(
      `does not exist (create it with an htpasswd file under key "${AUTH_SECRET_KEY}")`,
    );
  }
  const d = secretData(secret);
  if (typeof d === "string") return fail(`cannot be read: ${d}`);
  const text = d.data.get(AUTH_SECRET_KEY);
  if (text === undefined) {
    const keys = [...d.data.keys()].sort();
    return fail(
      `has no key "${AUTH_SECRET_KEY}" (it has ${
        keys.length ? keys.map((k) => JSON.stringify(k)).join(", ") : "no keys"
      }); ingress-nginx auth-file Secrets keep the htpasswd file there`,
    );
  }
  // Same line handling as the snapshot builder: blank lines and # comments are skipped.
  const malformed: number[] = [];
  const unsupported: string[] = [];
  let usable = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) return void malformed.push(i + 1);
    const hash = line.slice(colon + 1).trim();
    if (htpasswdHashKind(hash) !== null) usable++;
    else unsupported.push(line.slice(0, colon));
  });
  const details = [
    malformed.length ? `line(s) ${malformed.join(", ")} are not "user:hash"` : "",
    unsupported.length
      ? `user(s) ${
        unsupported.map((u) => JSON.stringify(u)).join(", ")
      } use a hash NovaEdge cannot check (use ${SUPPORTED_HTPASSWD_HINT})`
      : "",
  ].filter((x) => x !== "").join("; ");
  if (usable === 0) {
    return fail(
      `key "${AUTH_SECRET_KEY}" has no usable user${details ? `: ${details}` : ""}`,
    );
  }
  if (details === "") return [];
  // Some users can log in: serve, and report the entries that cannot (those users are refused).
  return [{
    annotation: ANNOTATION,
    message: `${ANNOTATION}: ${ref}: ${details}; those entries never match`,
  }];
}
