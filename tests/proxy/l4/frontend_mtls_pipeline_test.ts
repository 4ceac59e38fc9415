/**
 * Gateway API → snapshot → data plane for frontend mTLS on a TLS listener in
 * mode Terminate: the Gateway's `spec.tls.frontend` (CA in a ConfigMap)
 * reaches the snapshot listener's `tls.clientValidation`, and the L4 plane
 * lets only clients with a certificate of that CA reach the TLSRoute's TCP
 * backend. A Passthrough listener on another port is left alone.
 */
import assert from "node:assert/strict";
import * as tls from "node:tls";
import type { KubeObject } from "../../../src/store/types.ts";
import type { SecretEntry } from "../../../src/snapshot/types.ts";
import { runPipeline } from "../../../src/snapshot/mod.ts";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { loopbackService } from "../../snapshot/_objects.ts";
import { accessLines, freePort } from "../_helpers.ts";
import { makePki } from "../_tls.ts";
import { reply, tcpBackend } from "./_l4.ts";

const G = "gateway.networking.k8s.io/v1";
const b64 = (s: string) => btoa(s);

/** Connects with SNI `host` (optional client certificate), sends "ping", reads to EOF. */
function call(port: number, host: string, caPem: string, cert?: SecretEntry): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port,
      servername: host,
      ca: [caPem],
      ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
    });
    let text = "";
    s.on("secureConnect", () => s.end("ping"));
    s.on("data", (d: Uint8Array) => (text += new TextDecoder().decode(d)));
    s.on("error", () => s.destroy());
    s.on("close", () => resolve(text));
  });
}

Deno.test("Gateway spec.tls.frontend AllowValidOnly on a TLS Terminate listener: pipeline to data plane", async () => {
  const [server, clients, foreign] = await Promise.all([makePki(), makePki(), makePki()]);
  const srv = await server.leaf("srv", ["tls.example.test"]);
  const good = await clients.leaf("good", ["client.good"]);
  const bad = await foreign.leaf("bad", ["client.bad"]);
  const be = tcpBackend(reply("plain:"));
  const port = freePort();
  let passPort = freePort();
  while (passPort === port) passPort = freePort();
  const objects: KubeObject[] = [
    {
      apiVersion: G,
      kind: "GatewayClass",
      metadata: { name: "nova", generation: 1 },
      spec: { controllerName: "novaedge.io/gateway-controller" },
    },
    {
      apiVersion: G,
      kind: "Gateway",
      metadata: { name: "gw", namespace: "web", generation: 1 },
      spec: {
        gatewayClassName: "nova",
        tls: {
          frontend: {
            default: {
              validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "ca" }] },
            },
          },
        },
        listeners: [
          {
            name: "tls",
            port,
            protocol: "TLS",
            hostname: "tls.example.test",
            tls: { mode: "Terminate", certificateRefs: [{ name: "srv" }] },
          },
          {
            name: "pass",
            port: passPort,
            protocol: "TLS",
            hostname: "pass.example.test",
            tls: { mode: "Passthrough" },
          },
        ],
      },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "srv", namespace: "web" },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(srv.certPem), "tls.key": b64(srv.keyPem) },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ca", namespace: "web" },
      data: { "ca.crt": clients.caPem },
    },
    {
      apiVersion: G,
      kind: "TLSRoute",
      metadata: { name: "r", namespace: "web", generation: 1 },
      spec: {
        parentRefs: [{ name: "gw", sectionName: "tls" }],
        rules: [{ backendRefs: [{ name: "plain", port: 9000 }] }],
      },
    },
    ...loopbackService("web", "plain", 9000, be.port),
  ];
  const p = runPipeline(objects);
  const l = p.snapshot.listeners.find((x) => x.port === port);
  const why = () => JSON.stringify({ listeners: p.snapshot.listeners, statuses: p.statuses });
  assert.equal(l?.protocol, "TLS", why());
  assert.deepEqual(l?.tls?.clientValidation, { caPem: clients.caPem, mode: "AllowValidOnly" });
  const pass = p.snapshot.listeners.find((x) => x.port === passPort);
  assert.equal(pass?.tls?.clientValidation, undefined, "passthrough gets no validation");
  const dp = new DataPlane({ workers: 1 });
  try {
    await dp.apply(p.snapshot);
    const lines = () => JSON.stringify(accessLines().filter((x) => x.listener === l?.name));
    assert.equal(await call(port, "tls.example.test", server.caPem, good), "plain:ping", lines());
    assert.equal(await call(port, "tls.example.test", server.caPem), "", lines());
    assert.equal(await call(port, "tls.example.test", server.caPem, bad), "", lines());
    assert.equal(be.accepted, 1, lines());
  } finally {
    await dp.close();
    be.close();
    for (const k of [server, clients, foreign]) await Deno.remove(k.dir, { recursive: true });
  }
});
