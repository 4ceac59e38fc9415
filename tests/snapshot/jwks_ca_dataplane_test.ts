/**
 * ProxyPolicy jwt.jwksUri served over HTTPS by a private CA, end to end:
 * objects → runPipeline → protobuf wire → data plane → requests. With
 * jwksCaCertificateRef (a Secret, or a ConfigMap) the JWKS is fetched and a
 * token signed by its key is accepted while a forged one is refused; without
 * it the fetch fails (503, the existing "JWKS not available" behaviour); with
 * an unusable reference the policy is reported Accepted=False and refuses
 * every token, while the rest of the snapshot keeps serving.
 */
import assert from "node:assert/strict";
import type { KubeObject } from "../../src/store/types.ts";
import { freePort } from "../_support/agent.ts";
import { runPipeline } from "../../src/snapshot/mod.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/snapshot/codec.ts";
import { DataPlane } from "../../src/proxy/mod.ts";
import { makePki } from "../proxy/_tls.ts";
import { jwks, rs256 } from "../proxy/policy/_jwt_helpers.ts";

const N = "novaedge.io/v1alpha1";
const ISSUER = "https://idp.identity.svc";

function route(name: string, path: string): KubeObject {
  return {
    apiVersion: N,
    kind: "ProxyRoute",
    metadata: { name, namespace: "demo", generation: 1 },
    spec: {
      parentRefs: [{ name: "edge" }],
      rules: [{ matches: [{ path: { value: path } }], backendRefs: [{ name: "app" }] }],
    },
  };
}

function jwtPolicy(name: string, target: string, jwt: Record<string, unknown>): KubeObject {
  return {
    apiVersion: N,
    kind: "ProxyPolicy",
    metadata: { name, namespace: "demo", generation: 1 },
    spec: { targetRefs: [{ kind: "ProxyRoute", name: target }], jwt: { issuer: ISSUER, ...jwt } },
  };
}

Deno.test("jwksUri over https with a private CA: accepted with jwksCaCertificateRef, refused without", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("idp", ["localhost"]);
  const key = await rs256("k1");
  const forger = await rs256("k1"); // same kid, another key
  let jwksHits = 0;
  const idp = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: leaf.certPem,
    key: leaf.keyPem,
    onListen: () => {},
    onError: () => new Response("tls error", { status: 599 }),
  }, () => {
    jwksHits++;
    return new Response(jwks(key), { headers: { "content-type": "application/json" } });
  });
  const app = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json({ ok: true }),
  );
  const uri = `https://localhost:${idp.addr.port}/jwks`;
  const port = freePort();
  const objects: KubeObject[] = [
    {
      apiVersion: N,
      kind: "ProxyGateway",
      metadata: { name: "edge", namespace: "demo", generation: 1 },
      spec: { listeners: [{ name: "http", port, protocol: "HTTP" }] },
    },
    {
      apiVersion: N,
      kind: "ProxyBackend",
      metadata: { name: "app", namespace: "demo", generation: 1 },
      spec: { endpoints: [{ address: "127.0.0.1", port: app.addr.port }] },
    },
    route("with-ca", "/with-ca"),
    route("with-ca-cm", "/with-ca-cm"),
    route("no-ca", "/no-ca"),
    route("bad-ca", "/bad-ca"),
    route("open", "/open"),
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "idp-ca", namespace: "demo" },
      stringData: { "ca.crt": pki.caPem },
    } as KubeObject,
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "idp-ca", namespace: "demo" },
      data: { "ca.crt": pki.caPem },
    } as KubeObject,
    jwtPolicy("with-ca", "with-ca", { jwksUri: uri, jwksCaCertificateRef: { name: "idp-ca" } }),
    jwtPolicy("with-ca-cm", "with-ca-cm", {
      jwksUri: uri,
      jwksCaCertificateRef: { kind: "ConfigMap", name: "idp-ca" },
    }),
    jwtPolicy("no-ca", "no-ca", { jwksUri: uri }),
    jwtPolicy("bad-ca", "bad-ca", { jwksUri: uri, jwksCaCertificateRef: { name: "gone" } }),
  ];
  const built = runPipeline(objects);
  const pol = (n: string) => built.snapshot.policies.find((p) => p.name === `demo/${n}`)!;
  assert.equal(pol("with-ca").jwt?.jwksCaPem, pki.caPem);
  assert.equal(pol("with-ca-cm").jwt?.jwksCaPem, pki.caPem);
  assert.equal(pol("no-ca").jwt?.jwksCaPem, undefined);
  assert.deepEqual(pol("bad-ca").jwt, { issuer: ISSUER, audiences: [], jwksJson: "", jwksUri: "" });
  const conds = (n: string) =>
    built.statuses.find((s) => s.ref.kind === "ProxyPolicy" && s.ref.name === n)!.status
      .conditions as { type: string; status: string; reason: string; message: string }[];
  const accepted = conds("bad-ca").find((c) => c.type === "Accepted")!;
  assert.equal(accepted.status, "False");
  const refs = conds("bad-ca").find((c) => c.type === "ResolvedRefs")!;
  assert.equal(refs.reason, "InvalidCACertificateRef");
  assert.match(refs.message, /^spec\.jwt\.jwksCaCertificateRef: Secret demo\/gone not found/);
  assert.equal(conds("with-ca").find((c) => c.type === "Accepted")!.status, "True");
  // What the agent gets: through the protobuf wire, version checked.
  const snap = decodeSnapshot(encodeSnapshot(built.snapshot), { checkVersion: true });
  assert.deepEqual(snap, built.snapshot);

  const dp = new DataPlane({ workers: 1, accessLog: false });
  try {
    await dp.apply(snap);
    const claims = { iss: ISSUER, sub: "alice", exp: Math.floor(Date.now() / 1000) + 600 };
    const good = await key.sign({}, claims);
    const forged = await forger.sign({}, claims);
    const get = async (path: string, token?: string) => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: r.status, body: await r.text() };
    };
    for (const path of ["/with-ca", "/with-ca-cm"]) {
      const ok = await get(path, good);
      assert.equal(ok.status, 200, `${path}: ${ok.body}`);
      assert.equal(JSON.parse(ok.body).ok, true);
      assert.equal((await get(path, forged)).status, 401, `${path}: forged token`);
      assert.equal((await get(path)).status, 401, `${path}: no token`);
    }
    assert.ok(jwksHits >= 1, "the JWKS server was reached over TLS");
    // Same URI without the CA: a separate fetcher, whose TLS handshake fails.
    const hitsBefore = jwksHits;
    const noCa = await get("/no-ca", good);
    assert.equal(noCa.status, 503, noCa.body);
    assert.equal(jwksHits, hitsBefore, "no request got through without trusting the CA");
    // Unusable CA reference: refused, never fetched with the default roots.
    assert.equal((await get("/bad-ca", good)).status, 401);
    // The rest of the snapshot keeps serving.
    assert.equal((await get("/open")).status, 200);
  } finally {
    await dp.close();
    await Promise.all([idp.shutdown(), app.shutdown()]);
    await Deno.remove(pki.dir, { recursive: true });
  }
});
