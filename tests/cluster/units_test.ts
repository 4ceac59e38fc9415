/** Unit tests of the node simulator's pure parts (no cluster needed). */
import assert from "node:assert/strict";
import { COREDNS_BIN, ECHO_BIN } from "./config.ts";
import { resolveContainer } from "./images.ts";
import { expandAll, fieldValue } from "./nodesim/env.ts";
import { kubeletHandler } from "./nodesim/kubelet_server.ts";
import { LogSink, parseLine } from "./nodesim/logs.ts";
import { ContainerRun } from "./nodesim/pod_runner.ts";
import type { Pod } from "./nodesim/types.ts";

const PATH = "/usr/local/bin:/usr/bin:/bin";

Deno.test("images: echo-basic and CoreDNS map to the built binaries, Docker command/args semantics", () => {
  // `deno task cluster build` runs before the tests, so the binaries exist.
  const r = resolveContainer(
    "registry.k8s.io/gateway-api/echo-basic:v1.5.1",
    undefined,
    undefined,
    PATH,
  );
  assert.deepEqual(r, { exe: ECHO_BIN, argv: [] });
  const withArgs = resolveContainer("echo-basic:v1.6.1", undefined, ["-x"], PATH);
  assert.deepEqual(withArgs, { exe: ECHO_BIN, argv: ["-x"] });
  const dns = resolveContainer("registry.k8s.io/coredns/coredns:v1.12.2", undefined, [
    "-conf",
    "/root/Corefile",
  ], PATH);
  assert.deepEqual(dns, { exe: COREDNS_BIN, argv: ["-conf", "/root/Corefile"] });
});

Deno.test("images: shell images run host commands; args alone replace the default `sh`", () => {
  const onlyArgs = resolveContainer("busybox:1.36", undefined, ["sh", "-c", "echo hi"], PATH);
  assert.ok(!("error" in onlyArgs));
  assert.match(onlyArgs.exe, /\/sh$/);
  assert.deepEqual(onlyArgs.argv, ["-c", "echo hi"]);
  const dflt = resolveContainer("docker.io/library/alpine:3", undefined, undefined, PATH);
  assert.ok(!("error" in dflt));
  assert.match(dflt.exe, /\/sh$/);
  assert.deepEqual(dflt.argv, []);
  const cmd = resolveContainer("busybox", ["sleep"], ["5"], PATH);
  assert.ok(!("error" in cmd));
  assert.deepEqual(cmd.argv, ["5"]);
  const missing = resolveContainer("busybox", ["definitely-not-a-command-xyz"], undefined, PATH);
  assert.ok("error" in missing);
  assert.match(missing.error, /does not exist in image "busybox"/);
});

Deno.test("images: an unknown image or a command the image lacks is a clear error", () => {
  const r = resolveContainer("quay.io/acme/widget:2", undefined, undefined, PATH);
  assert.ok("error" in r);
  assert.match(
    r.error,
    /image "quay.io\/acme\/widget:2" is not in the node simulator's image table/,
  );
  const noCmd = resolveContainer("echo-basic:1", ["/bin/bash"], undefined, PATH);
  assert.ok("error" in noCmd);
  assert.match(noCmd.error, /command "\/bin\/bash" does not exist/);
});

const pod: Pod = {
  metadata: {
    name: "web-1",
    namespace: "shop",
    uid: "u-1",
    labels: { app: "web" },
    annotations: { "a/b": "c" },
  },
  spec: { nodeName: "novaedge-node-1", containers: [{ name: "c", image: "busybox" }] },
  status: { podIP: "10.244.2.7", podIPs: [{ ip: "10.244.2.7" }], hostIP: "10.244.0.2" },
};

Deno.test("env: downward API field paths", () => {
  assert.equal(fieldValue(pod, "metadata.name"), "web-1");
  assert.equal(fieldValue(pod, "metadata.namespace"), "shop");
  assert.equal(fieldValue(pod, "metadata.uid"), "u-1");
  assert.equal(fieldValue(pod, "metadata.labels['app']"), "web");
  assert.equal(fieldValue(pod, "metadata.annotations['a/b']"), "c");
  assert.equal(fieldValue(pod, "spec.nodeName"), "novaedge-node-1");
  assert.equal(fieldValue(pod, "spec.serviceAccountName"), "default");
  assert.equal(fieldValue(pod, "status.podIP"), "10.244.2.7");
  assert.equal(fieldValue(pod, "status.hostIP"), "10.244.0.2");
  assert.throws(() => fieldValue(pod, "spec.nope"), /unsupported fieldRef/);
});

Deno.test("env: $(VAR) expansion in command/args, $$ escapes, unknown names stay", () => {
  const env = { A: "x", B: "y" };
  assert.deepEqual(expandAll(["$(A)-$(B)", "$$(A)", "$(C)", "plain"], env), [
    "x-y",
    "$(A)",
    "$(C)",
    "plain",
  ]);
  assert.equal(expandAll(undefined, env), undefined);
});

Deno.test("logs: CRI lines parse back into timestamp, stream and text", () => {
  assert.deepEqual(parseLine("2026-01-01T00:00:00.000000001Z stdout F hello world"), {
    ts: "2026-01-01T00:00:00.000000001Z",
    stream: "stdout",
    text: "hello world",
  });
  assert.equal(parseLine("garbage"), undefined);
});

Deno.test("kubelet API: containerLogs honours tailLines, limitBytes, timestamps and previous", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = new ContainerRun({ name: "main", image: "busybox" }, dir, false);
    // Instance 0 (previous) and instance 1 (current), written through the real sink.
    for (const [n, lines] of [[0, ["old-1", "old-2"]], [1, ["one", "two", "three"]]] as const) {
      const sink = new LogSink(c.logPath(n));
      const body = new Blob([lines.join("\n") + "\n"]).stream();
      await sink.pump(body, "stdout");
      await sink.close();
    }
    c.restartCount = 1;
    c.state = {
      terminated: { exitCode: 0, reason: "Completed", finishedAt: "2026-01-01T00:00:00Z" },
    };
    const handler = kubeletHandler((ns, p, name) =>
      ns === "shop" && p === "web-1" && name === "main"
        ? { run: c }
        : { error: "no such container", status: 404 }
    );
    const get = async (q: string) => {
      const res = handler(
        new Request(`https://10.244.0.1:10250/containerLogs/shop/web-1/main${q}`),
      );
      return { status: res.status, text: await res.text() };
    };
    assert.deepEqual(await get(""), { status: 200, text: "one\ntwo\nthree\n" });
    assert.deepEqual(await get("?tailLines=2"), { status: 200, text: "two\nthree\n" });
    assert.deepEqual(await get("?limitBytes=6"), { status: 200, text: "one\ntw" });
    assert.deepEqual(await get("?previous=true"), { status: 200, text: "old-1\nold-2\n" });
    assert.match((await get("?timestamps=true")).text, /^\d{4}-\d\d-\d\dT[\d:.]+Z one\n/);
    // sinceTime, as the conformance suite's mirror tests send it (second resolution).
    assert.deepEqual(await get("?sinceTime=2000-01-01T00:00:00Z"), {
      status: 200,
      text: "one\ntwo\nthree\n",
    });
    assert.deepEqual(await get("?sinceTime=2999-01-01T00:00:00Z"), { status: 200, text: "" });
    // follow on a finished instance returns what there is and ends.
    assert.deepEqual(await get("?follow=true"), { status: 200, text: "one\ntwo\nthree\n" });
    const missing = handler(new Request("https://10.244.0.1:10250/containerLogs/shop/web-2/main"));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
