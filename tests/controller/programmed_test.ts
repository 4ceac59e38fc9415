import assert from "node:assert/strict";
import { programmedConditions, withProgrammed } from "../../src/controller/programmed.ts";
import type { Route, Snapshot } from "../../src/snapshot/types.ts";
import type { ObjectStatus } from "../../src/store/types.ts";

const route = (name: string, host: string): Route => ({
  name,
  listeners: ["ns/gw/http"],
  hostnames: [host],
  matches: [],
  filters: [],
  backends: [],
  l4Protocol: "",
  maxBodyBytes: 0,
  policies: [],
  orderKey: name,
});
const snap = (version: string, routes: Route[]): Snapshot => ({
  version,
  listeners: [],
  routes,
  clusters: [],
  vips: [],
  policies: [],
  secrets: [],
});

Deno.test("programmedConditions: only the changed route is pending on a lagging node", () => {
  const old = snap("v1", [route("ns/a/0", "a.test"), route("ns/b/0", "b.test")]);
  const cur = snap("v2", [route("ns/a/0", "a.test"), route("ns/b/0", "b2.test")]);
  const c = programmedConditions([
    { node: "n1", expected: cur, served: cur },
    { node: "n2", expected: cur, served: old },
    { node: "n3", expected: cur, served: undefined },
  ], () => 4);
  assert.equal(c.get("ns/a")?.status, "True");
  assert.match(
    c.get("ns/a")!.message,
    /served by 2 of 3 node\(s\); 1 node\(s\) not reporting to this controller: n3/,
  );
  assert.equal(c.get("ns/b")?.status, "False");
  assert.equal(c.get("ns/b")?.reason, "Pending");
  assert.match(c.get("ns/b")!.message, /not yet served by n2 \(1 of 3 done\)/);
});

Deno.test("programmedConditions names the agent's rejection", () => {
  const cur = snap("v2", [route("ns/a/0", "a.test")]);
  const c = programmedConditions([
    { node: "n1", expected: cur, served: snap("v1", []), nackReason: "port 80 in use" },
  ], () => 1);
  assert.match(c.get("ns/a")!.message, /n1 \(rejected: port 80 in use\)/);
});

Deno.test("withProgrammed adds the condition to ProxyRoutes only, with their generation", () => {
  const st = (kind: string, name: string): ObjectStatus => ({
    ref: { apiVersion: "novaedge.io/v1alpha1", kind, namespace: "ns", name },
    generation: 7,
    status: {
      observedGeneration: 7,
      conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "" }],
    },
  });
  const conds = programmedConditions([{
    node: "n1",
    expected: snap("v", [route("ns/a/0", "a")]),
    served: snap("v", [route("ns/a/0", "a")]),
  }], () => 0);
  const out = withProgrammed([st("ProxyRoute", "a"), st("ProxyBackend", "a")], conds);
  assert.deepEqual(out[0].status.conditions.map((c) => c.type), ["Accepted", "Programmed"]);
  assert.equal(out[0].status.conditions[1].observedGeneration, 7);
  assert.deepEqual(out[1].status.conditions.map((c) => c.type), ["Accepted"]);
});
