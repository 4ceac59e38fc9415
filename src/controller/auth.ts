/**
 * Agent authentication: who is on the other end of a snapshot stream. Snapshots
 * carry TLS private keys, so the controller sends nothing before the agent's
 * token checks out. The gRPC server only knows this interface; the controller
 * plugs in TokenReview (auth_tokenreview.ts), tests and dev setups a static
 * token list.
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
