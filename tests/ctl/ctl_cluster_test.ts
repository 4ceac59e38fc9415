/**
 * `novaedge ctl` against the local cluster: a GatewayClass, Gateway and
 * HTTPRoute are applied, the controller writes their statuses and generated
 * objects, and `deno task start ctl ...` shows them — the tables agree with
 * what `kubectl` reads, describe-gateway finds the route and the generated
 * ProxyGateway/ProxyRoute, and a missing Gateway is one line with exit 1.
 */
import assert from "node:assert/strict";
import { type Cluster, clusterTest } from "../cluster/mod.ts";
import { freePort, gatewayFor, NovaProc, until } from "../controller/_procs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

interface Cond {
  type: string;
  status: string;
}
interface Obj {
  status?: {
    conditions?: Cond[];
    addresses?: { value: string }[];
    parents?: { controllerName: string; conditions?: Cond[] }[];
  };
}

async function ctl(c: Cluster, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "start", "ctl", ...args, `--kubeconfig=${c.kubeconfigPath}`],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** The table's data rows as cells (columns are separated by 3+ spaces; cells have none). */
function rows(table: string): string[][] {
  return table.trim().split("\n").slice(1).map((l) => l.split(/ {3,}/));
}

const get = async (c: Cluster, ...args: string[]): Promise<Obj> =>
  JSON.parse((await c.kubectl(["get", ...args, "-o", "json"])).stdout) as Obj;
const cond = (cs: Cond[] | undefined, type: string) => cs?.find((x) => x.type === type)?.status;

clusterTest(
  "ctl: gateway-api tables and describe-gateway show what the controller wrote",
  async (c) => {
    const ns = c.namespace;
    const className = `novaedge-${ns}`;
    const controllerName = `novaedge.io/test-${ns}`;
    const dir = await Deno.makeTempDir({ prefix: "novaedge-ctl-" });
    const port = freePort();
    await c.apply(`
${gatewayFor(ns, className, controllerName, port)}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: ${ns}}
spec:
  parentRefs: [{name: gw}]
  hostnames: [web.example.test]
  rules: [{backendRefs: [{name: echo, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: ${ns}}
spec:
  selector: {app: nothing-here}
  ports: [{name: http, port: 80, targetPort: 3000}]
`);
    const controller = new NovaProc(
      "controller",
      [
        "controller",
        `--kubeconfig=${c.kubeconfigPath}`,
        `--namespace=${ns}`,
        `--listen=127.0.0.1:${freePort()}`,
        `--admin-address=127.0.0.1:${freePort()}`,
        `--id=ctl-${ns}`,
        `--lease-name=novaedge-${ns}`,
        `--gateway-controller-name=${controllerName}`,
        `--ingress-controller-name=novaedge.io/unused-${ns}`,
        `--gateway-address=${ns}/gw=127.0.0.1`,
      ],
      {},
      dir,
    );
    try {
      const gw = await until("the Gateway's address and the route's parent status", async () => {
        const g = await get(c, "gateway", "gw");
        const r = await get(c, "httproute", "web");
        const p = r.status?.parents?.find((x) => x.controllerName === controllerName);
        return g.status?.addresses?.length && cond(p?.conditions, "Accepted") ? g : undefined;
      });
      const route = await get(c, "httproute", "web");
      const parent = route.status!.parents!.find((x) => x.controllerName === controllerName)!;

      const classes = await ctl(c, "gateway-api", "gatewayclasses");
      assert.equal(classes.code, 0, classes.stderr);
      assert.deepEqual(classes.stdout.split("\n")[0].split(/ {3,}/), [
        "NAME",
        "CONTROLLER",
        "ACCEPTED",
        "SUPPORTED FEATURES",
        "AGE",
      ]);
      const cls = rows(classes.stdout).find((r) => r[0] === className);
      assert.ok(cls, classes.stdout);
      assert.equal(cls[1], controllerName);
      assert.equal(cls[2], "True");
      assert.ok(Number(cls[3]) > 0, `supported features counted: ${cls[3]}`);

      const gws = await ctl(c, "gateway-api", "gateways", "-n", ns);
      assert.equal(gws.code, 0, gws.stderr);
      const [gwRow] = rows(gws.stdout);
      assert.deepEqual(gwRow.slice(0, 4), [
        "gw",
        className,
        "127.0.0.1",
        cond(gw.status?.conditions, "Programmed") ?? "Unknown",
      ]);
      const all = await ctl(c, "gateway-api", "gateways", "-A");
      assert.ok(rows(all.stdout).some((r) => r[0] === ns && r[1] === "gw"), all.stdout);

      const routes = await ctl(c, "gateway-api", "httproutes", "-n", ns);
      assert.equal(routes.code, 0, routes.stderr);
      assert.deepEqual(rows(routes.stdout)[0].slice(0, 5), [
        "web",
        "web.example.test",
        "gw",
        cond(parent.conditions, "Accepted"),
        cond(parent.conditions, "ResolvedRefs"),
      ]);
      assert.equal(cond(parent.conditions, "Accepted"), "True");

      const generated = await until("the generated ProxyRoute", async () => {
        const d = await ctl(c, "gateway-api", "describe-gateway", "gw", "-n", ns, "-o", "json");
        const doc = JSON.parse(d.stdout) as {
          generated: { kind: string; source: string }[];
          routes: { name: string }[];
          listeners: { name: string; attachedRoutes: number }[];
        };
        return doc.generated.some((g) => g.kind === "ProxyRoute") ? doc : undefined;
      });
      assert.deepEqual(generated.routes.map((r) => r.name), ["web"]);
      assert.deepEqual(generated.generated.map((g) => `${g.kind} ${g.source}`), [
        `ProxyGateway Gateway/${ns}/gw`,
        `ProxyRoute HTTPRoute/${ns}/web`,
      ]);
      const text = await ctl(c, "gateway-api", "describe-gateway", "gw", "-n", ns);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`^Class:\\s+${className}$`, "m"));
      assert.match(text.stdout, /^Addresses:\s+127\.0\.0\.1 \(IPAddress\)$/m);
      assert.match(
        text.stdout,
        new RegExp(`^ {2}http: HTTP port ${port}, hostname \\*, attached routes 1$`, "m"),
      );
      assert.match(
        text.stdout,
        new RegExp(`^ {2}HTTPRoute ${ns}/web \\(hostnames: web\\.example\\.test\\)$`, "m"),
      );

      const missing = await ctl(c, "gateway-api", "describe-gateway", "nope", "-n", ns);
      assert.equal(missing.code, 1);
      assert.equal(
        missing.stderr.trim(),
        `novaedge ctl: Gateway nope not found in namespace ${ns}: list them with \`novaedge ctl gateway-api gateways -n ${ns}\``,
      );
    } catch (err) {
      console.error(`----- controller log -----\n${controller.log().slice(-6000)}`);
      throw err;
    } finally {
      await controller.stop();
      await c.kubectl(["delete", "gatewayclass", className, "--wait=false"], { check: false });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);
