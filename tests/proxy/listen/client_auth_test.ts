import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import type { ClientValidation, Listener, SecretEntry } from "../../../src/snapshot/types.ts";
import { cluster, echoBackend, freePort, listener, route, snapshot } from "../_helpers.ts";
import { curl, makePki } from "../_tls.ts";

Deno.test("frontend mTLS: AllowValidOnly refuses missing/foreign client certificates, AllowInsecureFallback lets them in, changes apply live, listeners sharing a port differ by SNI", async () => {
  const pki = await makePki();
  const clients = await makePki();
  const foreign = await makePki();
  const srv = await pki.leaf("srv", ["a.example.com", "b.example.com"]);
  const good = await clients.leaf("good", ["client.good"]);
  const bad = await foreign.leaf("bad", ["client.bad"]);
  const b = echoBackend("mtls");
  const port = freePort();
  const dp = new DataPlane({});
  const https = (name: string, host: string, v?: ClientValidation): Listener =>
    listener(name, port, {
      protocol: "HTTPS",
      hostnames: [host],
      tls: {
        mode: "Terminate",
        certificates: ["srv"],
        minVersion: "1.2",
        alpn: [],
        ...(v ? { clientValidation: v } : {}),
      },
    });
  const mk = (...ls: Listener[]) =>
    snapshot({
      listeners: ls,
      routes: [{ ...route("r", ["c"]), listeners: ls.map((l) => l.name) }],
      clusters: [cluster("c", [b.port])],
      secrets: [srv],
    });
  const call = (host: string, cert?: string) =>
    curl([
      "-v",
      "--resolve",
      `${host}:${port}:127.0.0.1`,
      "--cacert",
      pki.caFile,
      ...(cert ? ["--cert", `${cert}.crt`, "--key", `${cert}.key`] : []),
      `https://${host}:${port}/x`,
    ]);
  // curl reads the client certificate and key from files.
  const files = async (dir: string, e: SecretEntry) => {
    await Deno.writeTextFile(`${dir}/${e.name}.crt`, e.certPem);
    await Deno.writeTextFile(`${dir}/${e.name}.key`, e.keyPem);
    return `${dir}/${e.name}`;
  };
  const goodFile = await files(clients.dir, good);
  const badFile = await files(foreign.dir, bad);
  const validOnly: ClientValidation = { caPem: clients.caPem, mode: "AllowValidOnly" };
  const fallback: ClientValidation = { caPem: clients.caPem, mode: "AllowInsecureFallback" };
  try {
    // No validation: no certificate is asked for.
    await dp.apply(mk(https("a", "a.example.com")));
    let r = await call("a.example.com");
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /Request CERT/);
    // AllowValidOnly, same socket (live change).
    await dp.apply(mk(https("a", "a.example.com", validOnly)));
    r = await call("a.example.com", goodFile);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /Request CERT/);
    assert.equal(JSON.parse(r.out).name, "mtls");
    r = await call("a.example.com");
    assert.notEqual(r.code, 0, "no client certificate must fail the handshake");
    assert.doesNotMatch(r.out, /mtls/);
    r = await call("a.example.com", badFile);
    assert.notEqual(r.code, 0, "a certificate of another CA must fail");
    // AllowInsecureFallback: asked for, but anyone gets through.
    await dp.apply(mk(https("a", "a.example.com", fallback)));
    for (const cert of [goodFile, badFile, undefined]) {
      r = await call("a.example.com", cert);
      assert.equal(r.code, 0, `${cert}: ${r.err}`);
      assert.match(r.err, /Request CERT/);
      assert.equal(JSON.parse(r.out).name, "mtls");
    }
    // Two listeners on one port: only a.example.com validates clients.
    await dp.apply(mk(https("a", "a.example.com", validOnly), https("b", "b.example.com")));
    r = await call("b.example.com");
    assert.equal(r.code, 0, r.err);
    r = await call("a.example.com");
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.out, /mtls/);
    r = await call("a.example.com", goodFile);
    assert.equal(r.code, 0, r.err);
    // A client CA that is not a certificate refuses the snapshot; the old one keeps serving.
    await assert.rejects(
      dp.apply(mk(https("a", "a.example.com", { caPem: "junk", mode: "AllowValidOnly" }))),
      /client CA of listener a\.example\.com holds no PEM certificate/,
    );
    r = await call("a.example.com", goodFile);
    assert.equal(r.code, 0, r.err);
  } finally {
    await dp.close();
    await b.close();
    for (const p of [pki, clients, foreign]) await Deno.remove(p.dir, { recursive: true });
  }
});
