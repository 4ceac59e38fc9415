/**
 * `novaedge ctl` end to end against a loopback API server: what it asks for
 * (namespace from -n, the context, or every namespace), what it prints for
 * each output format, and the one-line errors (exit 1) and usage errors.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import { expandShortFlags, main, runCtl } from "../../src/ctl/mod.ts";
import { UsageError } from "../../src/cli/flags.ts";
import { fakeApi, list } from "./_fake_api.ts";
import * as fx from "./_fixtures.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), now: () => fx.NOW },
  };
}

const GW = "/apis/gateway.networking.k8s.io/v1";
const NE = "/apis/novaedge.io/v1alpha1";

Deno.test("expandShortFlags turns kubectl's -n/-A/-o forms into long flags", () => {
  assert.deepEqual(
    expandShortFlags(["-n", "shop", "-oyaml", "-A", "-n=x", "gateways", "--", "-n"]),
    [
      "--namespace",
      "shop",
      "--output=yaml",
      "--all-namespaces",
      "--namespace=x",
      "gateways",
      "--",
      "-n",
    ],
  );
});

Deno.test("ctl gateway-api gateways: the context's namespace by default, -n, -A; tables", async () => {
  const api = await fakeApi({
    [`${GW}/namespaces/shop/gateways`]: list([fx.gateway]),
    [`${GW}/namespaces/apps/gateways`]: list([]),
    [`${GW}/gateways`]: list([fx.gateway, fx.otherGateway]),
  });
  try {
    const k = ["--kubeconfig", api.kubeconfig];
    let c = capture();
    assert.equal(await runCtl(["gateway-api", "gateways", ...k], c.io), 0);
    assert.deepEqual(c.out[0].split("\n"), [
      "NAME   CLASS      ADDRESSES                    PROGRAMMED   AGE",
      "web    novaedge   192.0.2.10,lb.example.test   False        90m",
    ]);
    c = capture();
    assert.equal(await runCtl(["gateway-api", "gateways", "-n", "apps", ...k], c.io), 0);
    assert.deepEqual(c.out, []);
    assert.deepEqual(c.err, ["No resources found in apps namespace."]);
    c = capture();
    assert.equal(await runCtl(["gateway-api", "gateways", "-A", ...k], c.io), 0);
    assert.match(c.out[0], /^NAMESPACE\s+NAME\s+CLASS/);
    assert.equal(c.out[0].split("\n").length, 3);
    assert.deepEqual(api.paths.map((p) => p.replace(/\?.*/, "")), [
      `${GW}/namespaces/shop/gateways`,
      `${GW}/namespaces/apps/gateways`,
      `${GW}/gateways`,
    ]);
  } finally {
    await api.close();
  }
});

Deno.test("ctl -o json / yaml prints a List of the objects as the API server returned them", async () => {
  const api = await fakeApi({
    [`${GW}/gatewayclasses`]: list([fx.gatewayClass]),
    [`${GW}/namespaces/shop/httproutes`]: list([fx.storeRoute]),
  });
  try {
    const k = ["--kubeconfig", api.kubeconfig];
    let c = capture();
    await runCtl(["gateway-api", "gatewayclasses", "-o", "json", ...k], c.io);
    const doc = JSON.parse(c.out[0]);
    assert.equal(doc.kind, "List");
    assert.deepEqual(doc.items, [fx.gatewayClass]);
    c = capture();
    await runCtl(["gateway-api", "httproutes", "--output=yaml", ...k], c.io);
    assert.deepEqual(parseYaml(c.out[0]).items, [fx.storeRoute]);
  } finally {
    await api.close();
  }
});

