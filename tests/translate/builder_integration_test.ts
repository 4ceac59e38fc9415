/**
 * The translators' output fed to the real snapshot builder (translate → build,
 * as `runPipeline` will do once hooked up): for these golden inputs, the
 * builder must accept every generated object without an error and serve the
 * expected number of routes. This catches a translator emitting something the
 * builder reads differently from how the translator meant it.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../../src/store/types.ts";
import { buildSnapshot } from "../../src/snapshot/build.ts";
import { translateGatewayApi } from "../../src/translate/gateway_api/mod.ts";
import type { GatewayApiOptions } from "../../src/translate/gateway_api/mod.ts";
import { translateIngress } from "../../src/translate/ingress/mod.ts";
import type { IngressOptions } from "../../src/translate/ingress/mod.ts";

function load(path: string): { objects: KubeObject[]; options: Record<string, unknown> } {
  const objects: KubeObject[] = [];
  let options: Record<string, unknown> = {};
  const text = Deno.readTextFileSync(new URL(`../golden/translate/${path}`, import.meta.url));
  for (const d of parseAllDocuments(text)) {
    const v = d.toJS();
    if (!v) continue;
    if (v.kind === "TranslateOptions") options = v.options ?? {};
    else objects.push(v as KubeObject);
  }
  return { objects, options };
}

const isSource = (o: KubeObject) =>
  o.apiVersion.startsWith("gateway.networking.k8s.io/") && o.kind !== "ReferenceGrant" ||
  (o.apiVersion.startsWith("networking.k8s.io/") &&
    (o.kind === "Ingress" || o.kind === "IngressClass"));

/** [golden input, routes expected in the snapshot] */
const CASES: [string, number][] = [
  ["gateway_api/gateway_basic.in.yaml", 1],
  ["gateway_api/gateway_bind_addresses.in.yaml", 2],
  ["gateway_api/gateway_address_pool.in.yaml", 0],
  ["gateway_api/gateway_allowed_routes.in.yaml", 6],
  ["gateway_api/httproute_matches.in.yaml", 6],
  ["gateway_api/httproute_parent_refs.in.yaml", 6],
  ["gateway_api/grpcroute.in.yaml", 5],
  ["gateway_api/naming_and_ownership.in.yaml", 3],
  ["ingress/auth_secrets.in.yaml", 3],
  ["ingress/backend_annotations.in.yaml", 4],
  ["ingress/canary.in.yaml", 6],
  ["ingress/cors.in.yaml", 3],
  ["ingress/redirects.in.yaml", 6],
  ["ingress/rewrite.in.yaml", 8],
  ["ingress/ssl_redirect.in.yaml", 6],
];

for (const [path, routes] of CASES) {
  Deno.test(`translate → buildSnapshot: ${path} builds without errors`, () => {
    const { objects, options } = load(path);
    const t = path.startsWith("gateway_api/")
      ? translateGatewayApi(objects, options as GatewayApiOptions)
      : translateIngress(objects, options as IngressOptions);
    const b = buildSnapshot([...objects.filter((o) => !isSource(o)), ...t.objects]);
    const errors = b.diagnostics.filter((d) => d.severity === "error");
    assert.deepEqual(errors, []);
    assert.equal(b.snapshot.routes.length, routes);
    // Every generated ProxyRoute is Accepted by the builder.
    for (const s of b.statuses.filter((s) => s.ref.kind === "ProxyRoute")) {
      const acc = s.status.conditions.find((c) => c.type === "Accepted");
      assert.equal(acc?.status, "True", `${s.ref.namespace}/${s.ref.name}: ${acc?.message}`);
    }
  });
}
