import assert from "node:assert/strict";
import { SnapshotApplier } from "../../src/agent/applier.ts";
import type { Snapshot } from "../../src/snapshot/types.ts";

function snap(version: string): Snapshot {
  return { version, listeners: [], routes: [], clusters: [], vips: [], policies: [], secrets: [] };
}

Deno.test("SnapshotApplier keeps the old snapshot when an apply fails", async () => {
  const applied: string[] = [];
  const applier = new SnapshotApplier({
    apply(s) {
      if (s.version === "bad") return Promise.reject(new Error("port 80 is in use"));
      applied.push(s.version);
      return Promise.resolve();
    },
  });
  assert.equal((await applier.submit(snap("v1"))).ok, true);
  const bad = await applier.submit(snap("bad"));
  assert.equal(bad.ok, false);
  assert.match(bad.error ?? "", /port 80 is in use/);
  assert.equal(applier.current?.version, "v1");
  assert.equal(applier.lastError?.version, "bad");
  assert.equal((await applier.submit(snap("v2"))).ok, true);
  assert.equal(applier.lastError, null);
  assert.deepEqual(applied, ["v1", "v2"]);
});

Deno.test("SnapshotApplier coalesces a burst to the newest snapshot", async () => {
  const applied: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const applier = new SnapshotApplier({
    async apply(s) {
      if (s.version === "v1") await gate;
      applied.push(s.version);
    },
  });
  const first = applier.submit(snap("v1"));
  const mid = applier.submit(snap("v2"));
  const last = applier.submit(snap("v3"));
  release();
  const [a, b, c] = await Promise.all([first, mid, last]);
  assert.deepEqual(applied, ["v1", "v3"], "v2 was superseded while v1 applied");
  assert.equal(a.version, "v1");
  assert.equal(b.version, "v3");
  assert.equal(c.version, "v3");
  assert.equal(applier.current?.version, "v3");
});

Deno.test("SnapshotApplier skips re-applying the version already serving", async () => {
  let calls = 0;
  const applier = new SnapshotApplier({ apply: () => (calls++, Promise.resolve()) });
  await applier.submit(snap("v1"));
  await applier.submit(snap("v1"));
  assert.equal(calls, 1);
});