Deno.test("ctl gateway-api describe-gateway reads the Gateway, routes of every kind and generated objects", async () => {
  const api = await fakeApi({
    [`${GW}/namespaces/shop/gateways/web`]: fx.gateway,
    [`${GW}/httproutes`]: list([fx.storeRoute, fx.crossRoute]),
    [`${GW}/grpcroutes`]: list([]),
    // TLS/TCP/UDP routes are not served by this "cluster" (404): skipped.
    [`${NE}/proxygateways`]: list([fx.generatedGateway]),
    [`${NE}/proxyroutes`]: list([fx.generatedRoute]),
  });
  try {
    const c = capture();
    assert.equal(
      await runCtl(
        ["gateway-api", "describe-gateway", "web", "--kubeconfig", api.kubeconfig],
        c.io,
      ),
      0,
    );
    assert.match(c.out[0], /^Name:\s+web$/m);
    assert.match(c.out[0], /^ {2}HTTPRoute docs\/docs/m);
    assert.match(c.out[0], /^ {2}ProxyGateway\s+shop\s+gw-web/m);
    const generatedQueries = api.paths.filter((p) => p.startsWith(NE));
    assert.equal(generatedQueries.length, 2);
    for (const q of generatedQueries) {
      assert.match(decodeURIComponent(q), /labelSelector=novaedge\.io\/gateway-api-owner/);
    }
    const j = capture();
    await runCtl(
      ["gateway-api", "describe-gateway", "web", "-o", "json", "--kubeconfig", api.kubeconfig],
      j.io,
    );
    const d = JSON.parse(j.out[0]);
    assert.equal(d.routes.length, 2);
    assert.equal(d.problems.length, 4);
  } finally {
    await api.close();
  }
});

Deno.test("ctl errors: one line saying what and what to do, exit 1", async () => {
  const api = await fakeApi({
    [`${GW}/namespaces/shop/httproutes`]: {
      status: 403,
      body: { kind: "Status", reason: "Forbidden", message: "user cannot list httproutes" },
    },
    [`${GW}/gatewayclasses`]: { status: 404, body: "404 page not found" },
  });
  const run = async (args: string[]) => {
    const c = capture();
    const code = await main([...args, "--kubeconfig", api.kubeconfig], c.io);
    assert.equal(c.err.length, 1, c.err.join("\n"));
    assert.equal(c.err[0].includes("\n"), false);
    return { code, line: c.err[0] };
  };
  try {
    let r = await run(["gateway-api", "describe-gateway", "nope"]);
    assert.equal(r.code, 1);
    assert.match(r.line, /^novaedge ctl: Gateway nope not found in namespace shop: list them with/);
    r = await run(["gateway-api", "httproutes"]);
    assert.equal(r.code, 1);
    assert.match(r.line, /not allowed to read httproutes in namespace shop \(403/);
    assert.match(r.line, /grant list\/get on httproutes\.gateway\.networking\.k8s\.io/);
    r = await run(["gateway-api", "gatewayclasses"]);
    assert.equal(r.code, 1);
    assert.match(
      r.line,
      /does not serve gateway\.networking\.k8s\.io\/v1 gatewayclasses \(404\): install the CRDs/,
    );
    r = await run(["gateway-api", "gateways", "--context", "missing"]);
    assert.match(r.line, /context "missing" is not in the kubeconfig .*; contexts: x/);
    // The server is gone now: unreachable.
    await api.stop();
    r = await run(["gateway-api", "gateways"]);
    assert.equal(r.code, 1);
    assert.match(
      r.line,
      /^novaedge ctl: cannot reach the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+ .*check that the cluster is up/,
    );
  } finally {
    await api.close();
  }
});

Deno.test("ctl usage errors throw UsageError (exit 2 in the CLI)", async () => {
  const c = capture();
  for (
    const args of [
      [],
      ["frobnicate"],
      ["gateway-api"],
      ["gateway-api", "gatways"],
      ["gateway-api", "gateways", "extra"],
      ["gateway-api", "describe-gateway"],
      ["gateway-api", "gateways", "-o", "wide"],
      ["gateway-api", "gateways", "-n", "a", "-A"],
      ["gateway-api", "gateways", "--report", "x"],
      ["conformance", "extra"],
      ["gateway-api", "gateways", "--bogus"],
    ]
  ) {
    await assert.rejects(runCtl(args, c.io), UsageError, JSON.stringify(args));
  }
  assert.deepEqual(c.out, []);
  assert.equal(await runCtl(["--help"], c.io), 0);
  assert.match(c.out[0], /^usage: novaedge ctl <command>/);
});
