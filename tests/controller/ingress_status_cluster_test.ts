/**
 * Ingress status on the local cluster: the controller writes
 * `status.loadBalancer.ingress` on an Ingress of its IngressClass — the address
 * of the class's shared ProxyGateway, the same `--gateway-address` source a
 * Gateway's status.addresses comes from — and nothing else (the Ingress schema
 * has no conditions); an Ingress of another controller's class keeps the status
 * its own controller wrote; an Ingress that leaves our class has the address we
 * wrote released, and what its new controller writes afterwards stays. The
 * controller runs with exactly the permissions of manifests/rbac.
 */
import assert from "node:assert/strict";
import { type Cluster, clusterTest } from "../cluster/mod.ts";
import { controllerKubeconfig, freePort, manifestsFor, NovaProc, until } from "./_procs.ts";

interface IngressObj {
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

const getIngress = async (c: Cluster, name: string): Promise<IngressObj> =>
  JSON.parse((await c.kubectl(["get", "ingress", name, "-o", "json"])).stdout) as IngressObj;

function ingress(ns: string, name: string, cls: string, host: string): string {
  return `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, namespace: ${ns}}
spec:
  ingressClassName: ${cls}
  rules:
    - host: ${host}
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
`;
}

clusterTest(
  "ingress: the controller writes status.loadBalancer for its class only, and releases it",
  async (c) => {
    const ns = c.namespace;
    // Per-test controller name and classes: concurrent tests' controllers never serve them.
    const controllerName = `novaedge.io/ingress-test-${ns}`;
    const ours = `novaedge-${ns}`;
    const theirs = `other-${ns}`;
    const dir = await Deno.makeTempDir({ prefix: "novaedge-ingress-" });
    await c.apply(`
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: ${ours}}
spec:
  controller: ${controllerName}
  # Core group: apiGroup is omitted (the API server rejects "").
  parameters: {kind: ConfigMap, namespace: ${ns}, name: ingress-params, scope: Namespace}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: ${theirs}}
spec: {controller: example.com/other-ingress-controller}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ingress-params, namespace: ${ns}}
data: {ingressNamespace: ${ns}, httpPort: "${freePort()}"}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec:
  selector: {app: nothing-here}
  ports: [{name: http, port: 80, targetPort: 3000}]
${"---" + ingress(ns, "mine", ours, "mine.example.test")}
${"---" + ingress(ns, "foreign", theirs, "foreign.example.test")}
`);
    // The other controller's status, written before ours starts.
    await c.kubectl([
      "patch",
      "ingress",
      "foreign",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: "198.51.100.9" }] } } }),
    ]);
    await c.apply(manifestsFor(ns, ["rbac/controller.yaml"]));
    const kubeconfig = await controllerKubeconfig(c, dir);
    const controller = new NovaProc(
      "controller",
      [
        "controller",
        `--kubeconfig=${kubeconfig}`,
        `--namespace=${ns}`,
        `--listen=127.0.0.1:${freePort()}`,
        `--admin-address=127.0.0.1:${freePort()}`,
        `--id=ingress-${ns}`,
        `--gateway-controller-name=novaedge.io/unused-${ns}`,
        `--ingress-controller-name=${controllerName}`,
        // Where clients reach the class's shared ProxyGateway <ns>/ingress-<class>.
        `--gateway-address=${ns}/ingress-${ours}=192.0.2.50`,
        `--gateway-address=${ns}/ingress-${ours}=edge.example.test`,
      ],
      {},
      dir,
    );
    try {
      const mine = await until("status.loadBalancer on our Ingress", async () => {
        const i = await getIngress(c, "mine");
        return i.status?.loadBalancer?.ingress?.length ? i : undefined;
      });
      assert.deepEqual(mine.status, {
        loadBalancer: { ingress: [{ ip: "192.0.2.50" }, { hostname: "edge.example.test" }] },
      });
      // Our controller has run a full sync (it wrote ours); the other class's Ingress is as its
      // controller left it.
      const foreign = await getIngress(c, "foreign");
      assert.deepEqual(foreign.status, { loadBalancer: { ingress: [{ ip: "198.51.100.9" }] } });
      // "mine" moves to the other controller's class: the address we wrote is released.
      await c.kubectl([
        "patch",
        "ingress",
        "mine",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { ingressClassName: theirs } }),
      ]);
      await until("our address released from the Ingress that left our class", async () => {
        const i = await getIngress(c, "mine");
        return i.status?.loadBalancer?.ingress?.length ? undefined : i;
      });
      assert.match(controller.log(), /no longer ours/);
      // Its new controller's address, written afterwards, is never cleared: another change makes
      // our controller reconcile (and sync statuses) again, then both Ingresses are as the other
      // controller left them.
      await c.kubectl([
        "patch",
        "ingress",
        "mine",
        "--subresource=status",
        "--type=merge",
        "-p",
        JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: "198.51.100.10" }] } } }),
      ]);
      await c.kubectl(["annotate", "ingress", "foreign", "--overwrite", "test/touched=1"]);
      await new Promise((r) => setTimeout(r, 3000));
      assert.deepEqual((await getIngress(c, "mine")).status, {
        loadBalancer: { ingress: [{ ip: "198.51.100.10" }] },
      });
      assert.deepEqual((await getIngress(c, "foreign")).status, {
        loadBalancer: { ingress: [{ ip: "198.51.100.9" }] },
      });
      // Only loadBalancer is written (conditions stay in the controller's /debug output):
      // nothing the API server would drop, so nothing is written again and again.
      assert.doesNotMatch(controller.log(), /status write failed|forbidden|\b403\b/i);
    } catch (err) {
      console.error(`----- controller log -----\n${controller.log().slice(-6000)}`);
      throw err;
    } finally {
      await controller.stop();
      await c.kubectl(["delete", "ingressclass", ours, theirs, "--wait=false"], { check: false });
      await c.kubectl([
        "delete",
        "clusterrolebinding,clusterrole",
        `novaedge-controller-${ns}`,
        "--wait=false",
      ], { check: false });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
