/**
 * The controller recovers by itself, and says so in its log, when its watches
 * break, when the API server is unreachable for a while, and when a Secret a
 * gateway uses disappears and comes back.
 */
import assert from "node:assert/strict";
import { writeKubeconfig } from "../_support/kubeconfig.ts";
import { clusterTest } from "../cluster/mod.ts";
import { createCa, issueLeaf } from "../../src/controller/pki.ts";
import { FlakyRelay, freePort, getObj, NovaProc, type Obj, samplesFor, until } from "./_procs.ts";

const cond = (o: Obj, type: string) => o.status?.conditions?.find((k) => k.type === type);

clusterTest(
  "controller: recovers from broken watches, an unreachable API server and a vanished Secret",
  async (c) => {
    const dir = await Deno.makeTempDir({ prefix: "novaedge-rec-" });
    const relay = new FlakyRelay(c.server);
    let ctl: NovaProc | undefined;
    try {
      const kubeconfig = await writeKubeconfig(`${dir}/kubeconfig`, {
        server: `https://127.0.0.1:${relay.port}`,
        token: c.token,
        caPem: c.caPem,
      });
      const ca = await createCa("test");
      const leaf = await issueLeaf(ca, { commonName: "secure", sans: ["secure.example.test"] });
      await Deno.writeTextFile(`${dir}/tls.crt`, leaf.certPem);
      await Deno.writeTextFile(`${dir}/tls.key`, leaf.keyPem);
      const createSecret = () =>
        c.kubectl([
          "create",
          "secret",
          "tls",
          "secure-cert",
          `--cert=${dir}/tls.crt`,
          `--key=${dir}/tls.key`,
        ]);
      await createSecret();
      await c.apply(
        samplesFor(c.namespace, freePort()) + `
---
apiVersion: novaedge.io/v1alpha1
kind: ProxyGateway
metadata: {name: secure, namespace: ${c.namespace}}
spec:
  listeners:
    - {name: https, port: ${freePort()}, protocol: HTTPS, tls: {certificateRefs: [{name: secure-cert}]}}
`,
      );
      // 0. The API server is unreachable when the controller starts.
      relay.pause();
      ctl = new NovaProc(
        "ctl-rec",
        [
          "controller",
          `--kubeconfig=${kubeconfig}`,
          `--namespace=${c.namespace}`,
          `--listen=127.0.0.1:${freePort()}`,
          `--admin-address=127.0.0.1:${freePort()}`,
          "--id=ctl-rec",
          `--lease-name=novaedge-${c.namespace}`,
        ],
        {},
        dir,
      );
      await until("the controller reports the unreachable API server", () =>
        Promise.resolve(
          /cannot load or create the agent-channel CA yet; retrying/.test(ctl!.log()),
        ));
      relay.resume();
      const route = () => getObj(c, "proxyroutes.novaedge.io", "web");
      const statusAt = async (gen: number) => (await route()).status?.observedGeneration === gen;
      const bump = async (host: string) => {
        await c.kubectl([
          "patch",
          "proxyroutes.novaedge.io",
          "web",
          "--type=merge",
          "-p",
          JSON.stringify({ spec: { hostnames: [host] } }),
        ]);
        return (await route()).metadata.generation!;
      };
      await until("first statuses", async () => statusAt((await route()).metadata.generation!));
      const gw = () => getObj(c, "proxygateways.novaedge.io", "secure");
      assert.equal(cond(await gw(), "ResolvedRefs")?.status, "True");

      // 1. Every watch breaks at once.
      relay.breakAll();
      const g1 = await bump("w1.example.test");
      await until("status after broken watches", () => statusAt(g1));

      // 2. The API server is unreachable for a while; a change lands meanwhile.
      relay.pause();
      await new Promise((r) => setTimeout(r, 4000));
      const g2 = await bump("w2.example.test");
      relay.resume();
      await until("status after the API server came back", () => statusAt(g2), 90_000);
      const log = ctl.log();
      assert.match(log, /watch failed; restarting/);
      assert.match(log, /watch recovered/);

      // 3. A Secret disappears, then comes back.
      await c.kubectl(["delete", "secret", "secure-cert"]);
      const gone = await until("ResolvedRefs=False", async () => {
        const k = cond(await gw(), "ResolvedRefs");
        return k?.status === "False" ? k : undefined;
      });
      assert.equal(gone.reason, "InvalidCertificateRef");
      await createSecret();
      await until(
        "ResolvedRefs=True again",
        async () => cond(await gw(), "ResolvedRefs")?.status === "True",
      );
    } catch (err) {
      console.error(
        ctl?.log().split("\n").filter((l) => !l.includes('"access"')).join("\n").slice(-8000),
      );
      throw err;
    } finally {
      await ctl?.stop();
      relay.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
