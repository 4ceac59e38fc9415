/**
 * The controller and agent on the local Kubernetes cluster (tests/cluster):
 * real API server, informers, TokenReview, Leases, echo-basic pods; the
 * controller and the agent run as host processes.
 */
import assert from "node:assert/strict";
import { type Cluster, clusterTest } from "../cluster/mod.ts";
import { fetchSnapshotFromController } from "../../src/controller/dump_client.ts";
import { decodeSnapshot } from "../../src/snapshot/codec.ts";
import {
  agentCredentials as sharedAgentCredentials,
  controllerKubeconfig,
  freePort,
  getObj,
  getVia,
  manifestsFor,
  NovaProc,
  type Obj,
  samplesFor,
  until,
} from "./_procs.ts";

interface Ctx {
  c: Cluster;
  dir: string;
  gwPort: number;
  procs: NovaProc[];
}

function startController(x: Ctx, id: string, grpcPort: number, adminPort: number): NovaProc {
  const p = new NovaProc(
    id,
    [
      "controller",
      `--kubeconfig=${x.c.kubeconfigPath}`,
      `--namespace=${x.c.namespace}`,
      `--listen=127.0.0.1:${grpcPort}`,
      `--admin-address=127.0.0.1:${adminPort}`,
      `--id=${id}`,
      `--lease-name=novaedge-${x.c.namespace}`,
    ],
    {},
    x.dir,
  );
  x.procs.push(p);
  return p;
}

function agentCredentials(x: Ctx): Promise<{ caFile: string; tokenFile: string }> {
  return sharedAgentCredentials(x.c, x.dir);
}

function startAgent(
  x: Ctx,
  name: string,
  grpcPort: number,
  creds: { caFile: string; tokenFile: string },
): NovaProc {
  const p = new NovaProc(
    name,
    [
      "agent",
      `--controller=127.0.0.1:${grpcPort}`,
      "--node=novaedge-node-0",
      `--state-dir=${x.dir}/state`,
      `--admin-address=127.0.0.1:${freePort()}`,
      `--controller-ca=${creds.caFile}`,
      `--token-file=${creds.tokenFile}`,
    ],
    {},
    x.dir,
  );
  x.procs.push(p);
  return p;
}

async function withProcs(c: Cluster, fn: (x: Ctx) => Promise<void>): Promise<void> {
  const x: Ctx = {
    c,
    dir: await Deno.makeTempDir({ prefix: "novaedge-ctl-" }),
    gwPort: freePort(),
    procs: [],
  };
  try {
    await fn(x);
  } catch (err) {
    for (const p of x.procs) {
      const lines = p.log().split("\n").filter((l) => !l.includes('"component":"access"'));
      console.error(`----- ${p.name} log -----\n${lines.join("\n").slice(-8000)}`);
    }
    throw err;
  } finally {
    for (const p of x.procs) await p.stop();
    await Deno.remove(x.dir, { recursive: true }).catch(() => {});
  }
}

const accepted = (o: Obj) => o.status?.conditions?.find((k) => k.type === "Accepted");

interface EchoBody {
  pod: string;
  namespace: string;
  headers: Record<string, string[]>;
}

