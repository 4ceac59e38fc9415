/**
 * Frontend client-certificate validation (mTLS) on TLS listeners that
 * terminate (TLSRoute mode Terminate): AllowValidOnly lets only clients with a
 * certificate of the listener's CA reach the backend, AllowInsecureFallback
 * lets everyone in, changes apply on a snapshot swap, and listeners sharing a
 * port (TLS and HTTPS) each keep their own validation, chosen by SNI.
 */
import assert from "node:assert/strict";
import * as tls from "node:tls";
import { DataPlane } from "../../../src/proxy/mod.ts";
import { registry } from "../../../src/observe/metrics.ts";
import type { ClientValidation, Listener, SecretEntry } from "../../../src/snapshot/types.ts";
import {
  accessLines,
  cluster,
  echoBackend,
  freePort,
  listener,
  route,
  snapshot,
} from "../_helpers.ts";
import { waitFor } from "../../_support/agent.ts";
import { curl, makePki, type Pki } from "../_tls.ts";
import { l4Route, reply, tcpBackend } from "./_l4.ts";

interface Pkis {
  server: Pki;
  clients: Pki;
  foreign: Pki;
  srv: SecretEntry;
  good: SecretEntry;
  bad: SecretEntry;
}

let pkisP: Promise<Pkis> | null = null;
/** One server CA, the clients' CA and a foreign CA, made once for the file. */
function pkis(): Promise<Pkis> {
  pkisP ??= (async () => {
    const [server, clients, foreign] = await Promise.all([makePki(), makePki(), makePki()]);
    return {
      server,
      clients,
      foreign,
      srv: await server.leaf("srv", ["tls.example.test", "open.example.test", "www.example.test"]),
      good: await clients.leaf("good", ["client.good"]),
      bad: await foreign.leaf("bad", ["client.bad"]),
    };
  })();
  return pkisP;
}

function terminating(
  name: string,
  port: number,
  hostnames: string[],
  v?: ClientValidation,
  protocol: "TLS" | "HTTPS" = "TLS",
): Listener {
  return listener(name, port, {
    protocol,
    hostnames,
    tls: {
      mode: "Terminate",
      certificates: ["srv"],
      minVersion: "1.2",
      alpn: [],
      ...(v ? { clientValidation: v } : {}),
    },
  });
}

interface Outcome {
  /** The client saw its handshake complete (TLS 1.3: before the server checked its certificate). */
  secure: boolean;
  /** Everything the server sent before closing. */
  text: string;
  error: string | null;
}

/**
 * A TLS client trusting the server CA: optional client certificate, SNI
 * `servername` ("" = none sent), sends `send`, half-closes, reads to EOF.
 */
function connect(
  port: number,
  servername: string,
  caPem: string,
  opts: { cert?: SecretEntry; maxVersion?: tls.SecureVersion; send?: string } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port,
      ca: [caPem],
      ...(servername ? { servername } : { checkServerIdentity: () => undefined }),
      ...(opts.cert ? { cert: opts.cert.certPem, key: opts.cert.keyPem } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
    });
    const out: Outcome = { secure: false, text: "", error: null };
    s.on("secureConnect", () => {
      out.secure = true;
      s.end(opts.send ?? "ping");
    });
    s.on("data", (d: Uint8Array) => (out.text += new TextDecoder().decode(d)));
    s.on("error", (e: Error) => {
      out.error ??= e.message;
      s.destroy();
    });
    s.on("close", () => resolve(out));
  });
}

/** The usual fixture: test PKIs, a TCP backend answering "plain:…", a port and a data plane, closed after `fn`. */
async function withFixture(
  fn: (
    f: {
      p: Awaited<ReturnType<typeof pkis>>;
      be: ReturnType<typeof tcpBackend>;
      port: number;
      dp: DataPlane;
    },
  ) => Promise<void>,
): Promise<void> {
  const p = await pkis();
  const be = tcpBackend(reply("plain:"));
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await fn({ p, be, port, dp });
  } finally {
    await dp.close();
    be.close();
  }
}

