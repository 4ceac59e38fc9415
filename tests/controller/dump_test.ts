import assert from "node:assert/strict";
import { AgentRegistry } from "../../src/controller/agents.ts";
import { staticTokenAuthenticator } from "../../src/controller/auth.ts";
import { dumpFromAgent, dumpFromController } from "../../src/controller/dump.ts";
import { startGrpcServer } from "../../src/controller/grpc_server.ts";
import { createCa, issueLeaf } from "../../src/controller/pki.ts";
import { REDACTED, SnapshotHub } from "../../src/controller/snapshot_hub.ts";
import { setLogLevel } from "../../src/observe/log.ts";
import { encodeSnapshot } from "../../src/snapshot/codec.ts";
import { testSnapshot } from "./_helpers.ts";

setLogLevel("error");

Deno.test("dumpFromController reads CA and token files and returns the redacted snapshot", async () => {
  const dir = await Deno.makeTempDir();
  const ca = await createCa("ca");
  const leaf = await issueLeaf(ca, { commonName: "c", sans: ["novaedge-controller"] });
  const hub = new SnapshotHub(encodeSnapshot);
  hub.publish("n1", testSnapshot("v1", 3));
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    certPem: leaf.certPem,
    keyPem: leaf.keyPem,
    authenticate: staticTokenAuthenticator(new Map([["tok", "me"]])),
    hub,
    registry: new AgentRegistry("ctl"),
    controllerId: "ctl",
  });
  try {
    await Deno.writeTextFile(`${dir}/ca.crt`, ca.certPem);
    await Deno.writeTextFile(`${dir}/token`, "tok\n");
    const d = await dumpFromController({
      address: `127.0.0.1:${server.port}`,
      node: "n1",
      caFile: `${dir}/ca.crt`,
      tokenFile: `${dir}/token`,
    });
    assert.equal(d.version, "v1");
    assert.equal(d.snapshot.routes.length, 3);
    assert.equal(d.snapshot.secrets[0].keyPem, REDACTED);
    assert.deepEqual(d.agents, []);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dumpFromAgent reads /debug/snapshot and reports a missing one", async () => {
  let body: unknown = testSnapshot("v9");
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/debug/snapshot" && body
        ? Response.json(body)
        : new Response("nothing yet", { status: 404 }),
  );
  try {
    const url = `http://127.0.0.1:${s.addr.port}`;
    assert.equal((await dumpFromAgent(url)).version, "v9");
    body = undefined;
    await assert.rejects(dumpFromAgent(url), /404/);
  } finally {
    await s.shutdown();
  }
});
