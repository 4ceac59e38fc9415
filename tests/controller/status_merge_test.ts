import assert from "node:assert/strict";
import {
  kubeTime,
  mergeStatus,
  sameStatus,
  stampConditions,
} from "../../src/controller/status_merge.ts";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:05:00Z";
interface C {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime?: string;
}
const cond = (type: string, status: string, extra: Record<string, unknown> = {}): C => ({
  type,
  status,
  reason: type,
  message: `${type} ${status}`,
  observedGeneration: 2,
  ...extra,
});

Deno.test("kubeTime has second precision", () => {
  assert.equal(kubeTime(new Date("2026-03-04T05:06:07.891Z")), "2026-03-04T05:06:07Z");
});

Deno.test("stampConditions keeps lastTransitionTime while the status holds, moves it on a flip", () => {
  const live = {
    conditions: [
      cond("Accepted", "True", { lastTransitionTime: T0 }),
      cond("ResolvedRefs", "True", { lastTransitionTime: T0 }),
    ],
  };
  const desired = { conditions: [cond("Accepted", "True"), cond("ResolvedRefs", "False")] };
  const out = stampConditions(desired, live, T1) as typeof live;
  assert.equal(out.conditions[0].lastTransitionTime, T0);
  assert.equal(out.conditions[1].lastTransitionTime, T1);
});

Deno.test("stampConditions matches nested conditions by listener name and parentRef, not position", () => {
  const live = {
    listeners: [
      { name: "b", conditions: [cond("Programmed", "True", { lastTransitionTime: T0 })] },
      { name: "a", conditions: [cond("Programmed", "False", { lastTransitionTime: T0 })] },
    ],
  };
  const desired = {
    listeners: [
      { name: "a", conditions: [cond("Programmed", "False")] },
      { name: "b", conditions: [cond("Programmed", "False")] },
    ],
  };
  const out = stampConditions(desired, live, T1) as typeof live;
  assert.equal(out.listeners[0].conditions[0].lastTransitionTime, T0, "a unchanged");
  assert.equal(out.listeners[1].conditions[0].lastTransitionTime, T1, "b flipped");
});

Deno.test("mergeStatus keeps keys and route parents owned by other controllers", () => {
  const live = {
    observedGeneration: 1,
    somebodyElse: { x: 1 },
    parents: [
      {
        parentRef: { name: "gw" },
        controllerName: "other.io/ctl",
        conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })],
      },
      {
        parentRef: { name: "gw" },
        controllerName: "novaedge.io/gateway-controller",
        conditions: [cond("Accepted", "False", { lastTransitionTime: T0 })],
      },
    ],
  };
  const desired = {
    observedGeneration: 2,
    conditions: [],
    parents: [{
      parentRef: { name: "gw" },
      controllerName: "novaedge.io/gateway-controller",
      conditions: [cond("Accepted", "True")],
    }],
  };
  const out = mergeStatus(live, desired, T1) as Record<string, unknown> & typeof live;
  assert.equal(out.observedGeneration, 2);
  assert.deepEqual(out.somebodyElse, { x: 1 });
  assert.equal(out.parents.length, 2);
  assert.equal(out.parents[0].controllerName, "novaedge.io/gateway-controller");
  assert.equal(out.parents[0].conditions[0].lastTransitionTime, T1);
  assert.deepEqual(out.parents[1], live.parents[0], "the other controller's entry is untouched");
});

Deno.test("sameStatus ignores timestamps and key order, sees real changes", () => {
  const a = {
    observedGeneration: 2,
    conditions: [cond("Accepted", "True", { lastTransitionTime: T0 })],
  };
  const b = {
    conditions: [{ ...cond("Accepted", "True"), lastTransitionTime: T1 }],
    observedGeneration: 2,
  };
  assert.equal(sameStatus(a, b), true);
  assert.equal(sameStatus(a, { ...b, observedGeneration: 3 }), false);
  assert.equal(sameStatus(a, { ...b, conditions: [cond("Accepted", "False")] }), false);
  assert.equal(sameStatus(undefined, { observedGeneration: 1 }), false);
  // Writing the merge of an unchanged desired status is a no-op.
  const merged = mergeStatus(
    a,
    { observedGeneration: 2, conditions: [cond("Accepted", "True")] },
    T1,
  );
  assert.equal(sameStatus(a, merged), true);
  assert.equal((merged.conditions as { lastTransitionTime: string }[])[0].lastTransitionTime, T0);
});
