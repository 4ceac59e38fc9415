/** novaedge <role> [flags]: picks a role from the first argument. */
import { run } from "./cli.ts";

if (import.meta.main) {
  Deno.exit(await run(Deno.args));
}
