/**
 * TLS ports: passthrough by SNI (exact, wildcard, hostless, no match),
 * ClientHello split in small writes, terminate → plain TCP, and HTTPS +
 * passthrough + terminate listeners sharing one port.
 */
import assert from "node:assert/strict";
import { DataPlane } from "../../../src/proxy/mod.ts";
import type { Listener } from "../../../src/snapshot/types.ts";
import {
  accessLines,
  cluster,
  echoBackend,
  freePort,
  listener,
  route,
  snapshot,
} from "../_helpers.ts";
import { curl, makePki, type Pki } from "../_tls.ts";
import {
  captureClientHello,
  l4Route,
  readAll,
  reply,
  tcpBackend,
  tlsBackend,
  tlsRequest,
} from "./_l4.ts";

let pkiP: Promise<Pki> | null = null;
const pki = () => (pkiP ??= makePki());

function tlsListener(
  name: string,
  port: number,
  mode: "Passthrough" | "Terminate",
  hostnames: string[] = [],
  certificates: string[] = [],
): Listener {
  return listener(name, port, {
    protocol: "TLS",
    hostnames,
    tls: { mode, certificates, minVersion: "", alpn: [] },
  });
}

Deno.test("TLS passthrough: routes by SNI — exact, then wildcard, then hostless; no match is refused", async () => {
  const p = await pki();
  const certA = await p.leaf("a", ["a.example.test"]);
  const certW = await p.leaf("w", ["*.wild.example.test"]);
  const certD = await p.leaf("d", ["deep.wild.example.test", "other.test"]);
  const a = tlsBackend(certA.certPem, certA.keyPem, "A");
  const w = tlsBackend(certW.certPem, certW.keyPem, "W");
  const d = tlsBackend(certD.certPem, certD.keyPem, "D");
  const port = freePort();
  const port2 = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [
        tlsListener("pass", port, "Passthrough"),
        tlsListener("any", port2, "Passthrough"),
      ],
      routes: [
        l4Route("r-a", "TLS", ["ca"], { listeners: ["pass"], hostnames: ["a.example.test"] }),
        l4Route("r-w", "TLS", ["cw"], { listeners: ["pass"], hostnames: ["*.wild.example.test"] }),
        l4Route("r-d", "TLS", ["cd"], {
          listeners: ["pass"],
          hostnames: ["deep.wild.example.test"],
        }),
        l4Route("r-any", "TLS", ["cd"], { listeners: ["any"] }),
      ],
      clusters: [cluster("ca", [a.port]), cluster("cw", [w.port]), cluster("cd", [d.port])],
    }));
    // The client verifies the backend's own certificate: TLS is end to end.
    assert.deepEqual(await tlsRequest(port, "a.example.test", p.caPem), { text: "A", error: null });
    assert.deepEqual(await tlsRequest(port, "x.wild.example.test", p.caPem), {
      text: "W",
      error: null,
    });
    // Exact beats the wildcard that also covers it.
    assert.deepEqual(await tlsRequest(port, "deep.wild.example.test", p.caPem), {
      text: "D",
      error: null,
    });
    const miss = await tlsRequest(port, "nope.example.test", p.caPem);
    assert.equal(miss.text, null, "no route: the handshake never completes");
    // Closed without an alert: the Gateway API suite accepts only EOF/RST here.
    assert.notEqual(miss.error, null);
    assert.doesNotMatch(String(miss.error), /alert|unrecogni[sz]ed.?name/i);
    assert.match(String(miss.error), /disconnected|ECONNRESET|socket hang up|EOF/i);
    // A hostless route takes every name.
    assert.deepEqual(await tlsRequest(port2, "other.test", p.caPem), { text: "D", error: null });
    const lines = accessLines().filter((l) => l.listener === "pass");
    const refused = lines.find((l) => l.sni === "nope.example.test");
    assert.match(String(refused?.reason), /no TLS route .* serves server name "nope.example.test"/);
    const ok = lines.find((l) => l.sni === "a.example.test");
    assert.equal(ok?.route, "r-a");
    assert.equal(ok?.proto, "tls-passthrough");
  } finally {
    await dp.close();
    a.close();
    w.close();
    d.close();
  }
});

