import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { DataPlane } from "../../src/proxy/mod.ts";
import { cluster, freePort, listener, route, snapshot } from "./_helpers.ts";
import { makePki } from "./_tls.ts";
import { nodeHttp2For } from "../../src/proxy/http2/fields.ts";

// A service described without .proto files: messages are raw bytes (UTF-8 text).
const ser = (b: Buffer) => b;
const de = (b: Buffer) => b;
const def = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: ser,
  requestDeserialize: de,
  responseSerialize: ser,
  responseDeserialize: de,
});
const service: grpc.ServiceDefinition = {
  Unary: def("/test.Echo/Unary", false, false),
  Collect: def("/test.Echo/Collect", true, false),
  Spread: def("/test.Echo/Spread", false, true),
  Chat: def("/test.Echo/Chat", true, true),
  Fail: def("/test.Echo/Fail", false, false),
  Slow: def("/test.Echo/Slow", false, false),
};

type AnyCall = grpc.ServerUnaryCall<Buffer, Buffer>;

function startServer(
  creds: grpc.ServerCredentials,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(service, {
    Unary: (call: AnyCall, cb: grpc.sendUnaryData<Buffer>) => {
      const md = new grpc.Metadata();
      md.set("x-trailer", "t1");
      cb(
        null,
        Buffer.from(`echo:${call.request.toString()}:${call.metadata.get("x-in")[0] ?? ""}`),
        md,
      );
    },
    Collect: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const parts: string[] = [];
      call.on("data", (d: Buffer) => parts.push(d.toString()));
      call.on("end", () => cb(null, Buffer.from(parts.join("+"))));
    },
    Spread: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      for (let i = 0; i < n; i++) call.write(Buffer.from(`item${i}`));
      call.end();
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (d: Buffer) => call.write(Buffer.from(`re:${d.toString()}`)));
      call.on("end", () => call.end());
    },
    Fail: (_call: AnyCall, cb: grpc.sendUnaryData<Buffer>) => {
      cb({ code: grpc.status.NOT_FOUND, details: "no such thing" });
    },
    Slow: (_call: AnyCall, cb: grpc.sendUnaryData<Buffer>) => {
      setTimeout(() => cb(null, Buffer.from("late")), 2000);
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync(
      "127.0.0.1:0",
      creds,
      (err, port) => (err ? reject(err) : resolve({ server, port })),
    );
  });
}

const Client = grpc.makeGenericClientConstructor(service, "Echo");
// deno-lint-ignore no-explicit-any
type Dyn = Record<string, (...args: any[]) => any>;

