import assert from "node:assert/strict";
import { CertStore } from "../../../src/proxy/listen/tls_store.ts";
import type { ClientValidation } from "../../../src/snapshot/types.ts";
import { makePki } from "../_tls.ts";

Deno.test("CertStore client validation: most specific listener hostname wins; flags follow the listeners", async () => {
  const pki = await makePki();
  try {
    const cert = await pki.leaf("c", ["*.example.com", "example.com"]);
    const strict: ClientValidation = { caPem: pki.caPem, mode: "AllowValidOnly" };
    const loose: ClientValidation = { caPem: pki.caPem, mode: "AllowInsecureFallback" };
    const s = new CertStore([cert], "1.2", [
      { hostnames: ["a.example.com"], validation: strict },
      { hostnames: ["*.example.com"], validation: loose },
      { hostnames: [] },
    ]);
    assert.equal(s.clientValidation("A.example.com"), strict);
    assert.equal(s.clientValidation("b.example.com"), loose);
    assert.equal(s.clientValidation("x.y.example.com"), loose);
    assert.equal(s.clientValidation("other.test"), undefined); // the catch-all listener has none
    assert.equal(s.clientValidation(undefined), undefined);
    assert.equal(s.requestCert, true);
    assert.equal(s.rejectUnauthorized, false); // not every listener refuses
    // A context with the CA is made once per certificate and CA.
    assert.equal(s.select("a.example.com"), s.select("a.example.com"));
    assert.notEqual(s.select("a.example.com"), s.select("other.test"));

    const all = new CertStore([cert], "1.2", [{ hostnames: [], validation: strict }]);
    assert.equal(all.requestCert, true);
    assert.equal(all.rejectUnauthorized, true);
    const none = new CertStore([cert], "1.2", [{ hostnames: ["example.com"] }]);
    assert.equal(none.requestCert, false);
    assert.equal(none.rejectUnauthorized, false);
    assert.throws(
      () =>
        new CertStore([cert], "1.2", [{
          hostnames: ["example.com"],
          validation: {
            caPem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            mode: "AllowValidOnly",
          },
        }]),
      /client CA of listener example\.com is not a valid certificate/,
    );
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
});
