import assert from "node:assert/strict";
import * as https from "node:https";
import * as http2 from "node:http2";
import type * as tls from "node:tls";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { sanProblem } from "../../../src/proxy/upstream/tls_identity.ts";
import type { Cluster, SecretEntry } from "../../../src/snapshot/types.ts";
import { cluster, freePort, listener, route, snapshot } from "../_helpers.ts";
import { makePki, type Pki } from "../_tls.ts";

/** An HTTPS (HTTP/1.1 + h2) backend that requires a client certificate from `clientCa`. */
async function mtlsBackend(server: SecretEntry, clientCa: string, h2: boolean) {
  const who = (s: tls.TLSSocket) => String(s.getPeerCertificate()?.subject?.CN ?? "");
  /** Client CNs of the active health checks seen. */
  const probes: string[] = [];
  const opts = {
    cert: server.certPem,
    key: server.keyPem,
    ca: clientCa,
    requestCert: true,
    rejectUnauthorized: true,
  };
  const srv = h2
    ? http2.createSecureServer(opts, (req, res) => {
      res.end(JSON.stringify({ client: who(req.socket as tls.TLSSocket), proto: "h2" }));
    })
    : https.createServer(opts, (req, res) => {
      const client = who(req.socket as tls.TLSSocket);
      if (req.headers["user-agent"] === "novaedge-health-check") probes.push(client);
      res.end(JSON.stringify({ client, proto: "h1" }));
    });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return {
    port: (srv.address() as { port: number }).port,
    probes,
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

async function withPki(f: (pki: Pki) => Promise<void>): Promise<void> {
  const pki = await makePki();
  try {
    await f(pki);
  } finally {
    await Deno.remove(pki.dir, { recursive: true });
  }
}

for (const h2 of [false, true]) {
  Deno.test(`upstream mTLS (${h2 ? "h2" : "HTTP/1.1"}): client certificate presented, SANs checked (DNS and URI), mismatch is a 502 with the reason`, async () => {
    await withPki(async (pki) => {
      const server = await pki.leaf("srv", ["backend.internal", "spiffe://backend.internal/id"]);
      const client = await pki.leaf("default/client-cert", ["proxy.internal"], "novaedge-proxy");
      const b = await mtlsBackend(server, pki.caPem, h2);
      const port = freePort();
      const dp = new DataPlane({});
      const mk = (tls: Partial<NonNullable<Cluster["tls"]>>) =>
        snapshot({
          listeners: [listener("l", port)],
          routes: [route("r", ["c"])],
          clusters: [cluster("c", [b.port], {
            protocol: h2 ? "H2C" : "HTTP",
            tls: {
              sni: "backend.internal",
              caPem: pki.caPem,
              insecureSkipVerify: false,
              clientCert: "default/client-cert",
              ...tls,
            },
          })],
          secrets: [client],
        });
      const get = async () => {
        const r = await fetch(`http://127.0.0.1:${port}/x`);
        return { status: r.status, body: await r.text() };
      };
      try {
        await dp.apply(mk({}));
        let r = await get();
        assert.equal(r.status, 200, r.body);
        assert.deepEqual(JSON.parse(r.body), { client: "novaedge-proxy", proto: h2 ? "h2" : "h1" });
        // SANs replace the SNI name: a URI SAN matches, so does one DNS name of several.
        await dp.apply(
          mk({ sni: "other.name", subjectAltNames: ["spiffe://backend.internal/id"] }),
        );
        r = await get();
        assert.equal(r.status, 200, r.body);
        await dp.apply(mk({ subjectAltNames: ["nope.internal", "backend.internal"] }));
        assert.equal((await get()).status, 200);
        // No SAN of the certificate is listed: 502 naming what was wanted and what it carries.
        await dp.apply(mk({ subjectAltNames: ["spiffe://elsewhere/id", "wrong.internal"] }));
        r = await get();
        assert.equal(r.status, 502);
        assert.match(
          r.body,
          /matches none of the subjectAltNames spiffe:\/\/elsewhere\/id, wrong\.internal/,
        );
        assert.match(r.body, /DNS:backend\.internal/);
        // Without a client certificate the backend refuses the handshake: 502.
        await dp.apply(mk({ clientCert: "" }));
        assert.equal((await get()).status, 502);
      } finally {
        await dp.close();
        await b.close();
      }
    });
  });
}

Deno.test("upstream TLS: a snapshot whose client certificate secret is missing is refused", async () => {
  const dp = new DataPlane({});
  try {
    await assert.rejects(
      dp.apply(snapshot({
        listeners: [listener("l", freePort())],
        routes: [route("r", ["c"])],
        clusters: [cluster("c", [1], {
          tls: { sni: "", caPem: "", insecureSkipVerify: false, clientCert: "ns/missing" },
        })],
      })),
      /client certificate secret "ns\/missing" is missing/,
    );
  } finally {
    await dp.close();
  }
});

Deno.test("sanProblem: DNS names (wildcards one label deep, case-insensitive) and exact URIs", () => {
  const cert = {
    subjectaltname: "DNS:*.example.com, DNS:api.internal, URI:spiffe://td/ns/a",
  } as tls.PeerCertificate;
  assert.equal(sanProblem(["x.example.com"], cert, "t"), undefined);
  assert.equal(sanProblem(["API.internal"], cert, "t"), undefined);
  assert.equal(sanProblem(["spiffe://td/ns/a"], cert, "t"), undefined);
  assert.ok(sanProblem(["a.b.example.com"], cert, "t"));
  assert.ok(sanProblem(["spiffe://td/ns/b", "spiffe://td/ns"], cert, "t"));
  assert.match(
    sanProblem(["x"], {} as tls.PeerCertificate, "1.2.3.4:443")!.message,
    /of 1\.2\.3\.4:443 .* no DNS or URI names/,
  );
});

Deno.test("upstream mTLS: active health checks present the client certificate and check SANs", async () => {
  await withPki(async (pki) => {
    const server = await pki.leaf("srv", ["backend.internal"]);
    const client = await pki.leaf("default/client-cert", ["proxy.internal"], "novaedge-proxy");
    const b = await mtlsBackend(server, pki.caPem, false);
    const port = freePort();
    const dp = new DataPlane({});
    const mk = (sans: string[]) =>
      snapshot({
        listeners: [listener("l", port)],
        routes: [route("r", ["c"])],
        clusters: [cluster("c", [b.port], {
          tls: {
            sni: "backend.internal",
            caPem: pki.caPem,
            insecureSkipVerify: false,
            clientCert: "default/client-cert",
            subjectAltNames: sans,
          },
          healthCheck: {
            path: "/healthz",
            intervalMs: 50,
            timeoutMs: 1000,
            healthyThreshold: 1,
            unhealthyThreshold: 1,
            expectedStatuses: [],
          },
        })],
        secrets: [client],
      });
    const status = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/x`);
      await r.body?.cancel();
      return r.status;
    };
    try {
      await dp.apply(mk(["backend.internal"]));
      for (let i = 0; i < 200 && b.probes.length < 2; i++) await sleep(25);
      assert.ok(b.probes.length >= 2, "the backend saw no health checks");
      assert.deepEqual([...new Set(b.probes)], ["novaedge-proxy"]);
      assert.equal(await status(), 200);
      // SAN mismatch: the probe fails too, so the endpoint leaves rotation (503, not 502).
      await dp.apply(mk(["elsewhere.internal"]));
      let s = 0;
      for (let i = 0; i < 200 && (s = await status()) !== 503; i++) await sleep(25);
      assert.equal(s, 503);
    } finally {
      await dp.close();
      await b.close();
    }
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
