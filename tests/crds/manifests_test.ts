import assert from "node:assert/strict";
import { parse, parseAllDocuments } from "yaml";
import { generateManifests } from "../../src/crds/gen_manifests.ts";

const dir = new URL("../../manifests/crds/", import.meta.url);

Deno.test("generateManifests: committed manifests/crds match the generator (run `deno task gen:crds`)", async () => {
  const want = generateManifests();
  const have = new Set<string>();
  for await (const e of Deno.readDir(dir)) if (e.isFile) have.add(e.name);
  assert.deepEqual([...have].sort(), [...want.keys()].sort(), "orphaned or missing CRD files");
  for (const [name, text] of want) {
    const onDisk = await Deno.readTextFile(new URL(name, dir));
    assert.equal(onDisk, text, `manifests/crds/${name} is stale: run \`deno task gen:crds\``);
  }
});

/** Walks an OpenAPI schema checking the structural-schema rules kube-apiserver enforces. */
function checkStructural(s: Record<string, unknown>, path: string, errs: string[]): void {
  const intOrString = s["x-kubernetes-int-or-string"] === true;
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (!intOrString && typeof s.type !== "string" && !preserve) errs.push(`${path}: missing type`);
  if (s.type === "object" && s.properties && s.additionalProperties) {
    errs.push(`${path}: properties and additionalProperties together`);
  }
  for (const banned of ["oneOf", "anyOf", "allOf", "$ref", "not"]) {
    if (banned in s) errs.push(`${path}: ${banned} not allowed at this level`);
  }
  if (s.type === "array" && typeof s.items !== "object") errs.push(`${path}: array without items`);
  if (Array.isArray(s.required) && s.properties) {
    for (const r of s.required as string[]) {
      if (!(r in (s.properties as object))) errs.push(`${path}: required ${r} not in properties`);
    }
  }
  if (s["x-kubernetes-list-type"] === "map") {
    const keys = s["x-kubernetes-list-map-keys"] as string[];
    const req = ((s.items as Record<string, unknown>).required ?? []) as string[];
    for (const k of keys) {
      if (!req.includes(k)) errs.push(`${path}: list-map key ${k} not required`);
    }
  }
  if (s.pattern !== undefined) {
    try {
      new RegExp(s.pattern as string);
    } catch {
      errs.push(`${path}: pattern does not compile`);
    }
  }
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, unknown>)) {
    checkStructural(v as Record<string, unknown>, `${path}.${k}`, errs);
  }
  if (typeof s.items === "object") {
    checkStructural(s.items as Record<string, unknown>, `${path}[]`, errs);
  }
  if (typeof s.additionalProperties === "object") {
    checkStructural(s.additionalProperties as Record<string, unknown>, `${path}{}`, errs);
  }
}

Deno.test("generateManifests: every CRD is apiextensions/v1 with a structural schema, status subresource, short names", () => {
  const kinds: string[] = [];
  for (const [name, text] of generateManifests()) {
    const crd = parse(text);
    assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1", name);
    assert.equal(crd.spec.group, "novaedge.io");
    kinds.push(crd.spec.names.kind);
    assert.ok(crd.spec.names.shortNames.length > 0, `${name} short names`);
    const v = crd.spec.versions[0];
    assert.equal(v.name, "v1alpha1");
    assert.deepEqual(v.subresources, { status: {} });
    assert.ok(v.additionalPrinterColumns.length >= 2);
    const errs: string[] = [];
    checkStructural(v.schema.openAPIV3Schema, name, errs);
    assert.deepEqual(errs, []);
    const status = v.schema.openAPIV3Schema.properties.status.properties;
    assert.ok(status.observedGeneration && status.conditions, `${name} status shape`);
  }
  assert.deepEqual(kinds.sort(), [
    "ProxyBackend",
    "ProxyGateway",
    "ProxyPolicy",
    "ProxyRoute",
    "ProxyVIP",
  ]);
});

Deno.test("generateManifests: YAML 1.1 readers (kubectl, Go) see the same document (no bare on/yes/y keys)", () => {
  for (const [name, text] of generateManifests()) {
    assert.deepEqual(parse(text, { version: "1.1" }), parse(text), name);
  }
});

Deno.test("manifests/samples: YAML 1.1 readers (kubectl) see the same documents", async () => {
  const dir = new URL("../../manifests/samples/", import.meta.url);
  for await (const e of Deno.readDir(dir)) {
    const text = await Deno.readTextFile(new URL(e.name, dir));
    assert.deepEqual(
      parseAllDocuments(text, { version: "1.1" }).map((d) => d.toJS()),
      parseAllDocuments(text).map((d) => d.toJS()),
      e.name,
    );
  }
});
