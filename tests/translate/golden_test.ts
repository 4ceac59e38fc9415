/**
 * Golden tests of the translators: every `tests/golden/translate/<translator>/<case>.in.yaml`
 * (Kubernetes objects, plus an optional `kind: TranslateOptions` document) is
 * translated and compared with `<case>.out.yaml`. `UPDATE_GOLDEN=1` rewrites the
 * outputs; an output without an input, or an input without an output, fails.
 * Independently of the goldens, every generated object must pass NovaEdge CRD
 * validation and the output must not depend on input order.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { toYaml } from "../../src/source/yaml_out.ts";
import type { KubeObject } from "../../src/store/types.ts";
import { isNovaEdgeKind, parseNovaEdgeObject } from "../../src/crds/mod.ts";
import { assertValidCoreObject } from "./_core_objects.ts";
import { isGeneratedCoreKind, translateGatewayApi } from "../../src/translate/gateway_api/mod.ts";
import type { GatewayApiOptions, Translation } from "../../src/translate/gateway_api/mod.ts";
import { translateIngress } from "../../src/translate/ingress/mod.ts";
import type { IngressOptions } from "../../src/translate/ingress/mod.ts";

const ROOT = new URL("../golden/translate/", import.meta.url);
const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

type Runner = (objs: readonly KubeObject[], opts: Record<string, unknown>) => Translation;
const RUNNERS: Record<string, Runner> = {
  gateway_api: (o, opts) => translateGatewayApi(o, opts as GatewayApiOptions),
  ingress: (o, opts) => translateIngress(o, opts as IngressOptions),
};

function readInput(text: string): { objects: KubeObject[]; options: Record<string, unknown> } {
  const objects: KubeObject[] = [];
  let options: Record<string, unknown> = {};
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(doc.errors[0].message);
    const v = doc.toJS();
    if (v === null || v === undefined) continue;
    if (v.kind === "TranslateOptions") options = v.options ?? {};
    else objects.push(v as KubeObject);
  }
  return { objects, options };
}

function render(t: Translation): string {
  return toYaml({ objects: t.objects, statuses: t.statuses, diagnostics: t.diagnostics });
}

/** A fixed permutation (reversal plus rotation) to check order independence. */
function shuffled<T>(xs: readonly T[]): T[] {
  const r = [...xs].reverse();
  return r.length > 2 ? [...r.slice(1), r[0]] : r;
}

const seenOutputs = new Set<string>();

for (const translator of Object.keys(RUNNERS)) {
  const dir = new URL(`${translator}/`, ROOT);
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    entries = [];
  }
  const inputs = entries.filter((n) => n.endsWith(".in.yaml"));
  const outputs = entries.filter((n) => n.endsWith(".out.yaml"));
  for (const out of outputs) seenOutputs.add(`${translator}/${out}`);

  Deno.test(`golden ${translator}: has cases and no orphaned outputs`, () => {
    assert.ok(inputs.length > 0, `no golden inputs under ${dir.pathname}`);
    const orphans = outputs.filter((o) => !inputs.includes(o.replace(/\.out\.yaml$/, ".in.yaml")));
    if (UPDATE) {
      for (const o of orphans) Deno.removeSync(new URL(o, dir));
      return;
    }
    assert.deepEqual(orphans, [], `orphaned golden outputs (delete them or add inputs)`);
  });

  for (const input of inputs) {
    const name = input.replace(/\.in\.yaml$/, "");
    Deno.test(`golden ${translator}/${name}`, () => {
      const { objects, options } = readInput(Deno.readTextFileSync(new URL(input, dir)));
      const run = RUNNERS[translator];
      const t = run(objects, options);
      const text = render(t);
      // Order independence and purity: same result from a permuted input, twice.
      assert.equal(render(run(shuffled(objects), options)), text, "output depends on input order");
      assert.equal(render(run(objects, options)), text, "output differs between runs");
      // Every generated NovaEdge object is valid.
      for (const o of t.objects) {
        if (isGeneratedCoreKind(o)) {
          assertValidCoreObject(o);
          continue;
        }
        assert.ok(isNovaEdgeKind(o.kind), `generated non-NovaEdge kind ${o.kind}`);
        const p = parseNovaEdgeObject(o.kind, o);
        assert.ok(
          p.ok,
          `${o.kind}/${o.metadata.name} invalid: ${JSON.stringify(p.ok ? [] : p.errors)}`,
        );
      }
      const outUrl = new URL(`${name}.out.yaml`, dir);
      if (UPDATE) {
        Deno.writeTextFileSync(outUrl, text);
        return;
      }
      let want: string;
      try {
        want = Deno.readTextFileSync(outUrl);
      } catch {
        throw new Error(`missing ${outUrl.pathname}; run with UPDATE_GOLDEN=1`);
      }
      assert.equal(
        text,
        want,
        `golden output ${name}.out.yaml is stale; run with UPDATE_GOLDEN=1 and review the diff`,
      );
    });
  }
}

Deno.test("golden: no stray files under tests/golden/translate", () => {
  const stray: string[] = [];
  for (const e of Deno.readDirSync(ROOT)) {
    if (e.isDirectory && e.name in RUNNERS) continue;
    stray.push(e.name);
  }
  for (const tr of Object.keys(RUNNERS)) {
    try {
      for (const e of Deno.readDirSync(new URL(`${tr}/`, ROOT))) {
        if (!e.name.endsWith(".in.yaml") && !e.name.endsWith(".out.yaml")) {
          stray.push(`${tr}/${e.name}`);
        }
      }
    } catch { /* checked by the per-translator test */ }
  }
  assert.deepEqual(stray, []);
});
