import type { Snapshot } from "../snapshot/types.ts";

/** What redaction puts in place of a private key. */
export const REDACTED = "<redacted>";

/** The snapshot as debug endpoints and dumps show it: private keys never leave the process. */
export function redactSnapshot(s: Snapshot): Snapshot {
  return {
    ...s,
    secrets: s.secrets.map((e) => ({ ...e, keyPem: e.keyPem === "" ? "" : REDACTED })),
  };
}
