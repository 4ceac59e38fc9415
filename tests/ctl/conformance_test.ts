import assert from "node:assert/strict";
import { stringify } from "yaml";
import { conformanceView, readReport, renderConformance } from "../../src/ctl/conformance.ts";
import { main } from "../../src/ctl/mod.ts";
import { CtlError } from "../../src/ctl/kube.ts";

const REPORT = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "ConformanceReport",
  date: "2026-11-23T21:38:04Z",
  gatewayAPIChannel: "experimental",
  gatewayAPIVersion: "v1.6.1",
  implementation: { version: "abc1234" },
  profiles: [
    {
      name: "GATEWAY-HTTP",
      core: { result: "success", statistics: { Passed: 37, Failed: 0, Skipped: 0 } },
      extended: {
        result: "failure",
        statistics: { Passed: 20, Failed: 2, Skipped: 1 },
        failedTests: ["HTTPRouteTimeoutRequest", "GatewayStaticAddresses"],
      },
    },
    { name: "GATEWAY-TLS", core: { result: "partial", statistics: { Passed: 3 } } },
  ],
};

Deno.test("conformance view: one row per profile and level, failed tests named", () => {
  const text = renderConformance(conformanceView(REPORT));
  assert.deepEqual(text.split("\n"), [
    "Gateway API v1.6.1 (experimental channel), NovaEdge abc1234, run 2026-11-23T21:38:04Z",
    "",
    "PROFILE        LEVEL      RESULT    PASSED   FAILED   SKIPPED   FAILED TESTS",
    "GATEWAY-HTTP   core       success   37       0        0         <none>",
    "GATEWAY-HTTP   extended   failure   20       2        1         HTTPRouteTimeoutRequest,GatewayStaticAddresses",
    "GATEWAY-TLS    core       partial   3        0        0         <none>",
  ]);
});

Deno.test("ctl conformance reads --report; -o json gives the rows as data", async () => {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-conf-" });
  try {
    const path = `${dir}/report.yaml`;
    await Deno.writeTextFile(path, stringify(REPORT));
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => {}, now: () => new Date() };
    assert.equal(await main(["conformance", "--report", path, "-o", "json"], io), 0);
    const v = JSON.parse(out[0]);
    assert.equal(v.implementationVersion, "abc1234");
    assert.deepEqual(v.profiles.map((p: { level: string; failed: number }) => p.failed), [0, 2, 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readReport: a missing, non-YAML or non-report file is a CtlError saying what to do", async () => {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-conf-" });
  try {
    await assert.rejects(readReport(`${dir}/none.yaml`), (e: Error) => {
      assert.ok(e instanceof CtlError);
      assert.match(e.message, /no conformance report at .*none\.yaml: run `deno task conformance`/);
      return true;
    });
    await Deno.writeTextFile(`${dir}/bad.yaml`, "a: [unclosed");
    await assert.rejects(readReport(`${dir}/bad.yaml`), /is not valid YAML/);
    await Deno.writeTextFile(`${dir}/other.yaml`, "kind: Pod\n");
    await assert.rejects(
      readReport(`${dir}/other.yaml`),
      /is not a ConformanceReport \(kind: "Pod"\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
