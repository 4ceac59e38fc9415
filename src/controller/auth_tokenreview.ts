/**
 * Agent authentication through the Kubernetes TokenReview API: the agent sends
 * its ServiceAccount token (projected with audience "novaedge-controller"), the
 * API server says whose it is. Only the allowed ServiceAccounts get snapshots;
 * a token bound to a pod carries that pod's node name, which must match the
 * node the agent asks for (so one node cannot read another node's keys).
 * Answers are cached for a minute so a reconnect storm costs one review per token.
 */
import { createHash } from "node:crypto";
import type { KubeClient } from "../source/kube_client.ts";
import { type AgentIdentity, type Authenticator, AuthError } from "./auth.ts";

export const AGENT_TOKEN_AUDIENCE = "novaedge-controller";
const NODE_NAME_EXTRA = "authentication.kubernetes.io/node-name";

export interface TokenReviewOptions {
  readonly client: KubeClient;
  /** Usernames allowed, e.g. ["system:serviceaccount:novaedge-system:novaedge-agent"]. */
  readonly allowedUsers: readonly string[];
  /** Audience the token must carry (default "novaedge-controller"); "" accepts the API server's. */
  readonly audience?: string;
  readonly cacheTtlMs?: number;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[]> };
}

export function tokenReviewAuthenticator(opts: TokenReviewOptions): Authenticator {
  const audience = opts.audience ?? AGENT_TOKEN_AUDIENCE;
  const ttl = opts.cacheTtlMs ?? 60_000;
  const cache = new Map<string, { at: number; result: AgentIdentity | string }>();
  const allowed = new Set(opts.allowedUsers);
  return async (token: string) => {
    if (!token) throw new AuthError("no token in Hello");
    const key = createHash("sha256").update(token).digest("hex");
    const hit = cache.get(key);
    let result: AgentIdentity | string;
    if (hit && Date.now() - hit.at < ttl) {
      result = hit.result;
    } else {
      const review = await opts.client.create("/apis/authentication.k8s.io/v1/tokenreviews", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, ...(audience ? { audiences: [audience] } : {}) },
      }) as { status?: TokenReviewStatus };
      const st = review.status ?? {};
      const user = st.user?.username ?? "";
      if (!st.authenticated) result = `token not authenticated: ${st.error || "rejected"}`;
      else if (!allowed.has(user)) result = `${user} is not allowed to receive snapshots`;
      else {
        const node = st.user?.extra?.[NODE_NAME_EXTRA]?.[0];
        result = node ? { subject: user, node } : { subject: user };
      }
      if (cache.size > 10_000) cache.clear();
      cache.set(key, { at: Date.now(), result });
    }
    if (typeof result === "string") throw new AuthError(result);
    return result;
  };
}