async function refusedCount(listenerLabel: string): Promise<number> {
  const m = await registry.getSingleMetricAsString("novaedge_l4_refused_total");
  const re = new RegExp(`listener="${listenerLabel}",cause="client_certificate"\\} (\\d+)`);
  return Number(re.exec(m)?.[1] ?? 0);
}

Deno.test("TLS terminate + AllowValidOnly: a valid client certificate reaches the backend; none, or another CA's, is refused in the handshake", () =>
  withFixture(async ({ p, be, port, dp }) => {
    const validOnly: ClientValidation = { caPem: p.clients.caPem, mode: "AllowValidOnly" };
    await dp.apply(snapshot({
      listeners: [terminating("mtls", port, ["tls.example.test"], validOnly)],
      routes: [l4Route("r", "TLS", ["c"], { hostnames: ["tls.example.test"] })],
      clusters: [cluster("c", [be.port])],
      secrets: [p.srv],
    }));
    const ca = p.server.caPem;
    const ok = await connect(port, "tls.example.test", ca, { cert: p.good });
    assert.deepEqual(ok, { secure: true, text: "plain:ping", error: null });
    assert.equal(be.accepted, 1);
    const before = await refusedCount("mtls");
    for (const maxVersion of ["TLSv1.3", "TLSv1.2"] as const) {
      for (const cert of [undefined, p.bad]) {
        const what = `${maxVersion}, ${cert ? "foreign certificate" : "no certificate"}`;
        const r = await connect(port, "tls.example.test", ca, { cert, maxVersion });
        assert.equal(r.text, "", `${what}: nothing may come back`);
        // TLS 1.2: the server's refusal ends the handshake before the client's Finished.
        if (maxVersion === "TLSv1.2") assert.equal(r.secure, false, `${what}: handshake completed`);
      }
    }
    assert.equal(be.accepted, 1, "a refused client must never reach the backend");
    assert.equal(await refusedCount("mtls") - before, 4);
    const lines = accessLines().filter((l) => l.listener === "mtls");
    const refused = lines.filter((l) => String(l.reason).startsWith("client certificate refused"));
    assert.equal(refused.length, 4, JSON.stringify(lines));
    for (const l of refused) {
      assert.equal(l.proto, "tls-terminate");
      assert.equal(l.route, "r");
      assert.equal(l.sni, "tls.example.test");
      assert.equal(l.bytesIn, 0);
    }
    // The foreign certificate is named by its verify error.
    assert.ok(
      refused.some((l) => /UNABLE_TO_VERIFY/.test(String(l.reason))),
      JSON.stringify(lines),
    );
    // A client that distrusts the server's certificate is a handshake failure, not a refusal.
    const seen = accessLines().filter((l) => l.listener === "mtls").length;
    const distrust = await connect(port, "tls.example.test", p.foreign.caPem, { cert: p.good });
    assert.equal(distrust.secure, false);
    // The proxy's side ends after the client's: wait for its line.
    const last = await waitFor("the access line", () => {
      const ls = accessLines().filter((l) => l.listener === "mtls");
      return Promise.resolve(ls.length > seen ? ls.at(-1) : undefined);
    }, 5000);
    assert.match(String(last?.reason), /^TLS handshake failed/);
    assert.equal(await refusedCount("mtls") - before, 4);
    const served = lines.find((l) => l.bytesIn === 4);
    assert.equal(served?.clientCert, "valid");
    assert.equal(served?.reason, null);
  }));

