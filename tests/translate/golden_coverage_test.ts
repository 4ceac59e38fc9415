/**
 * The "Golden coverage" tables of docs/translators.md name golden cases; a
 * renamed or deleted case must not leave the doc claiming coverage it no longer
 * has. (A new case need not be listed: the tables map issue items to cases.)
 */
import assert from "node:assert/strict";

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
