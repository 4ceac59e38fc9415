/**
 * Gateway API on the local cluster: the controller writes what the translator
 * generated (a ProxyRoute owned by the HTTPRoute, `kubectl get proxyroute`
 * shows it), writes the Gateway API statuses, an agent host process serves
 * the HTTPRoute from echo-basic pods, and deleting the HTTPRoute lets the
 * garbage collector remove the generated ProxyRoute. The Gateway gets its
 * generated Service and EndpointSlice.
 */
import assert from "node:assert/strict";
import { type Cluster, clusterTest } from "../cluster/mod.ts";
import {
  agentCredentials,
  echoBackend,
  freePort,
  gatewayFor,
  getVia,
  NovaProc,
  until,
} from "./_procs.ts";

interface Cond {
  type: string;
  status: string;
  reason: string;
}
interface GwObj {
  metadata: { name: string; generation?: number; uid?: string };
  status?: {
    conditions?: Cond[];
    addresses?: { type?: string; value: string }[];
    parents?: { controllerName: string; conditions?: Cond[] }[];
  };
}
interface ItemList {
  items: {
    metadata: {
      name: string;
      labels?: Record<string, string>;
      ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
    };
    spec?: { hostnames?: string[] };
  }[];
}

const cond = (cs: Cond[] | undefined, type: string) => cs?.find((c) => c.type === type);

async function getJson<T>(c: Cluster, args: string[]): Promise<T> {
  return JSON.parse((await c.kubectl([...args, "-o", "json"])).stdout) as T;
}

function manifests(ns: string, className: string, controllerName: string, port: number): string {
  return `
${gatewayFor(ns, className, controllerName, port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ${ns}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [web.example.test]
  rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      backendRefs: [{name: echo, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: extra, namespace: ${ns}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [extra.example.test]
  rules:
    - backendRefs: [{name: echo, port: 80}]
---
${echoBackend(ns, ["echo"])}`;
}

