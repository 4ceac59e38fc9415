/**
 * ProxyPolicy → snapshot Policies. Targets are same-namespace references
 * (Gateway API policy attachment). Credentials come from Secrets; when one is
 * missing the policy still ships with an empty credential list, so auth fails
 * closed rather than open. Likewise a JWT policy whose jwksUri CA bundle
 * (`jwt.jwksCaCertificateRef`) cannot be used ships with no JWKS at all (every
 * token refused) and is reported Accepted=False.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { Typed } from "../crds/mod.ts";
import { durationMs } from "../crds/common.ts";
import type { CorsSpecT, HeaderModifierSpec } from "../crds/common.ts";
import type { BuildContext } from "./build_context.ts";
import type { KubeObject } from "../store/types.ts";
import type { Cors, HeaderModifier, Policy } from "./types.ts";
import { caBundle, secretData } from "./tls_secrets.ts";

/** Converts a CRD header modifier to the snapshot form (names as written). */
export function headerModifier(h: HeaderModifierSpec): HeaderModifier {
  return {
    set: (h.set ?? []).map((x) => ({ name: x.name, value: x.value })),
    add: (h.add ?? []).map((x) => ({ name: x.name, value: x.value })),
    remove: [...(h.remove ?? [])],
  };
}

/** Converts CRD CORS settings to the snapshot form. */
export function cors(c: CorsSpecT): Cors {
  return {
    allowOrigins: [...(c.allowOrigins ?? [])],
    allowMethods: [...(c.allowMethods ?? [])],
    allowHeaders: [...(c.allowHeaders ?? [])],
    exposeHeaders: [...(c.exposeHeaders ?? [])],
    allowCredentials: c.allowCredentials ?? false,
    maxAgeSeconds: Math.floor(durationMs(c.maxAge) / 1000),
  };
}

/** Does `o` (a ProxyGateway or ProxyRoute) have a listener / rule named `section`? */
function sectionExists(o: KubeObject, section: string): boolean {
  const spec = o.spec as { listeners?: unknown; rules?: unknown } | undefined;
  const list = o.kind === "ProxyGateway"
    ? spec?.listeners
    : o.kind === "ProxyRoute"
    ? spec?.rules
    : undefined;
  return Array.isArray(list) &&
    list.some((x) =>
      typeof x === "object" && x !== null && (x as { name?: unknown }).name === section
    );
}

/** Why a CA bundle is not usable: no PEM CERTIFICATE block, or one that does not parse. */
export function pemCaProblem(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks?.length) return "holds no PEM certificate";
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch {
      return "holds a PEM block that is not a valid X.509 certificate";
    }
  }
  return undefined;
}

/** Policy names by target key ("<Kind>/<ns>/<name>" and ".../<section>"). */
export type PolicyTargets = Map<string, string[]>;

