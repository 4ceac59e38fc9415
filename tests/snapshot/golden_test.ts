/**
 * Golden tests: tests/golden/<case>.in.yaml → <case>.out.yaml holding the
 * snapshot, statuses and diagnostics runPipeline produces. `UPDATE_GOLDEN=1`
 * rewrites the outputs; a stale output or an output without input fails.
 */
import assert from "node:assert/strict";
import { toYaml } from "../../src/source/yaml_out.ts";
import { parseManifests } from "../../src/source/parse.ts";
import { runPipeline } from "../../src/snapshot/mod.ts";

const dir = new URL("../golden/", import.meta.url);
const update = Deno.env.get("UPDATE_GOLDEN") === "1";

/** Runs one case: parse the input like the directory source does, then the pipeline. */
export function renderCase(name: string, text: string): string {
  const parsed = parseManifests(text, `${name}.in.yaml`);
  const r = runPipeline(parsed.objects, { node: "node-a" });
  return toYaml({
    snapshot: r.snapshot,
    statuses: r.statuses,
    diagnostics: [...parsed.diagnostics, ...r.diagnostics],
  });
}

const ORDER_DEPENDENT = new Set(["duplicates", "malformed_yaml"]);
const inputs: string[] = [];
const outputs: string[] = [];
for (const e of Deno.readDirSync(dir)) {
  if (e.name.endsWith(".in.yaml")) inputs.push(e.name.slice(0, -".in.yaml".length));
  else if (e.name.endsWith(".out.yaml")) outputs.push(e.name.slice(0, -".out.yaml".length));
}
inputs.sort();

Deno.test("golden: every .out.yaml has an .in.yaml (no orphans)", () => {
  const orphans = outputs.filter((o) => !inputs.includes(o));
  if (update) { for (const o of orphans) Deno.removeSync(new URL(`${o}.out.yaml`, dir)); }
  else assert.deepEqual(orphans, [], "orphaned golden outputs: delete them or add inputs");
});

Deno.test("golden: at least 25 cases", () => {
  assert.ok(inputs.length >= 25, `only ${inputs.length} golden cases`);
});

for (const name of inputs) {
  Deno.test(`golden: ${name}`, () => {
    const text = Deno.readTextFileSync(new URL(`${name}.in.yaml`, dir));
    const got = renderCase(name, text);
    const outUrl = new URL(`${name}.out.yaml`, dir);
    if (update) {
      Deno.writeTextFileSync(outUrl, got);
      return;
    }
    let want: string;
    try {
      want = Deno.readTextFileSync(outUrl);
    } catch {
      throw new Error(`tests/golden/${name}.out.yaml is missing: run with UPDATE_GOLDEN=1`);
    }
    assert.equal(got, want, `tests/golden/${name}.out.yaml is stale: review, then UPDATE_GOLDEN=1`);
    // Determinism: the same input in reverse document order gives the same output
    // (except where order is the point: duplicates keep the first, broken documents).
    if (ORDER_DEPENDENT.has(name)) return;
    const reversed = text.split(/^---$/m).reverse().join("\n---\n");
    const again = renderCase(name, reversed).replace(/#\d+/g, "#N");
    assert.equal(again, got.replace(/#\d+/g, "#N"), "output depends on input order");
  });
}