clusterTest(
  "gateway api: generated ProxyRoute written with owner references, statuses written, agent serves the HTTPRoute, GC removes it",
  async (c) => {
    const dir = await Deno.makeTempDir({ prefix: "novaedge-gwapi-" });
    const procs: NovaProc[] = [];
    const ns = c.namespace;
    // Per-test class and controllerName: controllers of concurrent tests never touch each other's.
    const className = `novaedge-${ns}`;
    const controllerName = `novaedge.io/test-${ns}`;
    const port = freePort();
    const grpcPort = freePort();
    const startController = () => {
      const p = new NovaProc(
        `ctl-${procs.length}`,
        [
          "controller",
          `--kubeconfig=${c.kubeconfigPath}`,
          `--namespace=${ns}`,
          `--listen=127.0.0.1:${grpcPort}`,
          `--admin-address=127.0.0.1:${freePort()}`,
          `--id=ctl-${ns}`,
          `--lease-name=novaedge-${ns}`,
          `--gateway-controller-name=${controllerName}`,
          `--gateway-address=${ns}/gw=127.0.0.1`,
          "--bind-gateway-addresses",
        ],
        {},
        dir,
      );
      procs.push(p);
      return p;
    };
    try {
      await c.apply(manifests(ns, className, controllerName, port));
      await c.waitForReadyPods("app=echo", 2);
      const ctl = startController();

      // `kubectl get proxyroute` shows what the HTTPRoute became, owned by it.
      const route = await getJson<GwObj>(c, ["get", "httproute", "web"]);
      const generated = await until("the generated ProxyRoute", async () => {
        const l = await getJson<ItemList>(c, [
          "get",
          "proxyroutes.novaedge.io",
          "-l",
          "novaedge.io/gateway-api-owner",
        ]);
        return l.items.find((i) =>
          i.metadata.ownerReferences?.some((o) => o.kind === "HTTPRoute" && o.name === "web")
        );
      });
      const owner = generated.metadata.ownerReferences!.find((o) => o.kind === "HTTPRoute")!;
      assert.equal(owner.uid, route.metadata.uid);
      assert.equal(owner.controller, true);
      assert.deepEqual(generated.spec?.hostnames, ["web.example.test"]);
      const pgws = await getJson<ItemList>(c, ["get", "proxygateways.novaedge.io"]);
      assert.ok(
        pgws.items.some((g) => g.metadata.ownerReferences?.some((o) => o.kind === "Gateway")),
        "the Gateway's ProxyGateway is written too",
      );

      // Statuses: GatewayClass Accepted, Gateway Accepted with its address, route parent Accepted.
      await until("GatewayClass Accepted", async () => {
        const gc = await getJson<GwObj>(c, ["get", "gatewayclass", className]);
        return cond(gc.status?.conditions, "Accepted")?.status === "True";
      });
      const gw = await until("Gateway Accepted", async () => {
        const g = await getJson<GwObj>(c, ["get", "gateway", "gw"]);
        return cond(g.status?.conditions, "Accepted")?.status === "True" ? g : undefined;
      });
      assert.deepEqual(gw.status?.addresses?.map((a) => a.value), ["127.0.0.1"]);

      // The Gateway's Service + EndpointSlice (GatewayInfrastructurePropagation), owned by it.
      const svc = await until("the Gateway's Service", async () => {
        const l = await getJson<ItemList>(c, [
          "get",
          "services",
          "-l",
          "gateway.networking.k8s.io/gateway-name=gw",
        ]);
        return l.items.find((i) => i.metadata.name === "gw-novaedge");
      });
      assert.equal(svc.metadata.labels?.["novaedge.io/gateway-api-owner"], "gateway.gw");
      assert.equal(svc.metadata.ownerReferences?.[0].uid, gw.metadata.uid);
      assert.equal(svc.metadata.ownerReferences?.[0].kind, "Gateway");
      const slice = await getJson<ItemList>(c, [
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=gw-novaedge",
      ]);
      assert.deepEqual(slice.items.map((i) => i.metadata.name), ["gw-novaedge"]);
      const parent = await until("HTTPRoute parent Accepted", async () => {
        const r = await getJson<GwObj>(c, ["get", "httproute", "web"]);
        const p = r.status?.parents?.find((x) => x.controllerName === controllerName);
        return cond(p?.conditions, "Accepted")?.status === "True" ? p : undefined;
      });
      assert.equal(cond(parent.conditions, "ResolvedRefs")?.status, "True");

      // An agent serves the route from the echo pods.
      await agentCredentials(c, dir, "1h");
      procs.push(
        new NovaProc(
          "agent",
          [
            "agent",
            `--controller=127.0.0.1:${grpcPort}`,
            "--node=novaedge-node-0",
            `--state-dir=${dir}/state`,
            `--admin-address=127.0.0.1:${freePort()}`,
            `--controller-ca=${dir}/ca.crt`,
            `--token-file=${dir}/token`,
          ],
          {},
          dir,
        ),
      );
      const body = await until("the agent serves web.example.test from an echo pod", async () => {
        const r = await getVia(port, "web.example.test", "/x");
        if (r.status !== 200) return undefined;
        const b = JSON.parse(r.body) as { pod: string; namespace: string; path: string };
        return b.pod.startsWith("echo-") ? b : undefined;
      });
      assert.equal(body.namespace, ns);
      assert.equal(body.path, "/x");
      await until("Gateway Programmed", async () => {
        const g = await getJson<GwObj>(c, ["get", "gateway", "gw"]);
        return cond(g.status?.conditions, "Programmed")?.status === "True";
      });

      // A route that no longer attaches generates nothing: the controller prunes
      // its ProxyRoute (the owner still exists, so this is not the GC's doing).
      const ownedBy = async (name: string) =>
        (await getJson<ItemList>(c, ["get", "proxyroutes.novaedge.io"])).items.filter((i) =>
          i.metadata.ownerReferences?.some((o) => o.kind === "HTTPRoute" && o.name === name)
        );
      await until(
        "the ProxyRoute generated from extra",
        async () => (await ownedBy("extra")).length > 0,
      );
      await c.kubectl([
        "patch",
        "httproute",
        "extra",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { parentRefs: [{ name: "no-such-gateway" }] } }),
      ]);
      await until(
        "the controller prunes what extra no longer generates",
        async () => (await ownedBy("extra")).length === 0,
      );
      assert.equal((await ownedBy("web")).length, 1, "web's ProxyRoute is kept");

      // The controller is gone: only the garbage collector can remove what the route became.
      await ctl.stop();
      await c.kubectl(["delete", "httproute", "web", "--wait=true"]);
      await until("the garbage collector removes the generated ProxyRoute", async () => {
        const r = await c.kubectl(
          ["get", "proxyroutes.novaedge.io", generated.metadata.name, "-o", "name"],
          { check: false },
        );
        return r.code !== 0 && /NotFound|not found/.test(r.stderr);
      }, 90_000);
      assert.doesNotMatch(ctl.log(), /forbidden/i);
    } catch (err) {
      for (const p of procs) {
        const lines = p.log().split("\n").filter((l) => !l.includes('"component":"access"'));
        console.error(`----- ${p.name} log -----\n${lines.join("\n").slice(-8000)}`);
      }
      throw err;
    } finally {
      for (const p of procs) await p.stop();
      await c.kubectl(["delete", "gatewayclass", className, "--wait=false"], { check: false });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