clusterTest(
  "controller: samples on the cluster are served by an agent from echo-basic pods; survives controller loss and agent restart",
  async (c) => {
    await withProcs(c, async (x) => {
      await c.apply(samplesFor(c.namespace, x.gwPort));
      // An invalid object: its status says which field; the rest still builds.
      await c.apply(`
apiVersion: novaedge.io/v1alpha1
kind: ProxyRoute
metadata: {name: bad-path, namespace: ${c.namespace}}
spec:
  parentRefs: [{name: edge}]
  hostnames: [bad.example.test]
  rules:
    - matches: [{path: {type: RegularExpression, value: "/users/(["}}]
      backendRefs: [{name: app}]
`);
      await c.waitForReadyPods("app=echo", 2);
      const grpcPort = freePort();
      startController(x, "ctl-a", grpcPort, freePort());

      const app = await until("ProxyRoute app Accepted with observedGeneration", async () => {
        const o = await getObj(c, "proxyroutes.novaedge.io", "app");
        const a = accepted(o);
        return a?.status === "True" && o.status?.observedGeneration === o.metadata.generation
          ? o
          : undefined;
      });
      assert.ok(accepted(app)?.lastTransitionTime, "conditions are stamped");
      const bad = await until("bad-path Accepted=False", async () => {
        const o = await getObj(c, "proxyroutes.novaedge.io", "bad-path");
        return accepted(o)?.status === "False" ? o : undefined;
      });
      assert.match(accepted(bad)!.message, /spec\.rules\[0\]\.matches\[0\]\.path/);

      const creds = await agentCredentials(x);
      let agent = startAgent(x, "agent-1", grpcPort, creds);
      const first = await until("the agent serves app.example.test from an echo pod", async () => {
        const r = await getVia(x.gwPort, "app.example.test", "/hello");
        if (r.status !== 200) return undefined;
        const body = JSON.parse(r.body) as EchoBody;
        return body.pod.startsWith("echo-") ? body : undefined;
      });
      assert.equal(first.namespace, c.namespace);
      assert.deepEqual(first.headers["X-Forwarded-Host"], ["app.example.test"]);

      // The controller knows which version the agent serves.
      const dump = await until("the agent's ack", async () => {
        const d = await fetchSnapshotFromController({
          address: `127.0.0.1:${grpcPort}`,
          node: "novaedge-node-0",
          caPem: await Deno.readTextFile(creds.caFile),
          token: await Deno.readTextFile(creds.tokenFile),
        });
        return d.agents.some((a) => a.ackedVersion === d.version) ? d : undefined;
      });
      const snap = decodeSnapshot(dump.snapshot);
      assert.ok(snap.routes.some((r) => r.hostnames.includes("app.example.test")));
      assert.ok(
        !snap.routes.some((r) => r.hostnames.includes("bad.example.test")),
        "invalid route left out",
      );

      // Changing a ProxyRoute changes what the agent serves.
      await c.kubectl([
        "patch",
        "proxyroutes.novaedge.io",
        "app",
        "--type=json",
        "-p",
        JSON.stringify([{
          op: "add",
          path: "/spec/rules/1/filters/0/requestHeaderModifier/set/-",
          value: { name: "X-Novaedge-Test", value: "changed" },
        }]),
      ]);
      let lastBody = "";
      await until("the change is served", async () => {
        const r = await getVia(x.gwPort, "app.example.test", "/hello");
        lastBody = r.body;
        const body = JSON.parse(r.body) as EchoBody;
        return body.headers["X-Novaedge-Test"]?.[0] === "changed";
      }).catch((err) => {
        throw new Error(`${err.message}; last answer: ${lastBody}`);
      });

      // The route says it is programmed where the controller can tell (node-0's agent).
      const programmed = await until(
        "ProxyRoute app Programmed=True for its generation",
        async () => {
          const o = await getObj(c, "proxyroutes.novaedge.io", "app");
          const p = o.status?.conditions?.find((k) => k.type === "Programmed");
          return p?.status === "True" && p.observedGeneration === o.metadata.generation
            ? p
            : undefined;
        },
      );
      assert.match(programmed.message, /served by 1 of 2 node\(s\)/);
      assert.match(programmed.message, /novaedge-node-1/);

      // Stopping the controller leaves the agent serving.
      await x.procs[0].stop();
      await new Promise((r) => setTimeout(r, 1000));
      const during = await getVia(x.gwPort, "app.example.test", "/still");
      assert.equal(during.status, 200);

      // Restarting the agent with the controller down serves the persisted snapshot.
      await agent.stop();
      agent = startAgent(x, "agent-2", grpcPort, creds);
      const again = await until("the restarted agent serves the persisted snapshot", async () => {
        const r = await getVia(x.gwPort, "app.example.test", "/again");
        if (r.status !== 200) return undefined;
        return JSON.parse(r.body) as EchoBody;
      }, 30_000);
      assert.deepEqual(again.headers["X-Novaedge-Test"], ["changed"]);
      assert.match(agent.log(), /persisted snapshot/);
    });
  },
);

