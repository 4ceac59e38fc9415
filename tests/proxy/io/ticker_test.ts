import assert from "node:assert/strict";
import { coarseNow, type Deadline, unwatch, watch } from "../../../src/proxy/io/ticker.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("ticker: a watched deadline fires once it has passed; unwatched ones never", async () => {
  let fired = 0;
  let other = 0;
  const d: Deadline = { deadline: Date.now() + 50, fire: () => fired++ };
  const gone: Deadline = { deadline: Date.now() + 50, fire: () => other++ };
  watch(d);
  watch(gone);
  unwatch(gone);
  try {
    for (let i = 0; i < 100 && fired === 0; i++) await sleep(20);
    assert.equal(fired, 1);
    assert.equal(d.deadline, 0, "a fired deadline is disarmed");
    await sleep(250);
    assert.equal(fired, 1, "fires once");
    assert.equal(other, 0);
  } finally {
    unwatch(d);
  }
});

Deno.test("coarseNow: never ahead of Date.now, and follows it while the ticker runs", async () => {
  const keep: Deadline = { deadline: 0, fire: () => {} };
  watch(keep); // keeps the ticker running
  try {
    const before = Date.now();
    assert.ok(coarseNow() <= Date.now());
    await sleep(350);
    const c = coarseNow();
    assert.ok(c <= Date.now(), "coarse clock ahead of the real one");
    assert.ok(c > before, "coarse clock did not advance over several ticks");
  } finally {
    unwatch(keep);
  }
});
