import assert from "node:assert/strict";
import { configSource, CtlError } from "../../src/ctl/kube.ts";

const env = (vars: Record<string, string>) => (n: string) => vars[n];
const files = (...paths: string[]) => (p: string) => paths.includes(p);

Deno.test("configSource: --kubeconfig, KUBECONFIG, ~/.kube/config, in-cluster, in that order", () => {
  assert.equal(
    configSource({ kubeconfig: "/k", env: env({ KUBECONFIG: "/e" }), fileExists: files("/k") }),
    "/k",
  );
  assert.equal(
    configSource({ env: env({ KUBECONFIG: "/e", HOME: "/h" }), fileExists: files() }),
    "KUBECONFIG=/e",
  );
  assert.equal(
    configSource({ env: env({ HOME: "/h" }), fileExists: files("/h/.kube/config") }),
    "/h/.kube/config",
  );
  assert.equal(
    configSource({
      env: env({ HOME: "/h", KUBERNETES_SERVICE_HOST: "10.0.0.1" }),
      fileExists: files("/var/run/secrets/kubernetes.io/serviceaccount/token"),
    }),
    "in-cluster service account",
  );
});

Deno.test("configSource: no configuration at all, or a missing --kubeconfig, is a CtlError", () => {
  assert.throws(
    () => configSource({ env: env({ HOME: "/h" }), fileExists: files() }),
    (e: Error) =>
      e instanceof CtlError &&
      /no kubeconfig found: pass --kubeconfig PATH, set KUBECONFIG/.test(e.message),
  );
  assert.throws(
    () => configSource({ kubeconfig: "/nope", env: env({}), fileExists: files() }),
    /kubeconfig \/nope does not exist/,
  );
});