async function metric(adminPort: number, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const line = text.split("\n").find((l) =>
    l.startsWith(name + labels + " ") || (labels === "" && l.startsWith(name + " "))
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

clusterTest(
  "controller: with two replicas only the leader writes statuses, and a leader change loses nothing",
  async (c) => {
    await withProcs(c, async (x) => {
      await c.apply(samplesFor(c.namespace, x.gwPort));
      const lease = `novaedge-${c.namespace}`;
      const adminA = freePort(), adminB = freePort();
      const a = startController(x, "ctl-a", freePort(), adminA);
      const holder = async () => {
        const r = await c.kubectl(
          ["get", "lease", lease, "-o", "jsonpath={.spec.holderIdentity}"],
          { check: false },
        );
        return r.code === 0 ? r.stdout.trim() : "";
      };
      await until("ctl-a leads", async () => (await holder()) === "ctl-a");
      const b = startController(x, "ctl-b", freePort(), adminB);
      await until(
        "ctl-b synced",
        async () => (await fetch(`http://127.0.0.1:${adminB}/readyz`)).status === 200,
      );

      // A change: the leader writes the new observedGeneration; the follower writes nothing.
      await c.kubectl([
        "patch",
        "proxyroutes.novaedge.io",
        "web",
        "--type=merge",
        "-p",
        '{"spec":{"hostnames":["web2.example.test"]}}',
      ]);
      const gen2 = (await getObj(c, "proxyroutes.novaedge.io", "web")).metadata.generation!;
      await until(
        "status for generation " + gen2,
        async () =>
          (await getObj(c, "proxyroutes.novaedge.io", "web")).status?.observedGeneration === gen2,
      );
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(
        await metric(adminA, "novaedge_controller_status_writes_total", '{result="written"}') > 0,
      );
      assert.equal(
        await metric(adminB, "novaedge_controller_status_writes_total", '{result="written"}'),
        0,
        "the follower wrote a status",
      );
      assert.equal(await metric(adminB, "novaedge_controller_is_leader"), 0);

      // The leader goes away; the follower takes over and writes what changed meanwhile.
      await a.stop();
      await c.kubectl([
        "patch",
        "proxyroutes.novaedge.io",
        "web",
        "--type=merge",
        "-p",
        '{"spec":{"hostnames":["web3.example.test"]}}',
      ]);
      const gen3 = (await getObj(c, "proxyroutes.novaedge.io", "web")).metadata.generation!;
      await until("ctl-b leads", async () => (await holder()) === "ctl-b", 40_000);
      await until(
        "ctl-b wrote generation " + gen3,
        async () =>
          (await getObj(c, "proxyroutes.novaedge.io", "web")).status?.observedGeneration === gen3,
        40_000,
      );
      assert.equal(await metric(adminB, "novaedge_controller_is_leader"), 1);
      void b;
    });
  },
);

clusterTest(
  "manifests: RBAC, controller Deployment + Service and agent DaemonSets pass a server-side dry run",
  async (c) => {
    const yaml = manifestsFor(c.namespace, [
      "rbac/controller.yaml",
      "rbac/agent.yaml",
      "controller/controller.yaml",
      "controller/service.yaml",
      "controller/ingressclass.yaml",
      "agent/agent.yaml",
      "agent/agent-vip.yaml",
    ]);
    const r = await c.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], {
      stdin: yaml,
    });
    for (
      const kind of [
        "serviceaccount/novaedge-controller",
        "clusterrole.rbac.authorization.k8s.io/novaedge-controller-",
        "deployment.apps/novaedge-controller",
        "service/novaedge-controller",
        "ingressclass.networking.k8s.io/novaedge",
        "daemonset.apps/novaedge-agent",
        "daemonset.apps/novaedge-agent-vip",
        "role.rbac.authorization.k8s.io/novaedge-controller",
      ]
    ) {
      assert.ok(r.stdout.includes(kind), `${kind} missing from:\n${r.stdout}`);
    }
    const ns = await c.kubectl([
      "apply",
      "--server-side",
      "--dry-run=server",
      "-f",
      new URL("../../manifests/rbac/namespace.yaml", import.meta.url).pathname,
    ]);
    assert.match(ns.stdout, /namespace\/novaedge-system/);
  },
);