export function buildPolicies(
  ctx: BuildContext,
  policies: readonly Typed<"ProxyPolicy">[],
): { policies: Policy[]; byTarget: PolicyTargets } {
  const out: Policy[] = [];
  const byTarget: PolicyTargets = new Map();
  for (const p of policies) {
    const st = ctx.status(p.source);
    const s = p.spec;
    const name = `${p.namespace}/${p.name}`;
    const targets: string[] = [];
    let found = 0;
    s.targetRefs.forEach((t, i) => {
      const key = `${t.kind}/${p.namespace}/${t.name}`;
      if (!ctx.index.get(t.kind, `${p.namespace}/${t.name}`)) {
        const msg = `${t.kind} ${p.namespace}/${t.name} not found`;
        st.set("ResolvedRefs", false, "TargetNotFound", `spec.targetRefs[${i}]: ${msg}`);
        ctx.error(p.source, `spec.targetRefs[${i}]`, msg);
        return;
      }
      if (
        t.sectionName &&
        !sectionExists(ctx.index.get(t.kind, `${p.namespace}/${t.name}`)!, t.sectionName)
      ) {
        const msg = `${t.kind} ${p.namespace}/${t.name} has no ${
          t.kind === "ProxyRoute" ? "rule" : "listener"
        } named ${t.sectionName}`;
        st.set(
          "ResolvedRefs",
          false,
          "TargetNotFound",
          `spec.targetRefs[${i}].sectionName: ${msg}`,
        );
        ctx.error(p.source, `spec.targetRefs[${i}].sectionName`, msg);
        return;
      }
      found++;
      const full = t.sectionName ? `${key}/${t.sectionName}` : key;
      targets.push(full);
      const list = byTarget.get(full) ?? [];
      list.push(name);
      byTarget.set(full, list);
    });
    if (found === 0) {
      st.set("Accepted", false, "TargetNotFound", "no targetRef resolves");
      continue;
    }
    /** Reads a Secret key, reporting a missing Secret or key. */
    const secretValue = (
      field: string,
      ref: { name: string; key?: string },
      defKey: string,
    ): string | undefined => {
      const sec = ctx.index.get("Secret", `${p.namespace}/${ref.name}`);
      const d = sec ? secretData(sec) : `Secret ${p.namespace}/${ref.name} not found`;
      const key = ref.key ?? defKey;
      const v = typeof d === "string" ? undefined : d.data.get(key);
      if (v === undefined) {
        const msg = typeof d === "string"
          ? d
          : `Secret ${p.namespace}/${ref.name} has no key ${key}`;
        st.set("ResolvedRefs", false, "InvalidSecretRef", `${field}: ${msg}`);
        ctx.error(p.source, field, msg);
      }
      return v;
    };
    let jwksJson = "";
    if (s.jwt?.jwksSecretRef) {
      const v = secretValue("spec.jwt.jwksSecretRef", s.jwt.jwksSecretRef, "jwks.json");
      if (v !== undefined) {
        try {
          JSON.parse(v);
          jwksJson = v;
        } catch {
          st.set("ResolvedRefs", false, "InvalidSecretRef", "spec.jwt.jwksSecretRef: not JSON");
          ctx.error(p.source, "spec.jwt.jwksSecretRef", "JWKS is not valid JSON");
        }
      }
    }
    // CA bundle for an https jwksUri served under a private CA. An unusable one
    // never falls back to the default roots: the policy ships without keys.
    let jwksCaPem = "";
    let jwksCaFailed = false;
    const caRef = s.jwt?.jwksUri ? s.jwt.jwksCaCertificateRef : undefined;
    if (caRef) {
      const field = "spec.jwt.jwksCaCertificateRef";
      const ns = caRef.namespace ?? p.namespace;
      const kind = caRef.kind ?? "Secret";
      let reason = "InvalidCACertificateRef";
      let msg: string | undefined;
      if (caRef.group) {
        reason = "InvalidCACertificateKind";
        msg = `${caRef.group}/${kind}: only core ConfigMaps and Secrets`;
      } else if (
        ns !== p.namespace && !ctx.refPermittedFrom(p.source, "", kind, ns, caRef.name)
      ) {
        reason = "RefNotPermitted";
        msg = `${kind} ${ns}/${caRef.name} is in another namespace and no ReferenceGrant allows it`;
      } else {
        const ca = caBundle(ctx.index, kind, ns, caRef.name);
        const bad = ca.error ?? pemCaProblem(ca.pem);
        if (bad === undefined) jwksCaPem = ca.pem;
        else msg = ca.error ?? `${kind} ${ns}/${caRef.name}: CA bundle ${bad}`;
      }
      if (msg !== undefined) {
        jwksCaFailed = true;
        st.set("ResolvedRefs", false, reason, `${field}: ${msg}`);
        st.set(
          "Accepted",
          false,
          "NoValidCACertificate",
          `${field}: no usable CA bundle for jwksUri; every token is refused until it is fixed`,
        );
        ctx.error(p.source, field, msg);
      }
    }
    const htpasswd = s.basicAuth
      ? (secretValue("spec.basicAuth.secretRef", s.basicAuth.secretRef, "htpasswd") ?? "")
        .split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
      : [];
    let keySha256: string[] = [];
    if (s.apiKey) {
      const ref = s.apiKey.secretRef;
      const sec = ctx.index.get("Secret", `${p.namespace}/${ref.name}`);
      const d = sec ? secretData(sec) : `Secret ${p.namespace}/${ref.name} not found`;
      if (typeof d === "string") {
        st.set("ResolvedRefs", false, "InvalidSecretRef", `spec.apiKey.secretRef: ${d}`);
        ctx.error(p.source, "spec.apiKey.secretRef", d);
      } else {
        const vals = ref.key ? [d.data.get(ref.key)] : [...d.data.values()];
        keySha256 = [
          ...new Set(
            vals.filter((v): v is string => !!v).map((v) =>
              createHash("sha256").update(v.trim()).digest("hex")
            ),
          ),
        ].sort();
      }
    }
    out.push({
      name,
      targets: targets.sort(),
      ...(s.cors ? { cors: cors(s.cors) } : {}),
      ...(s.rateLimit
        ? {
          rateLimit: {
            requestsPerSecond: s.rateLimit.requestsPerSecond,
            burst: s.rateLimit.burst ?? s.rateLimit.requestsPerSecond,
            key: s.rateLimit.key ?? "",
          },
        }
        : {}),
      ...(s.connectionLimit
        ? { connectionLimit: { perClientIp: s.connectionLimit.perClientIp } }
        : {}),
      ...(s.ipAllow ? { ipAllow: { cidrs: [...s.ipAllow] } } : {}),
      ...(s.ipDeny ? { ipDeny: { cidrs: [...s.ipDeny] } } : {}),
      ...(s.basicAuth ? { basicAuth: { realm: s.basicAuth.realm ?? "", htpasswd } } : {}),
      ...(s.jwt
        ? {
          jwt: {
            issuer: s.jwt.issuer,
            audiences: [...(s.jwt.audiences ?? [])],
            jwksJson,
            jwksUri: jwksCaFailed ? "" : s.jwt.jwksUri ?? "",
            ...(jwksCaPem ? { jwksCaPem } : {}),
          },
        }
        : {}),
      ...(s.requestHeaders ? { requestHeaders: headerModifier(s.requestHeaders) } : {}),
      ...(s.responseHeaders ? { responseHeaders: headerModifier(s.responseHeaders) } : {}),
      ...(s.apiKey
        ? {
          apiKey: {
            header: s.apiKey.header ?? (s.apiKey.queryParam ? "" : "x-api-key"),
            queryParam: s.apiKey.queryParam ?? "",
            keySha256,
          },
        }
        : {}),
    });
    st.set("Accepted", true, "Accepted", `attached to ${found} target(s)`); // kept False if set
    if (!st.isFalse("ResolvedRefs")) {
      st.set("ResolvedRefs", true, "ResolvedRefs", "all references resolved");
    }
  }
  return { policies: out, byTarget };
}