Deno.test("TLS terminate + AllowInsecureFallback: a certificate is asked for, every client gets through", () =>
  withFixture(async ({ p, be, port, dp }) => {
    await dp.apply(snapshot({
      listeners: [
        terminating("fallback", port, ["tls.example.test"], {
          caPem: p.clients.caPem,
          mode: "AllowInsecureFallback",
        }),
      ],
      routes: [l4Route("r", "TLS", ["c"], { hostnames: ["tls.example.test"] })],
      clusters: [cluster("c", [be.port])],
      secrets: [p.srv],
    }));
    for (const cert of [p.good, p.bad, undefined]) {
      const r = await connect(port, "tls.example.test", p.server.caPem, { cert, send: "x" });
      assert.deepEqual(r, { secure: true, text: "plain:x", error: null }, cert?.name ?? "none");
    }
    assert.equal(be.accepted, 3);
    const lines = accessLines().filter((l) => l.listener === "fallback" && l.bytesIn === 1);
    assert.equal(lines.length, 3);
    // The log says which clients were not verified, and why.
    assert.deepEqual(lines.map((l) => String(l.clientCert)).sort(), [
      "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
      "no client certificate",
      "valid",
    ]);
  }));

Deno.test("TLS terminate: turning AllowValidOnly on (and off) applies to new connections on the same socket; an unusable CA refuses the snapshot", () =>
  withFixture(async ({ p, be, port, dp }) => {
    const mk = (v?: ClientValidation) =>
      snapshot({
        listeners: [terminating("live", port, ["tls.example.test"], v)],
        routes: [l4Route("r", "TLS", ["c"], { hostnames: ["tls.example.test"] })],
        clusters: [cluster("c", [be.port])],
        secrets: [p.srv],
      });
    const ca = p.server.caPem;
    const host = "tls.example.test";
    await dp.apply(mk());
    assert.equal((await connect(port, host, ca)).text, "plain:ping", "no validation: anyone");
    await dp.apply(mk({ caPem: p.clients.caPem, mode: "AllowValidOnly" }));
    const none = await connect(port, host, ca);
    assert.equal(none.text, "", "AllowValidOnly after the swap: no certificate is refused");
    assert.equal((await connect(port, host, ca, { cert: p.bad })).text, "");
    assert.equal((await connect(port, host, ca, { cert: p.good })).text, "plain:ping");
    assert.equal(be.accepted, 2);
    // A CA bundle that holds no certificate: the snapshot is refused, the old one keeps serving.
    await assert.rejects(
      dp.apply(mk({ caPem: "junk", mode: "AllowValidOnly" })),
      /listener live: client CA of listener tls\.example\.test holds no PEM certificate/,
    );
    assert.equal((await connect(port, host, ca)).text, "", "still validating");
    assert.equal((await connect(port, host, ca, { cert: p.good })).text, "plain:ping");
    // Off again.
    await dp.apply(mk());
    assert.equal((await connect(port, host, ca)).text, "plain:ping");
    assert.equal(be.accepted, 4);
  }));

