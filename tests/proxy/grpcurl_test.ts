/**
 * gRPC through NovaEdge with a real Go gRPC client (grpcurl, built from the Go
 * module proxy by scripts/install_gotools.sh) against a grpc-js backend.
 */
import assert from "node:assert/strict";
import { DataPlane } from "../../src/proxy/mod.ts";
import { cluster, freePort, listener, prefix, route, snapshot } from "./_helpers.ts";

const root = new URL("../../", import.meta.url).pathname;
const grpcurl = `${Deno.env.get("HOME")}/.cache/novaedge/gotools/bin/grpcurl`;

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

async function call(port: number, authority: string, body: string) {
  const out = await new Deno.Command(grpcurl, {
    args: [
      "-plaintext",
      "-authority",
      authority,
      "-import-path",
      `${root}bench`,
      "-proto",
      "echo.proto",
      "-d",
      body,
      `127.0.0.1:${port}`,
      "bench.Echo/Say",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("grpcurl (Go gRPC client) calls a grpc-js backend through NovaEdge over h2c", async () => {
  await Deno.stat(grpcurl).catch(() => {
    throw new Error(`${grpcurl} is missing: run scripts/install_gotools.sh`);
  });
  const backendPort = freePort();
  const backend = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}bench/grpc_backend.ts`, String(backendPort)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const dp = new DataPlane({ accessLog: false });
  try {
    await waitPort(backendPort);
    const port = freePort();
    await dp.apply(snapshot({
      listeners: [listener("default/gw/http", port)],
      routes: [
        route("default/grpc/0", ["default/grpc"], {
          hostnames: ["grpc.test"],
          matches: [prefix("/bench.Echo/")],
        }),
      ],
      clusters: [cluster("default/grpc", [backendPort], { protocol: "GRPC" })],
    }));
    const ok = await call(port, "grpc.test", '{"msg":"hello through novaedge"}');
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { msg: "hello through novaedge" });

    // No route for this authority: NovaEdge answers with a gRPC status, not a broken stream.
    const missing = await call(port, "nope.test", '{"msg":"x"}');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Code: Unimplemented/);
    assert.match(missing.stderr, /no route/);
  } finally {
    await dp.close();
    backend.kill("SIGTERM");
    await backend.status;
  }
});
