/**
 * Property test: whatever garbage ends up in the objects, the pipeline never
 * throws, and what it builds always passes the agent's decode-boundary checks
 * and survives a protobuf round trip. Mutations come from a seeded PRNG over
 * the golden inputs (bounded: a fixed number per case).
 */
import assert from "node:assert/strict";
import { parseManifests } from "../../src/source/parse.ts";
import { runPipeline, validateSnapshot } from "../../src/snapshot/mod.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/snapshot/codec.ts";
import type { KubeObject } from "../../src/store/types.ts";

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIRD: unknown[] = [null, -1, 0, 70000, 1.5, "", "x", "/(", "*.", {}, [], [1], true, "10 s", {
  a: 1,
}, "a".repeat(300)];

/** Every path to a value inside `v`. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  if (typeof v === "object" && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(x, p, out);
    }
  }
  return out;
}

function mutate(objs: KubeObject[], rnd: () => number): KubeObject[] {
  const copy = structuredClone(objs) as Record<string, unknown>[];
  if (!copy.length) return [];
  const o = copy[Math.floor(rnd() * copy.length)];
  const ps = paths(o).filter((p) => p[0] !== "metadata" || p[1] === "namespace" || p[1] === "name");
  if (!ps.length) return copy as unknown as KubeObject[];
  const p = ps[Math.floor(rnd() * ps.length)];
  let parent: Record<string | number, unknown> = o;
  for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = p[p.length - 1];
  if (rnd() < 0.2) delete parent[last];
  else parent[last] = structuredClone(WEIRD[Math.floor(rnd() * WEIRD.length)]);
  return copy as unknown as KubeObject[];
}

const dir = new URL("../golden/", import.meta.url);
const cases = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".in.yaml")).map((e) =>
  e.name
).sort();

Deno.test("runPipeline: never throws on mutated inputs and always builds a snapshot that validates and round-trips", () => {
  const rnd = prng(20261123);
  let runs = 0;
  for (const name of cases) {
    const objs = parseManifests(Deno.readTextFileSync(new URL(name, dir)), name).objects;
    for (let i = 0; i < 40; i++) {
      const input = mutate(objs, rnd);
      let r;
      try {
        r = runPipeline(input, { node: "n" });
      } catch (e) {
        throw new Error(
          `${name} mutation ${i} threw: ${(e as Error).stack}\n${JSON.stringify(input)}`,
        );
      }
      validateSnapshot(r.snapshot, { checkVersion: true });
      assert.deepEqual(decodeSnapshot(encodeSnapshot(r.snapshot)), r.snapshot);
      runs++;
    }
  }
  assert.ok(runs >= 1000);
});

Deno.test("runPipeline with the translators: mutated Gateway API / Ingress inputs never throw, snapshots validate and round-trip", () => {
  const rnd = prng(20261124);
  let runs = 0;
  for (const tr of ["gateway_api", "ingress"]) {
    const tdir = new URL(`../golden/translate/${tr}/`, import.meta.url);
    const names = [...Deno.readDirSync(tdir)].filter((e) => e.name.endsWith(".in.yaml"))
      .map((e) => e.name).sort();
    for (const name of names) {
      const objs = parseManifests(Deno.readTextFileSync(new URL(name, tdir)), name).objects
        .filter((o) => o.kind !== "TranslateOptions");
      for (let i = 0; i < 25; i++) {
        const input = i === 0 ? objs : mutate(objs, rnd);
        let r;
        try {
          r = runPipeline(input, { node: "n" });
        } catch (e) {
          throw new Error(
            `${tr}/${name} mutation ${i} threw: ${(e as Error).stack}\n${JSON.stringify(input)}`,
          );
        }
        validateSnapshot(r.snapshot, { checkVersion: true });
        assert.deepEqual(decodeSnapshot(encodeSnapshot(r.snapshot)), r.snapshot);
        // Generated objects are never handed back as input duplicates: a second run over
        // the input plus what was generated (cluster mode) builds the same snapshot.
        const again = runPipeline([...input, ...r.generated], { node: "n" });
        assert.equal(again.snapshot.version, r.snapshot.version, `${tr}/${name} mutation ${i}`);
        runs++;
      }
    }
  }
  assert.ok(runs >= 200, String(runs));
});
