/**
 * Agent authentication: who is on the other end of a snapshot stream. Snapshots
 * carry TLS private keys, so the controller sends nothing before the agent's
 * token checks out. The gRPC server only knows this interface; the controller
 * plugs in TokenReview (auth_tokenreview.ts), tests and dev setups a static
 * token list.
 *
 * Trust model (also for the README):
 * - The channel is TLS. The first controller replica creates a CA (ECDSA
 *   P-256, 10 years) and stores it in the Secret novaedge-controller-ca; only
 *   the controller's ServiceAccount may read that Secret. Its public
 *   certificate is copied to the ConfigMap novaedge-controller-ca, which the
 *   agents mount and trust. Each replica issues itself a 90-day serving
 *   certificate (renewed in process) for the Service's DNS names. Agents verify
 *   the controller; whoever can read the CA Secret can impersonate it.
 * - Agents authenticate with a projected ServiceAccount token (audience
 *   "novaedge-controller", 1 h, rotated by the kubelet) sent in Hello. The
 *   controller checks it with TokenReview and accepts only the configured
 *   ServiceAccounts (default <namespace>/novaedge-agent). When the token is
 *   bound to a pod, the API server reports that pod's node, and the agent may
 *   only receive that node's snapshot: a compromised node cannot ask for
 *   another node's certificates. Tokens without a node binding (e.g. made with
 *   `kubectl create token`) can receive any node's snapshot: treat them as
 *   cluster-wide secrets.
 * - Each node's snapshot holds only what that node serves (node_filter.ts):
 *   gateways fronted by VIPs, and their private keys, go only to nodes eligible
 *   for those VIPs. A node serving a gateway necessarily holds its keys.
 * - `snapshot dump --controller` uses the same authentication and never returns
 *   private keys (they are redacted before encoding).
 * - The agent keeps its last snapshot (with keys) under --state-dir, mode 0600.
 */
import { timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

export interface AgentIdentity {
  /** Who authenticated, e.g. "system:serviceaccount:novaedge-system:novaedge-agent". */
  readonly subject: string;
  /**
   * The node the credential is bound to (a pod-bound ServiceAccount token names
   * its pod's node). When set, the agent may only ask for that node's snapshot.
   */
  readonly node?: string;
}

/** Thrown by an authenticator: the message is sent back to the agent and logged. */
export class AuthError extends Error {
  override name = "AuthError";
}

/** Checks a bearer token presented for `claimedNode`; throws AuthError to refuse. */
export type Authenticator = (token: string, claimedNode: string) => Promise<AgentIdentity>;

/**
 * Accept exactly the given tokens (token → subject). For development and
 * tests; production uses TokenReview.
 */
export function staticTokenAuthenticator(tokens: ReadonlyMap<string, string>): Authenticator {
  const entries = [...tokens.entries()].map(([t, s]) => [Buffer.from(t), s] as const);
  return (token) => {
    const given = Buffer.from(token);
    for (const [t, subject] of entries) {
      if (t.length === given.length && timingSafeEqual(t, given)) {
        return Promise.resolve({ subject });
      }
    }
    return Promise.reject(new AuthError("unknown token"));
  };
}
