import assert from "node:assert/strict";
import { Cancel } from "../../../src/proxy/core/types.ts";

Deno.test("Cancel: linked children and listeners fire in order with the parent's reason", () => {
  const parent = new Cancel();
  const order: string[] = [];
  const a = new Cancel();
  const b = new Cancel();
  parent.link(a);
  const fn = () => order.push("fn");
  parent.listen(fn);
  parent.link(b);
  a.listen(() => order.push(`a:${a.reason}`));
  b.listen(() => order.push(`b:${b.reason}`));
  parent.cancel("client went away");
  assert.deepEqual(order, ["a:client went away", "fn", "b:client went away"]);
});

Deno.test("Cancel: unlink and off detach; linking to a cancelled parent cancels at once", () => {
  const parent = new Cancel();
  const a = new Cancel();
  const b = new Cancel();
  let calls = 0;
  const fn = () => calls++;
  parent.link(a);
  parent.link(b);
  parent.listen(fn);
  parent.unlink(a);
  parent.off(fn);
  parent.cancel("gone");
  assert.equal(a.cancelled, false);
  assert.equal(b.reason, "gone");
  assert.equal(calls, 0);
  const late = new Cancel();
  parent.link(late);
  assert.equal(late.reason, "gone");
  parent.listen(fn);
  assert.equal(calls, 1);
  // on() still returns an unsubscribe function.
  const p2 = new Cancel();
  const off = p2.on(fn);
  off();
  p2.cancel("x");
  assert.equal(calls, 1);
});
