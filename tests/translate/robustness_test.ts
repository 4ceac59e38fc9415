/**
 * The translators never throw, whatever the input: every golden input is
 * mutated field by field (values replaced by null, numbers, strings, lists,
 * objects; fields deleted) and translated; the output must still consist of
 * valid NovaEdge objects. Mutations are deterministic (a seeded generator).
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/store/types.ts";
import { isNovaEdgeKind, parseNovaEdgeObject } from "../../src/crds/mod.ts";
import { assertValidCoreObject } from "./_core_objects.ts";
import { isGeneratedCoreKind, translateGatewayApi } from "../../src/translate/gateway_api/mod.ts";
import { translateIngress } from "../../src/translate/ingress/mod.ts";

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a value inside `v`. */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  }
  return out;
}

const REPLACEMENTS: Json[] = [null, 0, -1, 70000, "", "x y", "*", [], [1], {}, { a: 1 }, true];

function mutate(o: Json, path: (string | number)[], r: () => number): Json {
  const copy = structuredClone(o) as Json;
  if (path.length === 0) return copy;
  let parent = copy as Record<string | number, Json>;
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (r() < 0.25 && !Array.isArray(parent)) delete parent[last];
  else parent[last] = REPLACEMENTS[Math.floor(r() * REPLACEMENTS.length)];
  return copy;
}

function load(rel: string): KubeObject[] {
  const text = Deno.readTextFileSync(new URL(`../golden/translate/${rel}`, import.meta.url));
  return parseAllDocuments(text).map((d) => d.toJS()).filter((v) =>
    v && v.kind !== "TranslateOptions"
  );
}

for (const tr of ["gateway_api", "ingress"]) {
  Deno.test(`${tr} translator: mutated inputs never throw and yield valid objects`, () => {
    const dir = new URL(`../golden/translate/${tr}/`, import.meta.url);
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      n.endsWith(".in.yaml")
    )
      .sort();
    const r = rng(42);
    let runs = 0;
    for (const f of files) {
      const objects = load(`${tr}/${f}`);
      objects.forEach((o, oi) => {
        const all = paths(o as unknown as Json).filter((p) =>
          p.length > 0 && p[0] !== "apiVersion" && p[0] !== "kind"
        );
        // A bounded, deterministic sample of fields per object.
        for (let k = 0; k < Math.min(30, all.length); k++) {
          const p = all[Math.floor(r() * all.length)];
          const m = mutate(o as unknown as Json, p, r) as unknown as KubeObject;
          if (typeof m?.metadata?.name !== "string") continue; // the envelope check drops these first
          const input = objects.map((x, i) => (i === oi ? m : x));
          let out;
          try {
            out = tr === "gateway_api" ? translateGatewayApi(input) : translateIngress(input);
          } catch (e) {
            throw new Error(
              `${f}: object ${oi} with ${p.join(".")} mutated: ${(e as Error).stack}`,
            );
          }
          for (const g of out.objects) {
            if (isGeneratedCoreKind(g)) {
              assertValidCoreObject(g);
              continue;
            }
            assert.ok(isNovaEdgeKind(g.kind));
            const v = parseNovaEdgeObject(g.kind, g);
            assert.ok(
              v.ok,
              `${f}: ${p.join(".")}: ${g.kind}/${g.metadata.name} invalid: ${
                JSON.stringify(v.ok ? [] : v.errors)
              }`,
            );
          }
          runs++;
        }
      });
    }
    assert.ok(runs > 200, `only ${runs} mutated runs`);
  });
}
