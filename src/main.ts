/** novaedge <role> [flags]: picks a role from the first argument. */
import { run } from "./cli.ts";

/** Role binaries built by build.ts fix their role by setting this before loading the bundle. */
const prefix = (globalThis as { __NOVAEDGE_ARGV_PREFIX?: string[] }).__NOVAEDGE_ARGV_PREFIX;

if (import.meta.main || prefix !== undefined) {
  Deno.exit(await run([...(prefix ?? []), ...Deno.args]));
}
