/**
 * End to end through `novaedge agent --config-dir`: a Gateway with TCP, TLS
 * passthrough and UDP listeners, TCPRoute / TLSRoute / UDPRoute to Services
 * whose EndpointSlices point at loopback backends. (TLS Terminate listeners
 * are refused by the Gateway API translator unless the GatewayClass
 * advertises TLSRouteModeTerminate; the data-plane tests cover terminate.)
 */
import assert from "node:assert/strict";
import { freePort, startAgent, waitFor } from "../../_support/agent.ts";
import { makePki } from "../_tls.ts";
import { named, tcpBackend, tcpRequest, tlsBackend, tlsRequest } from "./_l4.ts";

function service(name: string, port: number, target: number, proto = "TCP"): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { ports: [{ name: p, port: ${port}, targetPort: ${target}, protocol: ${proto} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: p, port: ${target}, protocol: ${proto} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
---
`;
}

/** A TCPRoute / TLSRoute / UDPRoute on listener `section` of Gateway l4, to `svc:port`. */
function l4RouteYaml(
  kind: string,
  section: string,
  svc: string,
  port: number,
  hostnames?: string[],
): string {
  const version = kind === "TLSRoute" ? "v1" : "v1alpha2";
  return `apiVersion: gateway.networking.k8s.io/${version}
kind: ${kind}
metadata: { name: ${section}, namespace: default }
spec:
  parentRefs: [{ name: l4, sectionName: ${section} }]
${
    hostnames
      ? `  hostnames: ${JSON.stringify(hostnames)}\n`
      : ""
  }  rules: [{ backendRefs: [{ name: ${svc}, port: ${port} }] }]
---
`;
}

Deno.test("agent: Gateway API TCPRoute, TLSRoute (passthrough) and UDPRoute serve end to end", async () => {
  const pki = await makePki();
  const passCert = await pki.leaf("pass", ["abc.example.com"]);
  const tcpBe = tcpBackend(named("tcp-backend"));
  const tlsBe = tlsBackend(passCert.certPem, passCert.keyPem, "tls-backend");
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const udpPort = (udp.addr as Deno.NetAddr).port;
  (async () => {
    for (;;) {
      try {
        const [d, from] = await udp.receive();
        await udp.send(new TextEncoder().encode(`udp:${new TextDecoder().decode(d)}`), from);
      } catch {
        return;
      }
    }
  })();
  const [pTcp, pTls, pUdp] = [freePort(), freePort(), freePort()];
  const dir = await Deno.makeTempDir({ prefix: "novaedge-l4-agent-" });
  const yaml = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: novaedge }
spec: { controllerName: novaedge.io/gateway-controller }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: l4, namespace: default }
spec:
  gatewayClassName: novaedge
  addresses: [{ type: IPAddress, value: 127.0.0.1 }]
  listeners:
    - { name: tcp, port: ${pTcp}, protocol: TCP }
    - { name: pass, port: ${pTls}, protocol: TLS, hostname: abc.example.com, tls: { mode: Passthrough } }
    - { name: udp, port: ${pUdp}, protocol: UDP }
---
${service("tcp-svc", 9000, tcpBe.port)}${service("tls-svc", 8443, tlsBe.port)}${
    service("udp-svc", 53, udpPort, "UDP")
  }${l4RouteYaml("TCPRoute", "tcp", "tcp-svc", 9000)}${
    l4RouteYaml("TLSRoute", "pass", "tls-svc", 8443, ["abc.example.com"])
  }${l4RouteYaml("UDPRoute", "udp", "udp-svc", 53)}`;
  await Deno.writeTextFile(`${dir}/l4.yaml`, yaml);
  const agent = await startAgent(dir);
  const client = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const tcp = await waitFor("the TCP route", async () => {
      const r = await tcpRequest(pTcp, "");
      return r === "" ? undefined : r;
    });
    assert.equal(tcp, "tcp-backend");
    assert.deepEqual(await tlsRequest(pTls, "abc.example.com", pki.caPem), {
      text: "tls-backend",
      error: null,
    });
    assert.equal((await tlsRequest(pTls, "nomatch.example.com", pki.caPem)).text, null);
    await client.send(new TextEncoder().encode("q"), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: pUdp,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reply = await Promise.race([
      client.receive().then(([d]) => new TextDecoder().decode(d)),
      new Promise<string>((r) => (timer = setTimeout(() => r("<no reply>"), 10000))),
    ]);
    clearTimeout(timer);
    assert.equal(reply, "udp:q");
    const metrics = await (await fetch(`${agent.admin}/metrics`)).text();
    assert.match(
      metrics,
      /novaedge_l4_connections_total\{listener="default\/[^"]*tcp",route="[^"]+"\} [1-9]/,
    );
  } finally {
    client.close();
    const code = await agent.stop();
    assert.equal(code, 0, agent.logs().slice(-3000));
    tcpBe.close();
    tlsBe.close();
    udp.close();
    await Deno.remove(dir, { recursive: true });
  }
});
