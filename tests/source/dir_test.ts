import assert from "node:assert/strict";
import { loadDirectory, watchDirectory } from "../../src/source/dir.ts";
import type { DirectoryResult } from "../../src/source/dir.ts";
import { parseManifests, SOURCE_ANNOTATION } from "../../src/source/parse.ts";

const BACKEND = (name: string, port: number) =>
  `apiVersion: novaedge.io/v1alpha1
kind: ProxyBackend
metadata: {name: ${name}}
spec:
  endpoints: [{address: 127.0.0.1, port: ${port}}]
`;

async function tmpTree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-dir-" });
  for (const [rel, text] of Object.entries(files)) {
    const p = `${dir}/${rel}`;
    await Deno.mkdir(p.slice(0, p.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(p, text);
  }
  return dir;
}

const names = (r: DirectoryResult) =>
  r.objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);

Deno.test("loadDirectory: reads yaml, yml and json recursively, sorted, multi-document; skips other files and dot-dirs", async () => {
  const dir = await tmpTree({
    "b.yaml": BACKEND("b1", 1) + "---\n" + BACKEND("b2", 2) + "---\n",
    "a/nested.yml": BACKEND("a", 3),
    "c.json": JSON.stringify({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "svc", namespace: "x" },
      spec: { ports: [{ port: 80 }] },
    }),
    "notes.txt": "not: [yaml",
    ".hidden/x.yaml": BACKEND("hidden", 4),
    "..data/y.yaml": BACKEND("dotdata", 5),
  });
  try {
    const r = await loadDirectory(dir);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(names(r), [
      "ProxyBackend/default/a",
      "ProxyBackend/default/b1",
      "ProxyBackend/default/b2",
      "Service/x/svc",
    ]);
    assert.equal(r.objects[1].metadata.annotations?.[SOURCE_ANNOTATION], `${dir}/b.yaml#1`);
    assert.equal(r.objects[2].metadata.annotations?.[SOURCE_ANNOTATION], `${dir}/b.yaml#2`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDirectory: a missing directory is a diagnostic, not a crash", async () => {
  const r = await loadDirectory("/nonexistent/novaedge-config");
  assert.equal(r.objects.length, 0);
  assert.match(r.diagnostics[0].message, /cannot read directory/);
});

Deno.test("loadDirectory: a malformed document is reported with file and document; good documents still load", async () => {
  const dir = await tmpTree({ "x.yaml": BACKEND("ok", 1) + "---\nkind: [broken\n" });
  try {
    const r = await loadDirectory(dir);
    assert.deepEqual(names(r), ["ProxyBackend/default/ok"]);
    assert.equal(r.diagnostics.length, 1);
    assert.equal(r.diagnostics[0].source, `${dir}/x.yaml#2`);
    assert.match(r.diagnostics[0].message, /malformed YAML/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseManifests: List kinds expand, empty documents are skipped, envelopes are checked", () => {
  const r = parseManifests(
    `---\n---\napiVersion: v1\nkind: List\nitems:\n  - ${
      JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "n1" } })
    }\n  - {kind: Service}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, labels: {a: 1}}\n`,
    "f.yaml",
  );
  assert.deepEqual(r.objects.map((o) => [o.kind, o.metadata.name, o.metadata.namespace]), [[
    "Node",
    "n1",
    undefined,
  ]]);
  assert.deepEqual(r.diagnostics.map((d) => [d.source, d.field]), [["f.yaml#2", "items[1]"], [
    "f.yaml#3",
    "metadata.labels",
  ]]);
});

/** Waits until `pred` holds for the latest result (bounded). */
async function until(
  results: DirectoryResult[],
  pred: (r: DirectoryResult) => boolean,
  what: string,
) {
  for (let i = 0; i < 200; i++) {
    const last = results.at(-1);
    if (last && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(
    `timed out waiting for ${what}; last: ${JSON.stringify(results.at(-1)?.diagnostics)}`,
  );
}

Deno.test("watchDirectory: initial call, rebuild on change, last good version of a broken file keeps serving, deletions apply", async () => {
  const dir = await tmpTree({ "a.yaml": BACKEND("a", 1), "b.yaml": BACKEND("b", 2) });
  const results: DirectoryResult[] = [];
  const w = watchDirectory(dir, (r) => results.push(r), { debounceMs: 30, pollMs: 0 });
  try {
    await until(results, (r) => r.objects.length === 2, "initial load");
    assert.equal(results.length, 1);
    // Change: a new object appears.
    await Deno.writeTextFile(`${dir}/a.yaml`, BACKEND("a", 1) + "---\n" + BACKEND("a2", 5));
    await until(results, (r) => names(r).includes("ProxyBackend/default/a2"), "added object");
    // Break a.yaml: its last good version keeps serving, the error names the file.
    await Deno.writeTextFile(`${dir}/a.yaml`, "apiVersion: [oops\n");
    const broken = await until(
      results,
      (r) => r.diagnostics.some((d) => d.severity === "error"),
      "broken file",
    );
    assert.deepEqual(names(broken), [
      "ProxyBackend/default/a",
      "ProxyBackend/default/a2",
      "ProxyBackend/default/b",
    ]);
    assert.ok(
      broken.diagnostics.some((d) =>
        d.source === `${dir}/a.yaml#1` && /malformed YAML/.test(d.message)
      ),
    );
    assert.ok(broken.diagnostics.some((d) => /last good version keeps serving/.test(d.message)));
    // Fix it and delete b.yaml.
    await Deno.writeTextFile(`${dir}/a.yaml`, BACKEND("fixed", 7));
    await Deno.remove(`${dir}/b.yaml`);
    const fixed = await until(
      results,
      (r) => names(r).join() === "ProxyBackend/default/fixed",
      "fix + delete",
    );
    assert.deepEqual(fixed.diagnostics, []);
    // No callback without a change.
    const n = results.length;
    await Deno.writeTextFile(`${dir}/a.yaml`, BACKEND("fixed", 7));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(results.length, n);
  } finally {
    w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("watchDirectory: the poll picks up changes when events are missed", async () => {
  const dir = await tmpTree({ "a.yaml": BACKEND("a", 1) });
  const results: DirectoryResult[] = [];
  const w = watchDirectory(dir, (r) => results.push(r), { debounceMs: 10_000, pollMs: 50 });
  try {
    await until(results, (r) => r.objects.length === 1, "initial");
    await Deno.writeTextFile(`${dir}/b.yaml`, BACKEND("b", 2));
    await until(results, (r) => r.objects.length === 2, "poll");
  } finally {
    w.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadDirectory: a single file works in place of a directory", async () => {
  const dir = await tmpTree({ "one.yaml": BACKEND("solo", 1) });
  try {
    const r = await loadDirectory(`${dir}/one.yaml`);
    assert.deepEqual(names(r), ["ProxyBackend/default/solo"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("watchDirectory: a ConfigMap-style volume (..data symlink swapped atomically) reloads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-cm-" });
  try {
    await Deno.mkdir(`${dir}/..2026_01`);
    await Deno.writeTextFile(`${dir}/..2026_01/config.yaml`, BACKEND("v1", 1));
    await Deno.symlink("..2026_01", `${dir}/..data`);
    await Deno.symlink("..data/config.yaml", `${dir}/config.yaml`);
    const results: DirectoryResult[] = [];
    const w = watchDirectory(dir, (r) => results.push(r), { debounceMs: 30, pollMs: 0 });
    try {
      await until(results, (r) => names(r).join() === "ProxyBackend/default/v1", "initial");
      // kubelet: write the new version beside, point a temp link at it, rename over ..data.
      await Deno.mkdir(`${dir}/..2026_02`);
      await Deno.writeTextFile(`${dir}/..2026_02/config.yaml`, BACKEND("v2", 2));
      await Deno.symlink("..2026_02", `${dir}/..data_tmp`);
      await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
      await Deno.remove(`${dir}/..2026_01`, { recursive: true });
      await until(results, (r) => names(r).join() === "ProxyBackend/default/v2", "swap");
    } finally {
      w.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
