import assert from "node:assert/strict";
import { crdReference } from "../../scripts/gen_docs.ts";

Deno.test("docs/crd-reference.md is generated from src/crds and up to date", async () => {
  const onDisk = await Deno.readTextFile(new URL("../../docs/crd-reference.md", import.meta.url));
  assert.equal(onDisk, crdReference(), "stale: run `deno task gen:docs`");
});

Deno.test("the CRD reference lists every kind and a known field", () => {
  const doc = crdReference();
  for (const kind of ["ProxyGateway", "ProxyRoute", "ProxyBackend", "ProxyPolicy", "ProxyVIP"]) {
    assert.match(doc, new RegExp(`^## ${kind}$`, "m"));
  }
  assert.match(doc, /\| `spec\.listeners\[\]\.port` \| integer \| yes \| range 1\.\.65535 \|/);
});
