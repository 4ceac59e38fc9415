/**
 * `deno task conformance`: the official Gateway API conformance suite (v1.6.1,
 * every gateway profile: HTTP, GRPC, TLS, TCP, UDP) against NovaEdge on the
 * local cluster.
 *
 * 1. builds (once, cached) the suite's test binary (build.ts);
 * 2. brings up the local cluster (tests/cluster; stopped again afterwards if
 *    this run started it) and creates the GatewayClass `novaedge`;
 * 3. starts `novaedge controller` and one `novaedge agent` as host processes;
 *    the controller gives each Gateway its own loopback IP from
 *    127.0.<cluster id + 1>.0/24 and binds its listeners there, so the suite
 *    (on this host) reaches every Gateway at the `status.addresses` it reads;
 * 4. runs the suite with a time bound, writes the report (report.yaml for a
 *    full default run, last-report[-<id>].yaml otherwise) and the suite's output
 *    (last-run[-<id>].log), and prints pass/fail/skip counts per profile.
 *
 * Usage: deno task conformance [--timeout-minutes=N] [--keep-logs]
 *        [--profiles=GATEWAY-HTTP,GATEWAY-TLS,...]  (default: all five)
 *        [--features=conformant|translated|A,B,...]  (advertised supportedFeatures;
 *                        default: the features that pass, features.ts)
 *        [--extended]   (= --features=translated)
 *        [--run-test=NAME] [--skip-tests=A,B | --no-skip] [--address-pool=A-B] [--report=PATH]
 *        (default skips KNOWN_FAILING_TESTS, features.ts)
 */
import { parse as parseYaml } from "yaml";
import { withCluster } from "../cluster/mod.ts";
import { CLUSTER_ID, GATEWAY_API_VERSION } from "../cluster/config.ts";
import { buildConformance } from "./build.ts";
import { agentCredentials, freePort, NovaProc, until } from "../controller/_procs.ts";
import { summarize } from "./report.ts";
import { featuresFor, KNOWN_FAILING_TESTS, profilesFor } from "./features.ts";

const HERE = new URL(".", import.meta.url).pathname;
/** The report of the latest run (README's table is generated from it). */
export const REPORT_PATH = `${HERE}report.yaml`;
/** Logs (and focused runs' reports) carry the cluster id, so runs on separate clusters coexist. */
const SUFFIX = CLUSTER_ID ? `-${CLUSTER_ID}` : "";
const RUN_LOG = `${HERE}last-run${SUFFIX}.log`;
const GATEWAY_CLASS = "novaedge";
const CONTROLLER_NAME = "novaedge.io/gateway-controller";
/** Where the Gateways of a run live (all on loopback: Linux routes all of 127/8 to lo). */
export interface RunAddresses {
  /** One IP per Gateway without an address of its own (the controller's pool). */
  readonly pool: string;
  /** A static `spec.addresses` IP agents can serve (GatewayStaticAddresses' usable one). */
  readonly usable: string;
  /** An IP no agent serves (TEST-NET-1, RFC 5737): GatewayStaticAddresses' unusable one. */
  readonly unusable: string;
}

/**
 * Each cluster instance gets its own /24, 127.0.<id+1>.0 (id = NOVAEDGE_CLUSTER_ID
 * or 0), so runs against separate clusters never bind each other's Gateway IPs:
 * .1-.250 is the pool, .253 the usable static address. `--address-pool=A-B`
 * overrides the pool.
 */