Deno.test("TLS passthrough: a ClientHello written a few bytes at a time is forwarded intact", async () => {
  const hello = await captureClientHello("slow.example.test");
  // The backend checks it received exactly the hello bytes, then answers.
  let received: Uint8Array | null = null;
  const be = tcpBackend(async (c) => {
    const got = new Uint8Array(hello.length);
    let n = 0;
    while (n < hello.length) {
      const k = await c.read(got.subarray(n));
      if (k === null) break;
      n += k;
    }
    received = got.subarray(0, n);
    await c.write(new TextEncoder().encode("ok"));
    await c.closeWrite();
  });
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [tlsListener("pass", port, "Passthrough")],
      routes: [l4Route("r", "TLS", ["c"], { hostnames: ["slow.example.test"] })],
      clusters: [cluster("c", [be.port])],
    }));
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    for (let o = 0; o < hello.length; o += 3) {
      await c.write(hello.subarray(o, Math.min(hello.length, o + 3)));
      if (o % 60 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    const reply = new TextDecoder().decode(await readAll(c));
    c.close();
    assert.equal(reply, "ok");
    assert.deepEqual(received, hello);
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("TLS terminate: the proxy ends TLS with the listener's certificate and forwards plain TCP", async () => {
  const p = await pki();
  const cert = await p.leaf("term-cert", ["tls.example.test"]);
  const be = tcpBackend(reply("plain:"));
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [tlsListener("term", port, "Terminate", ["tls.example.test"], ["term-cert"])],
      routes: [l4Route("r", "TLS", ["c"], { hostnames: ["tls.example.test"] })],
      clusters: [cluster("c", [be.port])],
      secrets: [cert],
    }));
    assert.deepEqual(await tlsRequest(port, "tls.example.test", p.caPem, "ping"), {
      text: "plain:ping",
      error: null,
    });
    const line = accessLines().find((l) => l.listener === "term" && l.route === "r");
    assert.equal(line?.proto, "tls-terminate");
    assert.equal(line?.bytesIn, 4);
  } finally {
    await dp.close();
    be.close();
  }
});

Deno.test("TLS mixed port: HTTPS routes, passthrough and terminate listeners share one port by SNI", async () => {
  const p = await pki();
  const webCert = await p.leaf("web-cert", ["www.example.test"]);
  const termCert = await p.leaf("term-cert", ["tls.example.test"]);
  const passCert = await p.leaf("pass-cert", ["pass.example.test"]);
  const http = echoBackend("web");
  const pass = tlsBackend(passCert.certPem, passCert.keyPem, "passthrough-backend");
  const plain = tcpBackend(reply("plain:"));
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [
        listener("web", port, {
          protocol: "HTTPS",
          hostnames: ["www.example.test"],
          tls: { mode: "Terminate", certificates: ["web-cert"], minVersion: "", alpn: [] },
        }),
        tlsListener("term", port, "Terminate", ["tls.example.test"], ["term-cert"]),
        tlsListener("pass", port, "Passthrough", ["pass.example.test"]),
      ],
      routes: [
        route("r-web", ["c-web"], { listeners: ["web"], hostnames: ["www.example.test"] }),
        l4Route("r-term", "TLS", ["c-plain"], {
          listeners: ["term"],
          hostnames: ["tls.example.test"],
        }),
        l4Route("r-pass", "TLS", ["c-pass"], {
          listeners: ["pass"],
          hostnames: ["pass.example.test"],
        }),
      ],
      clusters: [
        cluster("c-web", [http.port]),
        cluster("c-plain", [plain.port]),
        cluster("c-pass", [pass.port]),
      ],
      secrets: [webCert, termCert],
    }));
    assert.equal(dp.listeners().find((l) => l.port === port)?.kind, "tls");
    const r = await curl([
      "--cacert",
      p.caFile,
      "--resolve",
      `www.example.test:${port}:127.0.0.1`,
      `https://www.example.test:${port}/hello`,
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).name, "web");
    const r2 = await curl([
      "--http2",
      "--cacert",
      p.caFile,
      "--resolve",
      `www.example.test:${port}:127.0.0.1`,
      `https://www.example.test:${port}/h2`,
    ]);
    assert.equal(r2.code, 0, r2.err);
    assert.equal(JSON.parse(r2.out).url.endsWith("/h2"), true);
    assert.deepEqual(await tlsRequest(port, "pass.example.test", p.caPem), {
      text: "passthrough-backend",
      error: null,
    });
    assert.deepEqual(await tlsRequest(port, "tls.example.test", p.caPem, "x"), {
      text: "plain:x",
      error: null,
    });
  } finally {
    await dp.close();
    await http.close();
    pass.close();
    plain.close();
  }
});
