/**
 * `deno task conformance`: the official Gateway API conformance suite
 * (v1.6.1, GATEWAY-HTTP profile) against NovaEdge on the local cluster.
 *
 * 1. builds (once, cached) the suite's test binary (build.ts);
 * 2. brings up the local cluster (tests/cluster; stopped again afterwards if
 *    this run started it) and creates the GatewayClass `novaedge`;
 * 3. starts `novaedge controller` and one `novaedge agent` as host processes;
 *    the controller gives each Gateway its own loopback IP from 127.0.1.0/24
 *    and binds its listeners there, so the suite (on this host) reaches every
 *    Gateway at the `status.addresses` it reads;
 * 4. runs the suite with a time bound, writes the report to
 *    tests/conformance/report.yaml and the suite's output to
 *    tests/conformance/last-run.log, and prints pass/fail/skip counts.
 *
 * Usage: deno task conformance [--timeout-minutes=N] [--run-test=NAME] [--keep-logs]
 *        [--extended]   (the GatewayClass advertises every feature the translator
 *                        implements, so the suite runs their extended tests too)
 */
import { parse as parseYaml } from "yaml";
import { withCluster } from "../cluster/mod.ts";
import { GATEWAY_API_VERSION } from "../cluster/config.ts";
import { buildConformance } from "./build.ts";
import { agentCredentials, freePort, NovaProc, until } from "../controller/_procs.ts";
import { summarize } from "./report.ts";
import { TRANSLATED_FEATURES } from "../../src/translate/gateway_api/mod.ts";

const HERE = new URL(".", import.meta.url).pathname;
/** The report of the latest run (README's table is generated from it). */
export const REPORT_PATH = `${HERE}report.yaml`;
const RUN_LOG = `${HERE}last-run.log`;
const GATEWAY_CLASS = "novaedge";
const CONTROLLER_NAME = "novaedge.io/gateway-controller";
/** One IP per Gateway, all on loopback (Linux routes all of 127/8 to lo). */
const ADDRESS_POOL = "127.0.1.1-127.0.1.254";

function arg(name: string): string | undefined {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a?.slice(name.length + 3);
}

async function version(): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["describe", "--always", "--dirty"],
    cwd: HERE,
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : "dev";
}

