import assert from "node:assert/strict";
import { statusOnlyChange } from "../../src/source/kube.ts";

const obj = (
  gen: number | undefined,
  extra: Record<string, unknown> = {},
  status: unknown = {},
) => ({
  metadata: { name: "a", generation: gen, resourceVersion: String(Math.random()), ...extra },
  spec: {},
  status,
});

Deno.test("statusOnlyChange: a status write with the same generation and metadata is status-only", () => {
  assert.equal(statusOnlyChange(obj(3), obj(3, {}, { observedGeneration: 3 })), true);
});

Deno.test("statusOnlyChange: spec (generation), labels, annotations and deletion count as changes", () => {
  assert.equal(statusOnlyChange(obj(3), obj(4)), false);
  assert.equal(statusOnlyChange(obj(3), obj(3, { labels: { a: "b" } })), false);
  assert.equal(statusOnlyChange(obj(3), obj(3, { annotations: { a: "b" } })), false);
  assert.equal(statusOnlyChange(obj(3), obj(3, { deletionTimestamp: "x" })), false);
});

Deno.test("statusOnlyChange: objects without a generation (Secrets, Nodes) always count", () => {
  assert.equal(statusOnlyChange(obj(undefined), obj(undefined)), false);
});
