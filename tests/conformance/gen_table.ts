/**
 * `deno task gen:conformance-table`: rewrites README.md's conformance section
 * (between the conformance-table markers) from tests/conformance/report.yaml,
 * so the table always shows the latest report, never hand-written numbers.
 */
import { parse as parseYaml } from "yaml";
import { conformanceTable, replaceTable } from "./report.ts";
import { GATEWAY_PROFILES, KNOWN_FAILING_TESTS } from "./features.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const raw = parseYaml(await Deno.readTextFile(`${ROOT}tests/conformance/report.yaml`)) as {
  profiles?: { name?: string }[];
};
// The suite writes profiles in map order; the table lists them in a fixed one.
const rank = (p: { name?: string }) => {
  const i = (GATEWAY_PROFILES as readonly string[]).indexOf(p.name ?? "");
  return i < 0 ? GATEWAY_PROFILES.length : i;
};
const report = { ...raw, profiles: [...(raw.profiles ?? [])].sort((a, b) => rank(a) - rank(b)) };
const readmePath = `${ROOT}README.md`;
const before = await Deno.readTextFile(readmePath);
// Tests the default run skips as known failures, with why (features.ts).
const skipped = Object.entries(KNOWN_FAILING_TESTS).map(([t, why]) => `- \`${t}\`: ${why}`);
const section = skipped.length
  ? `${
    conformanceTable(report)
  }\n\nSkipped as known failures (\`tests/conformance/features.ts\`):\n\n${skipped.join("\n")}`
  : conformanceTable(report);
const after = replaceTable(before, section);
if (after !== before) {
  await Deno.writeTextFile(readmePath, after);
  // Aligned the way `deno fmt` (checked in CI) wants the table.
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", readmePath] }).output();
}
console.log(after === before ? "README.md conformance table unchanged" : "README.md updated");