export function runAddresses(clusterId: string, poolOverride?: string): RunAddresses {
  const net = `127.0.${Number(clusterId || "0") + 1}`;
  if (poolOverride !== undefined && !/^\d+\.\d+\.\d+\.\d+-\d+\.\d+\.\d+\.\d+$/.test(poolOverride)) {
    throw new Error(
      `--address-pool=${poolOverride}: expected an IPv4 range like 127.0.9.1-127.0.9.250`,
    );
  }
  return {
    pool: poolOverride ?? `${net}.1-${net}.250`,
    usable: `${net}.253`,
    unusable: "192.0.2.1",
  };
}

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
  const addrs = runAddresses(CLUSTER_ID, arg("address-pool"));
  const profiles = profilesFor(arg("profiles"));
  const features = featuresFor(Deno.args.includes("--extended") ? "translated" : arg("features"));
  const runTest = arg("run-test");
  // Only a full default run (every profile, the conformant features) replaces the
  // committed report; focused or exploratory runs write last-report[-<id>].yaml.
  const full = runTest === undefined && arg("profiles") === undefined &&
    arg("features") === undefined && !Deno.args.includes("--extended");
  const reportPath = arg("report") ?? (full ? REPORT_PATH : `${HERE}last-report${SUFFIX}.yaml`);
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
            `--gateway-address-pool=${addrs.pool}`,
            `--gateway-usable-address=${addrs.usable}`,
            "--bind-gateway-addresses",
            `--gateway-supported-feature=${features.join(",")}`,
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
        `--conformance-profiles=${profiles.join(",")}`,
        `--report-output=${reportPath}`,
        "--organization=novaedge",
        "--project=novaedge",
        "--url=https://github.com/novaedge/novaedge",
        `--version=${await version()}`,
        "--contact=novaedge maintainers",
        "--cleanup-base-resources=true",
        `--usable-address=${addrs.usable}`,
        `--unusable-address=${addrs.unusable}`,
      ];
      const skip = arg("skip-tests") ??
        (Deno.args.includes("--no-skip") ? "" : Object.keys(KNOWN_FAILING_TESTS).join(","));
      if (skip) {
        args.push(`--skip-tests=${skip}`);
        console.error(`[conformance] skipping: ${skip}`);
      }
      if (runTest) args.push(`--run-test=${runTest}`);
      console.error(
        `[conformance] running the suite ${GATEWAY_API_VERSION}: ${profiles.join(", ")}; ` +
          `advertising ${features.length} feature(s); pool ${addrs.pool} (≤ ${timeoutMin} min)`,
      );
      // A report left by an earlier run must not pass for this run's.
      await Deno.remove(reportPath).catch(() => {});
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
      // Every test's outcome from `go test -v` (the suite's report is compiled before
      // its parallel tests finish, so it leaves them out; this count does not).
      const outcomes = new Map<string, string>();
      const pump = async (r: ReadableStream<Uint8Array>) => {
        const dec = new TextDecoder();
        let rest = "";
        for await (const chunk of r) {
          await log.write(chunk);
          const lines = (rest + dec.decode(chunk, { stream: true })).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) {
            const m = /^ {4}--- (PASS|FAIL|SKIP): TestConformance\/([A-Za-z0-9]+) /.exec(line);
            if (m) outcomes.set(m[2], m[1]);
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
        reportText = await Deno.readTextFile(reportPath);
      } catch {
        console.error(`[conformance] no report written at ${reportPath}`);
      }
      if (reportText) {
        // Kept as `deno fmt` (checked in CI) formats YAML.
        await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", reportPath] }).output();
        const s = summarize(parseYaml(reportText));
        for (const p of s) {
          console.log(
            `${p.profile} ${p.level}: ${p.result} — passed ${p.passed}, failed ${p.failed}, ` +
              `skipped ${p.skipped}`,
          );
          if (p.failedTests.length) console.log(`  failed: ${p.failedTests.join(", ")}`);
        }
      }
      const by = (o: string) => [...outcomes].filter(([, v]) => v === o).map(([k]) => k).sort();
      console.log(
        `all tests (go test -v): passed ${by("PASS").length}, failed ${by("FAIL").length}, ` +
          `skipped ${by("SKIP").length}`,
      );
      if (by("FAIL").length) console.log(`  failed: ${by("FAIL").join(", ")}`);
      return status.code === 0 ? 0 : 1;
    } finally {
      for (const p of procs) {
        await p.stop();
        if (Deno.args.includes("--keep-logs")) {
          await Deno.copyFile(p.logPath, `${HERE}last-${p.name}${SUFFIX}.log`).catch(() => {});
        }
      }
      await c.kubectl(["delete", "gatewayclass", GATEWAY_CLASS, "--wait=false"], { check: false });
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }, { namespacePrefix: "conformance" });
}

if (import.meta.main) Deno.exit(await main());