async function main(): Promise<number> {
  const timeoutMin = Number(arg("timeout-minutes") ?? "45");
  const bin = await buildConformance();
  return await withCluster(async (c) => {
    const dir = await Deno.makeTempDir({ prefix: "novaedge-conformance-" });
    const procs: NovaProc[] = [];
    try {
      await c.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ${GATEWAY_CLASS}}
spec: {controllerName: ${CONTROLLER_NAME}}
`);
      const grpcPort = freePort();
      procs.push(
        new NovaProc(
          "controller",
          [
            "controller",
            `--kubeconfig=${c.kubeconfigPath}`,
            `--namespace=${c.namespace}`,
            `--listen=127.0.0.1:${grpcPort}`,
            `--admin-address=127.0.0.1:${freePort()}`,
            `--id=conformance`,
            `--lease-name=novaedge-conformance`,
            `--gateway-controller-name=${CONTROLLER_NAME}`,
            `--gateway-address-pool=${ADDRESS_POOL}`,
            "--bind-gateway-addresses",
            ...(Deno.args.includes("--extended")
              ? [`--gateway-supported-feature=${TRANSLATED_FEATURES.join(",")}`]
              : []),
          ],
          {},
          dir,
        ),
      );
      await agentCredentials(c, dir, "6h");
      // One agent: the agents run on this one host, and every agent serves every
      // Gateway (no ProxyVIP), so one per simulated node would only share the sockets.
      procs.push(
        new NovaProc(
          "agent",
          [
            "agent",
            `--controller=127.0.0.1:${grpcPort}`,
            `--node=${c.nodes[0].name}`,
            `--state-dir=${dir}/state`,
            `--admin-address=127.0.0.1:${freePort()}`,
            `--controller-ca=${dir}/ca.crt`,
            `--token-file=${dir}/token`,
            // One data-plane worker: TLS listeners are bound without SO_REUSEPORT
            // (node:tls), so a second worker's bind of a :443 listener fails.
            "--workers=1",
          ],
          {},
          dir,
        ),
      );
      await until("GatewayClass novaedge Accepted", async () => {
        const r = await c.kubectl(["get", "gatewayclass", GATEWAY_CLASS, "-o", "json"]);
        const gc = JSON.parse(r.stdout) as {
          status?: { conditions?: { type: string; status: string }[] };
        };
        return gc.status?.conditions?.some((k) => k.type === "Accepted" && k.status === "True");
      });

      const args = [
        "-test.run=^TestConformance$",
        "-test.v",
        `-test.timeout=${timeoutMin}m`,
        `--kubeconfig=${c.kubeconfigPath}`,
        `--gateway-class=${GATEWAY_CLASS}`,
        "--conformance-profiles=GATEWAY-HTTP",
        `--report-output=${REPORT_PATH}`,
        "--organization=novaedge",
        "--project=novaedge",
        "--url=https://github.com/novaedge/novaedge",
        `--version=${await version()}`,
        "--contact=novaedge maintainers",
        "--cleanup-base-resources=true",
      ];
      const runTest = arg("run-test");
      if (runTest) args.push(`--run-test=${runTest}`);
      console.error(`[conformance] running the suite ${GATEWAY_API_VERSION} (≤ ${timeoutMin} min)`);
      const log = await Deno.open(RUN_LOG, { write: true, create: true, truncate: true });
      const child = new Deno.Command(bin, {
        args,
        cwd: dir,
        env: { KUBECONFIG: c.kubeconfigPath },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      // A hard bound over the suite's own timeout: kill it if it hangs past it.
      const kill = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, (timeoutMin + 2) * 60_000);
      const fails: string[] = [];
      const pump = async (r: ReadableStream<Uint8Array>) => {
        const dec = new TextDecoder();
        for await (const chunk of r) {
          await log.write(chunk);
          for (const line of dec.decode(chunk, { stream: true }).split("\n")) {
            const m = /--- FAIL: (\S+)/.exec(line);
            if (m) fails.push(m[1]);
          }
        }
      };
      await Promise.all([pump(child.stdout), pump(child.stderr)]);
      const status = await child.status;
      clearTimeout(kill);
      log.close();
      console.error(`[conformance] suite exited with ${status.code}; output in ${RUN_LOG}`);
      let reportText: string | undefined;
      try {
        reportText = await Deno.readTextFile(REPORT_PATH);
      } catch {
        console.error(`[conformance] no report written at ${REPORT_PATH}`);
      }
      if (reportText) {
        // Kept as `deno fmt` (checked in CI) formats YAML.
        await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", REPORT_PATH] }).output();
        const s = summarize(parseYaml(reportText));
        for (const p of s) {
          console.log(
            `${p.profile} ${p.level}: ${p.result} — passed ${p.passed}, failed ${p.failed}, ` +
              `skipped ${p.skipped}`,
          );
          if (p.failedTests.length) console.log(`  failed: ${p.failedTests.join(", ")}`);
        }
      }
      if (fails.length) console.log(`go test failures: ${[...new Set(fails)].join(", ")}`);
      return status.code === 0 ? 0 : 1;
    } finally {
      for (const p of procs) {
        await p.stop();
        if (Deno.args.includes("--keep-logs")) {
          await Deno.copyFile(p.logPath, `${HERE}last-${p.name}.log`).catch(() => {});
        }
      }
      await c.kubectl(["delete", "gatewayclass", GATEWAY_CLASS, "--wait=false"], { check: false });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }, { namespacePrefix: "conformance" });
}

if (import.meta.main) Deno.exit(await main());