function unary(
  c: grpc.Client,
  method: string,
  body: string,
  md = new grpc.Metadata(),
  opts: grpc.CallOptions = {},
) {
  return new Promise<{ value: string; trailers: grpc.Metadata }>((resolve, reject) => {
    let trailers = new grpc.Metadata();
    const call = (c as unknown as Dyn)[method](
      Buffer.from(body),
      md,
      opts,
      (err: grpc.ServiceError | null, v?: Buffer) => {
        if (err) reject(err);
        else setTimeout(() => resolve({ value: v!.toString(), trailers }), 0);
      },
    );
    call.on("status", (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

async function exercise(target: string): Promise<void> {
  const c = new Client(target, grpc.credentials.createInsecure());
  try {
    const md = new grpc.Metadata();
    md.set("x-in", "meta");
    const u = await unary(c, "Unary", "hi", md);
    assert.equal(u.value, "echo:hi:meta");
    assert.equal(u.trailers.get("x-trailer")[0], "t1");
    // client streaming
    const collected = await new Promise<string>((resolve, reject) => {
      const call = (c as unknown as Dyn).Collect((err: grpc.ServiceError | null, v?: Buffer) =>
        err ? reject(err) : resolve(v!.toString())
      );
      for (const x of ["a", "b", "c"]) call.write(Buffer.from(x));
      call.end();
    });
    assert.equal(collected, "a+b+c");
    // server streaming
    const items = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      const call = (c as unknown as Dyn).Spread(Buffer.from("5"));
      call.on("data", (d: Buffer) => out.push(d.toString()));
      call.on("end", () => resolve(out));
      call.on("error", reject);
    });
    assert.deepEqual(items, ["item0", "item1", "item2", "item3", "item4"]);
    // bidirectional
    const chat = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      const call = (c as unknown as Dyn).Chat();
      call.on("data", (d: Buffer) => {
        out.push(d.toString());
        if (out.length < 3) call.write(Buffer.from(`m${out.length}`));
        else call.end();
      });
      call.on("end", () => resolve(out));
      call.on("error", reject);
      call.write(Buffer.from("m0"));
    });
    assert.deepEqual(chat, ["re:m0", "re:m1", "re:m2"]);
    // error status and message pass through
    await assert.rejects(unary(c, "Fail", "x"), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.NOT_FOUND);
      assert.equal(e.details, "no such thing");
      return true;
    });
    // grpc-timeout deadline
    await assert.rejects(
      unary(c, "Slow", "x", new grpc.Metadata(), { deadline: Date.now() + 300 }),
      (e: grpc.ServiceError) => {
        assert.equal(e.code, grpc.status.DEADLINE_EXCEEDED);
        return true;
      },
    );
  } finally {
    c.close();
  }
}

Deno.test("grpc: unary, client/server/bidi streaming, trailers, status, deadline via h2c upstream", async () => {
  const { server, port: up } = await startServer(grpc.ServerCredentials.createInsecure());
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("grpc", port)],
      routes: [route("r", ["g"])],
      clusters: [cluster("g", [up], { protocol: "GRPC" })],
    }));
    await exercise(`127.0.0.1:${port}`);
  } finally {
    await dp.close();
    server.forceShutdown();
  }
});

Deno.test("grpc: the node:http2 fallback (NOVAEDGE_H2_ENGINE=node) carries the same calls", async () => {
  // Read when the engine and the upstream client are created: set it first.
  Deno.env.set("NOVAEDGE_H2_ENGINE", "node");
  assert.ok(nodeHttp2For("server") && nodeHttp2For("client"));
  const { server, port: up } = await startServer(grpc.ServerCredentials.createInsecure());
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("grpc", port)],
      routes: [route("r", ["g"])],
      clusters: [cluster("g", [up], { protocol: "GRPC" })],
    }));
    await exercise(`127.0.0.1:${port}`);
  } finally {
    Deno.env.delete("NOVAEDGE_H2_ENGINE");
    await dp.close();
    server.forceShutdown();
  }
});

/**
 * A minimal gRPC unary server on node:http2 over TLS (grpc-js's own TLS
 * server does not handshake under Deno 2.9): echoes the message and sends
 * trailers with grpc-status 0.
 */
async function tlsGrpcServer(cert: string, key: string): Promise<{ port: number; close(): void }> {
  const http2 = await import("node:http2");
  const srv = http2.createSecureServer({ cert, key });
  srv.on(
    "stream",
    (
      stream: import("node:http2").ServerHttp2Stream,
      headers: import("node:http2").IncomingHttpHeaders,
    ) => {
      const chunks: Buffer[] = [];
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("end", () => {
        const all = Buffer.concat(chunks);
        const msg = all.subarray(5).toString();
        const out = Buffer.from(`tls:${msg}:${headers[":authority"]}`);
        const frame = Buffer.alloc(5 + out.length);
        frame.writeUInt32BE(out.length, 1);
        out.copy(frame, 5);
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, {
          waitForTrailers: true,
        });
        stream.on(
          "wantTrailers",
          () => stream.sendTrailers({ "grpc-status": "0", "x-trailer": "tls-t" }),
        );
        stream.end(frame);
      });
    },
  );
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  return { port: (srv.address() as { port: number }).port, close: () => srv.close() };
}

