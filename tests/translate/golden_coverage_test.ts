/**
 * The "Golden coverage" tables of docs/translators.md name golden cases; a
 * renamed or deleted case must not leave the doc claiming coverage it no longer
 * has. (A new case need not be listed: the tables map issue items to cases.)
 */
import assert from "node:assert/strict";
import { NGINX_PREFIX, SUPPORTED_ANNOTATIONS } from "../../src/translate/ingress/annotations.ts";

const DOC = new URL("../../docs/translators.md", import.meta.url);
const GOLDEN = new URL("../golden/translate/", import.meta.url);

function cases(translator: string): string[] {
  return [...Deno.readDirSync(new URL(`${translator}/`, GOLDEN))]
    .map((e) => e.name)
    .filter((n) => n.endsWith(".in.yaml"))
    .map((n) => n.slice(0, -".in.yaml".length))
    .sort();
}

/** Case names a table section cites: backticked words outside parentheses (those name objects). */
function citedCases(doc: string, heading: string): string[] {
  const start = doc.indexOf(`### ${heading}\n`);
  assert.ok(start >= 0, `docs/translators.md has no "### ${heading}" section`);
  const rest = doc.slice(start + heading.length + 5);
  const end = rest.search(/^#{2,3} /m);
  const section = end >= 0 ? rest.slice(0, end) : rest;
  const out = new Set<string>();
  for (const line of section.split("\n")) {
    const cells = line.split(/(?<!\\)\|/);
    if (cells.length < 4 || /^[\s-]*$/.test(cells[2])) continue;
    let cell = cells[2];
    // Drop parenthesised object names (no nesting in the tables).
    while (/\([^()]*\)/.test(cell)) cell = cell.replace(/\([^()]*\)/g, "");
    for (const m of cell.matchAll(/`([^`]+)`/g)) {
      if (!m[1].includes("/")) out.add(m[1]);
    }
  }
  return [...out].sort();
}

const doc = Deno.readTextFileSync(DOC);
for (const [heading, translator] of [["Gateway API", "gateway_api"], ["Ingress", "ingress"]]) {
  Deno.test(`golden coverage doc (${heading}) cites existing cases only`, () => {
    const have = cases(translator);
    const cited = citedCases(doc, heading);
    assert.ok(cited.length > 0, `no cases cited under "### ${heading}"`);
    assert.deepEqual(
      cited.filter((c) => !have.includes(c)),
      [],
      `docs/translators.md cites ${translator} golden cases that do not exist`,
    );
  });
}

/** The text of every golden file of a translator whose name ends with `suffix`. */
function goldenTexts(translator: string, suffix: string): string[] {
  const dir = new URL(`${translator}/`, GOLDEN);
  return [...Deno.readDirSync(dir)]
    .filter((e) => e.name.endsWith(suffix))
    .map((e) => Deno.readTextFileSync(new URL(e.name, dir)));
}

Deno.test("every supported ingress-nginx annotation is used by an ingress golden input", () => {
  const inputs = goldenTexts("ingress", ".in.yaml").join("\n");
  const unused = Object.keys(SUPPORTED_ANNOTATIONS).filter((a) =>
    !inputs.includes(`${NGINX_PREFIX}${a}:`)
  );
  assert.deepEqual(unused, [], "supported annotations without a golden case");
});

Deno.test("every status reason docs/translators.md lists is shown by a golden output", () => {
  const start = doc.indexOf("## Statuses\n");
  assert.ok(start >= 0, 'docs/translators.md has no "## Statuses" section');
  const end = doc.indexOf("\n## ", start + 1);
  const listed = new Set(
    [...doc.slice(start, end).matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]),
  );
  assert.ok(listed.size > 20, `only ${listed.size} reasons found in the Statuses section`);
  const outputs = [
    ...goldenTexts("gateway_api", ".out.yaml"),
    ...goldenTexts("ingress", ".out.yaml"),
  ]
    .join("\n");
  const missing = [...listed].filter((r) =>
    !new RegExp(`^ *(?:- )?(?:reason|type): ${r}$`, "m").test(outputs)
  );
  assert.deepEqual(missing, [], "reasons documented but shown by no golden output");
});
