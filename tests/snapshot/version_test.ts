import assert from "node:assert/strict";
import { parseManifests } from "../../src/source/parse.ts";
import { canonicalJson, runPipeline, snapshotVersion } from "../../src/snapshot/mod.ts";

const base = await Deno.readTextFile(new URL("../golden/basic_http.in.yaml", import.meta.url));
const build = (text: string) => runPipeline(parseManifests(text, "x.yaml").objects).snapshot;

Deno.test("canonicalJson: key order and undefined members do not matter", () => {
  assert.equal(
    canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] }),
    canonicalJson({ a: [1, { d: 2 }], b: 1 }),
  );
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

Deno.test("snapshotVersion: same inputs (in any order, with unrelated metadata) give the same version", () => {
  const a = build(base);
  const reordered = base.split(/^---$/m).reverse().join("\n---\n");
  assert.equal(build(reordered).version, a.version);
  const relabelled = base.replace(
    "metadata: {name: app, namespace: demo}",
    "metadata: {name: app, namespace: demo, labels: {team: blue}}",
  );
  assert.equal(build(relabelled).version, a.version);
  assert.equal(snapshotVersion(a), a.version);
  assert.match(a.version, /^v[0-9a-f]{16}$/);
});

Deno.test("snapshotVersion: any change in what is served gives a new version", () => {
  const a = build(base).version;
  const variants = [
    base.replace("port: 8080", "port: 8081"),
    base.replace("weight: 3", "weight: 2"),
    base.replace("app.example.test", "app2.example.test"),
    base.replace("port: 9003", "port: 9004"),
    base.replace("conditions: {ready: false}", "conditions: {ready: true}"),
    base.replace("value: /}", "value: /x}"),
  ];
  const seen = new Set([a]);
  for (const v of variants) {
    assert.notEqual(v, base, "variant must differ");
    const ver = build(v).version;
    assert.ok(!seen.has(ver), `variant gave a repeated version: ${v.slice(0, 40)}`);
    seen.add(ver);
  }
});
