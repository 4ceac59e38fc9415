import type { Snapshot } from "../snapshot/types.ts";

/** The snapshot as debug endpoints show it: private keys never leave the process. */
export function redactSnapshot(s: Snapshot): Snapshot {
  return {
    ...s,
    secrets: s.secrets.map((e) => ({ ...e, keyPem: e.keyPem ? "<redacted>" : "" })),
  };
}
