import assert from "node:assert/strict";
import { SnapshotStateStore, STATE_FILE } from "../../src/agent/state.ts";
import { setLogSink } from "../../src/observe/log.ts";

const logged: string[] = [];
setLogSink((line) => logged.push(line));

Deno.test("SnapshotStateStore: load before any save is undefined", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await new SnapshotStateStore(`${dir}/sub`).load(), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SnapshotStateStore: save then load returns the same bytes and version, mode 0600", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SnapshotStateStore(`${dir}/state`);
    const bytes = crypto.getRandomValues(new Uint8Array(60_000));
    await store.save("vabc", bytes);
    const got = await store.load();
    assert.ok(got);
    assert.equal(got.version, "vabc");
    assert.deepEqual(got.bytes, bytes);
    assert.ok(!Number.isNaN(Date.parse(got.savedAt)));
    const st = await Deno.stat(store.path);
    assert.equal(st.mode! & 0o777, 0o600);
    // A second save replaces it and leaves no temp files behind.
    await store.save("vdef", new Uint8Array([1, 2, 3]));
    assert.equal((await store.load())?.version, "vdef");
    const names = [];
    for await (const e of Deno.readDir(`${dir}/state`)) names.push(e.name);
    assert.deepEqual(names, [STATE_FILE]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SnapshotStateStore: a truncated or corrupted file is ignored, not served", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new SnapshotStateStore(dir);
    await store.save("v1", new Uint8Array(1000).fill(7));
    const raw = await Deno.readFile(store.path);
    await Deno.writeFile(store.path, raw.subarray(0, raw.length - 10));
    assert.equal(await store.load(), undefined, "truncated");
    const flipped = raw.slice();
    flipped[flipped.length - 1] ^= 0xff;
    await Deno.writeFile(store.path, flipped);
    assert.equal(await store.load(), undefined, "bit flip");
    await Deno.writeTextFile(store.path, "hello");
    assert.equal(await store.load(), undefined, "not ours");
    const reasons = logged.map((l) => JSON.parse(l).error);
    assert.ok(reasons.some((r) => /truncated/.test(r)), reasons.join("; "));
    assert.ok(reasons.includes("checksum mismatch"), reasons.join("; "));
    assert.ok(reasons.some((r) => /bad magic/.test(r)), reasons.join("; "));
    await store.save("v2", new Uint8Array([9]));
    assert.equal((await store.load())?.version, "v2", "a good save recovers");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