Deno.test("TLS terminate mTLS per listener on a shared port: by SNI, next to HTTPS listeners with and without validation", async () => {
  const p = await pkis();
  const plain = tcpBackend(reply("plain:"));
  const open = tcpBackend(reply("open:"));
  const web = echoBackend("web");
  const port = freePort();
  const dp = new DataPlane({});
  const validOnly: ClientValidation = { caPem: p.clients.caPem, mode: "AllowValidOnly" };
  const mk = (tlsV?: ClientValidation, httpsV?: ClientValidation) =>
    snapshot({
      listeners: [
        terminating("mtls", port, ["tls.example.test"], tlsV),
        terminating("open", port, ["open.example.test"]),
        terminating("web", port, ["www.example.test"], httpsV, "HTTPS"),
      ],
      routes: [
        l4Route("r-mtls", "TLS", ["c-plain"], { listeners: ["mtls"] }),
        l4Route("r-open", "TLS", ["c-open"], { listeners: ["open"] }),
        route("r-web", ["c-web"], { listeners: ["web"], hostnames: ["www.example.test"] }),
      ],
      clusters: [
        cluster("c-plain", [plain.port]),
        cluster("c-open", [open.port]),
        cluster("c-web", [web.port]),
      ],
      secrets: [p.srv],
    });
  const ca = p.server.caPem;
  const https = (cert?: string) =>
    curl([
      "--cacert",
      p.server.caFile,
      "--resolve",
      `www.example.test:${port}:127.0.0.1`,
      ...(cert ? ["--cert", `${cert}.crt`, "--key", `${cert}.key`] : []),
      `https://www.example.test:${port}/x`,
    ]);
  const goodFile = `${p.clients.dir}/good-client`;
  await Deno.writeTextFile(`${goodFile}.crt`, p.good.certPem);
  await Deno.writeTextFile(`${goodFile}.key`, p.good.keyPem);
  try {
    // The TLS listener validates, its neighbours (TLS and HTTPS) do not.
    await dp.apply(mk(validOnly));
    assert.equal(dp.listeners().find((l) => l.port === port)?.kind, "tls");
    assert.equal((await connect(port, "tls.example.test", ca)).text, "");
    assert.equal(
      (await connect(port, "tls.example.test", ca, { cert: p.good })).text,
      "plain:ping",
    );
    assert.equal((await connect(port, "open.example.test", ca)).text, "open:ping");
    let r = await https();
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).name, "web");
    // The other way round: the HTTPS listener validates, the TLS ones do not.
    await dp.apply(mk(undefined, validOnly));
    assert.equal((await connect(port, "tls.example.test", ca)).text, "plain:ping");
    r = await https();
    assert.notEqual(r.code, 0, "HTTPS without a client certificate must fail");
    r = await https(goodFile);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).name, "web");
  } finally {
    await dp.close();
    plain.close();
    open.close();
    await web.close();
  }
});

Deno.test("TLS terminate + AllowValidOnly on a hostless listener: a client that sends no server name is validated too", () =>
  withFixture(async ({ p, be, port, dp }) => {
    await dp.apply(snapshot({
      listeners: [
        terminating("any", port, [], { caPem: p.clients.caPem, mode: "AllowValidOnly" }),
      ],
      routes: [l4Route("r", "TLS", ["c"])],
      clusters: [cluster("c", [be.port])],
      secrets: [p.srv],
    }));
    const ca = p.server.caPem;
    assert.deepEqual(await connect(port, "", ca, { cert: p.good }), {
      secure: true,
      text: "plain:ping",
      error: null,
    });
    assert.equal((await connect(port, "", ca)).text, "");
    assert.equal((await connect(port, "", ca, { cert: p.bad })).text, "");
    assert.equal(be.accepted, 1);
  }));

Deno.test("TLS terminate + AllowValidOnly keeps the listener's minimum TLS version", () =>
  withFixture(async ({ p, be, port, dp }) => {
    await dp.apply(snapshot({
      listeners: [
        listener("v13", port, {
          protocol: "TLS",
          hostnames: ["tls.example.test"],
          tls: {
            mode: "Terminate",
            certificates: ["srv"],
            minVersion: "1.3",
            alpn: [],
            clientValidation: { caPem: p.clients.caPem, mode: "AllowValidOnly" },
          },
        }),
      ],
      routes: [l4Route("r", "TLS", ["c"])],
      clusters: [cluster("c", [be.port])],
      secrets: [p.srv],
    }));
    const ca = p.server.caPem;
    const old = await connect(port, "tls.example.test", ca, {
      cert: p.good,
      maxVersion: "TLSv1.2",
    });
    assert.equal(old.secure, false, "TLS 1.2 must be refused");
    assert.equal(old.text, "");
    const ok = await connect(port, "tls.example.test", ca, { cert: p.good });
    assert.equal(ok.text, "plain:ping");
    assert.equal(be.accepted, 1);
  }));

Deno.test({
  name: "TLS terminate mTLS: remove the test PKI",
  fn: async () => {
    if (pkisP === null) return;
    const p = await pkisP;
    for (const k of [p.server, p.clients, p.foreign]) await Deno.remove(k.dir, { recursive: true });
  },
});