clusterTest(
  "manifests: the controller works with exactly the permissions of manifests/rbac (no forbidden calls)",
  async (c) => {
    await withProcs(c, async (x) => {
      const rbac = manifestsFor(c.namespace, ["rbac/controller.yaml", "rbac/agent.yaml"]);
      await c.apply(rbac);
      try {
        await c.apply(samplesFor(c.namespace, x.gwPort));
        // A Gateway of a per-test class: its generated Service + EndpointSlice need RBAC too.
        const controllerName = `novaedge.io/test-${c.namespace}`;
        await c.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: novaedge-${c.namespace}}
spec: {controllerName: ${controllerName}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: rbac-gw, namespace: ${c.namespace}}
spec:
  gatewayClassName: novaedge-${c.namespace}
  infrastructure: {labels: {key2: value2}}
  listeners: [{name: http, port: ${freePort()}, protocol: HTTP}]
`);
        const kubeconfig = await controllerKubeconfig(c, x.dir);
        const grpcPort = freePort();
        const ctl = new NovaProc(
          "ctl-rbac",
          [
            "controller",
            `--kubeconfig=${kubeconfig}`,
            `--namespace=${c.namespace}`,
            `--listen=127.0.0.1:${grpcPort}`,
            `--admin-address=127.0.0.1:${freePort()}`,
            "--id=ctl-rbac",
            `--gateway-controller-name=${controllerName}`,
          ],
          {},
          x.dir,
        );
        x.procs.push(ctl);
        await until("statuses written under the manifest's RBAC", async () => {
          const o = await getObj(c, "proxyroutes.novaedge.io", "app");
          return o.status?.observedGeneration === o.metadata.generation &&
            accepted(o)?.status === "True";
        });
        await until("the Gateway's Service and EndpointSlice written under the RBAC", async () => {
          const r = await c.kubectl([
            "get",
            "service,endpointslice",
            "-l",
            "gateway.networking.k8s.io/gateway-name=rbac-gw,key2=value2",
            "-o",
            "name",
          ]);
          return r.stdout.includes("service/rbac-gw-novaedge") &&
            r.stdout.includes("endpointslice.discovery.k8s.io/rbac-gw-novaedge");
        });
        // TokenReview (agent auth) under the same RBAC.
        const creds = await agentCredentials(x);
        const d = await until("an authenticated dump", () =>
          fetchSnapshotFromController({
            address: `127.0.0.1:${grpcPort}`,
            node: "novaedge-node-0",
            caPem: Deno.readTextFileSync(creds.caFile),
            token: Deno.readTextFileSync(creds.tokenFile),
          }));
        assert.ok(d.version.startsWith("v"));
        const lease = await c.kubectl([
          "get",
          "lease",
          "novaedge-controller",
          "-o",
          "jsonpath={.spec.holderIdentity}",
        ]);
        assert.equal(lease.stdout.trim(), "ctl-rbac");
        // \b: a port or timestamp may contain the digits 403.
        assert.doesNotMatch(ctl.log(), /forbidden|\b403\b/i);
      } finally {
        await c.kubectl([
          "delete",
          "clusterrolebinding,clusterrole",
          `novaedge-controller-${c.namespace}`,
        ], { check: false });
        await c.kubectl(["delete", "gatewayclass", `novaedge-${c.namespace}`, "--wait=false"], {
          check: false,
        });
      }
    });
  },
);
