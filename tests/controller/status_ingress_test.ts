/**
 * Ingress statuses: only `status.loadBalancer` is written (the Ingress schema
 * has nothing else), an emptied address list is cleared with a merge patch,
 * and a status the server already stores is not written again.
 */
import assert from "node:assert/strict";
import {
  mergeStatus,
  sameStatus,
  statusPatch,
  storedStatus,
} from "../../src/controller/status_merge.ts";
import { StatusWriter } from "../../src/controller/status_writer.ts";
import type { KubeClient } from "../../src/source/kube_client.ts";
import type { KubeObject, ObjectStatus } from "../../src/store/types.ts";

const NOW = "2026-01-01T00:00:00Z";
const translated = (ingress: { ip?: string; hostname?: string }[]) => ({
  observedGeneration: 3,
  conditions: [{ type: "Accepted", status: "True" as const, reason: "Accepted", message: "ok" }],
  loadBalancer: { ingress },
});

Deno.test("storedStatus keeps only an Ingress's loadBalancer; other kinds pass through", () => {
  assert.deepEqual(storedStatus("Ingress", translated([{ ip: "192.0.2.1" }])), {
    loadBalancer: { ingress: [{ ip: "192.0.2.1" }] },
  });
  assert.deepEqual(storedStatus("Ingress", translated([])), { loadBalancer: {} });
  const gw = { conditions: [], addresses: [{ value: "192.0.2.1" }] };
  assert.equal(storedStatus("Gateway", gw), gw);
});

Deno.test("statusPatch clears addresses the live Ingress has and the new status lacks", () => {
  const live = { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } };
  const next = mergeStatus(live, storedStatus("Ingress", translated([])), NOW);
  assert.deepEqual(next, { loadBalancer: {} });
  assert.equal(sameStatus(live, next), false);
  assert.deepEqual(statusPatch("Ingress", live, next), { loadBalancer: { ingress: null } });
  // Nothing to clear: the body is the status itself.
  const set = mergeStatus({}, storedStatus("Ingress", translated([{ hostname: "lb.test" }])), NOW);
  assert.deepEqual(statusPatch("Ingress", {}, set), set);
  // Other kinds are never rewritten.
  const gwNext = { addresses: [] };
  assert.equal(statusPatch("Gateway", { addresses: [{ value: "x" }] }, gwNext), gwNext);
});

Deno.test("an emptied Ingress status, once stored, is no longer a change", () => {
  const stored = { loadBalancer: {} };
  const next = mergeStatus(stored, storedStatus("Ingress", translated([])), NOW);
  assert.equal(sameStatus(stored, next), true);
});

/** A KubeClient stand-in recording patches; the live object is updated as the server would. */
function fakeClient(live: { status?: unknown }): { client: KubeClient; patches: unknown[] } {
  const patches: unknown[] = [];
  const client = {
    patch: (path: string, body: { status: Record<string, unknown> }) => {
      patches.push({ path, body });
      const lb = body.status.loadBalancer as { ingress?: unknown } | undefined;
      live.status = lb?.ingress === null ? { loadBalancer: {} } : { ...body.status };
      return Promise.resolve(live);
    },
    get: () => Promise.resolve(live),
  };
  return { client: client as unknown as KubeClient, patches };
}

Deno.test("StatusWriter writes an Ingress's loadBalancer only, once, and clears it", async () => {
  const live: { -readonly [K in keyof KubeObject]: KubeObject[K] } = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "shop", generation: 3, resourceVersion: "7" },
    spec: {},
  };
  const { client, patches } = fakeClient(live);
  const writer = new StatusWriter({
    client,
    live: () => live,
    resourceOf: (kind) =>
      kind === "Ingress"
        ? { group: "networking.k8s.io", version: "v1", plural: "ingresses", kind }
        : undefined,
  });
  const status = (ingress: { ip?: string }[]): ObjectStatus => ({
    ref: { apiVersion: "networking.k8s.io/v1", kind: "Ingress", namespace: "shop", name: "web" },
    generation: 3,
    status: translated(ingress),
  });
  assert.equal(await writer.writeOne(status([{ ip: "192.0.2.1" }])), "written");
  assert.deepEqual(patches[0], {
    path: "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web/status",
    body: {
      metadata: { resourceVersion: "7" },
      status: { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } },
    },
  });
  assert.equal(await writer.writeOne(status([{ ip: "192.0.2.1" }])), "unchanged");
  assert.equal(await writer.writeOne(status([])), "written");
  assert.deepEqual(
    (patches[1] as { body: { status: unknown } }).body.status,
    { loadBalancer: { ingress: null } },
  );
  assert.equal(await writer.writeOne(status([])), "unchanged");
  assert.equal(patches.length, 2);
});
