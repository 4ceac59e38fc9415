import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import type { Listener } from "../../../src/snapshot/types.ts";
import { cluster, echoBackend, freePort, listener, route, snapshot } from "../_helpers.ts";
import { curl, makePki } from "../_tls.ts";

// The GatewayHTTPSListenerDetectMisdirectedRequests shape: HTTPS listeners on
// one port (hostless, exact, wildcard), one certificate, a route each.
Deno.test("HTTPS: a host selecting another listener than the SNI gets 421 (HTTP/1.1 and HTTP/2); isolation by host", async () => {
  const pki = await makePki();
  const srv = await pki.leaf("srv", ["example.test", "second.test", "*.wild.test", "unknown.test"]);
  const [any, second, wild] = [echoBackend("any"), echoBackend("second"), echoBackend("wild")];
  const port = freePort();
  const https = (name: string, hostnames: string[]): Listener =>
    listener(name, port, {
      protocol: "HTTPS",
      hostnames,
      tls: { mode: "Terminate", certificates: ["srv"], minVersion: "1.2", alpn: [] },
    });
  const dp = new DataPlane({});
  await dp.apply(snapshot({
    listeners: [https("any", []), https("second", ["second.test"]), https("wild", ["*.wild.test"])],
    routes: [
      { ...route("r-any", ["c-any"], { hostnames: ["example.test"] }), listeners: ["any"] },
      { ...route("r-second", ["c-second"]), listeners: ["second"] },
      { ...route("r-wild", ["c-wild"]), listeners: ["wild"] },
    ],
    clusters: [
      cluster("c-any", [any.port]),
      cluster("c-second", [second.port]),
      cluster("c-wild", [wild.port]),
    ],
    secrets: [srv],
  }));
  // Connects with server name `sni`, sends Host/:authority `host`; "<status> <backend>".
  const call = async (proto: "--http1.1" | "--http2", sni: string, host: string) => {
    const r = await curl([
      proto,
      "--resolve",
      `${sni}:${port}:127.0.0.1`,
      "--cacert",
      pki.caFile,
      "-H",
      `Host: ${host}`,
      "-w",
      "\n%{http_version} %{http_code}",
      `https://${sni}:${port}/x`,
    ]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    const [version, status] = (lines.pop() ?? "").split(" ");
    assert.equal(version, proto === "--http2" ? "2" : "1.1", "the protocol asked for was used");
    const body = lines.join("\n");
    return `${status} ${status === "200" ? JSON.parse(body).name : ""}`.trim();
  };
  try {
    for (const proto of ["--http1.1", "--http2"] as const) {
      const cases: [string, string, string][] = [
        ["example.test", "example.test", "200 any"],
        ["example.test", "second.test", "421"],
        ["example.test", "unknown.test", "404"], // same (hostless) listener, no route
        ["second.test", "second.test", "200 second"],
        ["second.test", "example.test", "421"],
        ["a.wild.test", "b.wild.test", "200 wild"], // same wildcard listener
        ["a.wild.test", "second.test", "421"],
        ["unknown.test", "example.test", "200 any"], // both select the hostless listener
      ];
      for (const [sni, host, want] of cases) {
        assert.equal(await call(proto, sni, host), want, `${proto} SNI ${sni}, host ${host}`);
      }
    }
  } finally {
    await dp.close();
    await Promise.all([any.close(), second.close(), wild.close()]);
  }
});