Deno.test("grpc: TLS upstream with CA verification and SNI; wrong CA gives UNAVAILABLE", async () => {
  const pki = await makePki();
  const other = await makePki();
  const leaf = await pki.leaf("up", ["grpc.internal"]);
  const up = await tlsGrpcServer(leaf.certPem, leaf.keyPem);
  const port = freePort();
  const dp = new DataPlane({});
  const mk = (caPem: string) =>
    snapshot({
      listeners: [listener("grpc", port)],
      routes: [route("r", ["g"])],
      clusters: [cluster("g", [up.port], {
        protocol: "GRPC",
        hostRewrite: "grpc.internal",
        tls: { sni: "grpc.internal", caPem, insecureSkipVerify: false, clientCert: "" },
      })],
    });
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await dp.apply(mk(pki.caPem));
    const u = await unary(c, "Unary", "hi");
    assert.equal(u.value, "tls:hi:grpc.internal");
    assert.equal(u.trailers.get("x-trailer")[0], "tls-t");
    await dp.apply(mk(other.caPem));
    await assert.rejects(unary(c, "Unary", "x"), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNAVAILABLE);
      assert.match(e.details, /connect/);
      return true;
    });
  } finally {
    c.close();
    await dp.close();
    up.close();
    await Deno.remove(pki.dir, { recursive: true });
    await Deno.remove(other.dir, { recursive: true });
  }
});

Deno.test("grpc: a path with no route answers UNIMPLEMENTED with a reason", async () => {
  const port = freePort();
  const dp = new DataPlane({});
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await dp.apply(snapshot({
      listeners: [listener("grpc", port)],
      routes: [
        route("r", ["g"], {
          matches: [{
            path: { type: "PathPrefix", value: "/other" },
            headers: [],
            queryParams: [],
            method: "",
          }],
        }),
      ],
      clusters: [cluster("g", [1])],
    }));
    await assert.rejects(unary(c, "Unary", "x"), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.UNIMPLEMENTED);
      assert.match(e.details, /no route for host/);
      return true;
    });
  } finally {
    c.close();
    await dp.close();
  }
});

Deno.test("grpc: TLS listener (ALPN h2) in front of an h2c gRPC upstream", async () => {
  const pki = await makePki();
  const leaf = await pki.leaf("edge", ["grpc.example.com"]);
  const { server, port: up } = await startServer(grpc.ServerCredentials.createInsecure());
  const port = freePort();
  const dp = new DataPlane({});
  try {
    await dp.apply(snapshot({
      listeners: [listener("grpcs", port, {
        protocol: "HTTPS",
        tls: { mode: "Terminate", certificates: ["edge"], minVersion: "1.2", alpn: [] },
      })],
      routes: [route("r", ["g"])],
      clusters: [cluster("g", [up], { protocol: "GRPC" })],
      secrets: [leaf],
    }));
    const creds = grpc.credentials.createSsl(Buffer.from(pki.caPem));
    const c = new Client(`127.0.0.1:${port}`, creds, {
      "grpc.ssl_target_name_override": "grpc.example.com",
    });
    try {
      const u = await unary(c, "Unary", "secure");
      assert.equal(u.value, "echo:secure:");
      assert.equal(u.trailers.get("x-trailer")[0], "t1");
      const items = await new Promise<string[]>((resolve, reject) => {
        const out: string[] = [];
        const call = (c as unknown as Dyn).Spread(Buffer.from("3"));
        call.on("data", (d: Buffer) => out.push(d.toString()));
        call.on("end", () => resolve(out));
        call.on("error", reject);
      });
      assert.deepEqual(items, ["item0", "item1", "item2"]);
    } finally {
      c.close();
    }
  } finally {
    await dp.close();
    server.forceShutdown();
    await Deno.remove(pki.dir, { recursive: true });
  }
});
