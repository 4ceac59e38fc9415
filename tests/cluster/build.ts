/**
 * Builds and caches every binary the local cluster needs, at pinned versions,
 * from the Go module proxy (and Debian for etcd/iproute2/openssl).
 *
 * Kubernetes is not `go install`-able (k8s.io/kubernetes requires its staging
 * modules at v0.0.0 via local replaces), so we generate a small wrapper module
 * that requires k8s.io/kubernetes and replaces each staging module with its
 * published v0.X.Y; the few staging modules that are not published and not
 * needed (code-generator, sample-*) are replaced by empty local stubs.
 */
import {
  APT_PACKAGES,
  CACHE_ROOT,
  COREDNS_BIN,
  COREDNS_DIR,
  COREDNS_VERSION,
  ECHO_BIN,
  ECHO_DIR,
  GATEWAY_API_VERSION,
  GO_BIN,
  GO_BUILDCACHE,
  GO_MODCACHE,
  K8S_BIN_DIR,
  K8S_BINARIES,
  K8S_DIR,
  K8S_VERSION,
} from "./config.ts";
import { exists, run } from "./exec.ts";

const STAMP = ".novaedge-built";

/** Environment for every Go command: local toolchain, static, caches under ~/.cache/novaedge. */
export function goEnv(): Record<string, string> {
  return {
    GOTOOLCHAIN: "local",
    CGO_ENABLED: "0",
    GOMODCACHE: GO_MODCACHE,
    GOCACHE: GO_BUILDCACHE,
    GOFLAGS: "-mod=mod",
    GOTELEMETRY: "off",
    PATH: `${GO_BIN.replace(/\/go$/, "")}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    HOME: Deno.env.get("HOME") ?? "/root",
  };
}

function log(msg: string): void {
  console.error(`[cluster build] ${msg}`);
}

/** Fail with a message saying what to install when the Go toolchain is missing or too old. */
async function checkGo(): Promise<void> {
  if (!exists(GO_BIN)) {
    throw new Error(
      `Go toolchain not found at ${GO_BIN}. Install Go 1.24 or newer (https://go.dev/dl/, ` +
        `unpacked to /usr/local/go) or set NOVAEDGE_GO to the go binary.`,
    );
  }
  const v = (await run(GO_BIN, ["env", "GOVERSION"], { env: goEnv() })).stdout.trim();
  const m = /^go1\.(\d+)/.exec(v);
  if (!m || Number(m[1]) < 24) {
    throw new Error(`${GO_BIN} is ${v}; Kubernetes ${K8S_VERSION} needs Go 1.24 or newer.`);
  }
}

/** Install the Debian packages we need when their files are missing (apt-get update once). */
export async function ensureAptPackages(): Promise<void> {
  const missing = [
    ...new Set(Object.entries(APT_PACKAGES).filter(([f]) => !exists(f)).map(([, p]) => p)),
  ];
  if (missing.length === 0) return;
  if (!exists("/usr/bin/apt-get")) {
    throw new Error(`missing Debian packages ${missing.join(", ")} and no apt-get to install them`);
  }
  log(`installing Debian packages: ${missing.join(" ")}`);
  const env = { DEBIAN_FRONTEND: "noninteractive", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };
  await run("apt-get", ["update", "-qq"], { env });
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env });
  // Debian's etcd-server package starts a system etcd on 2379; we run our own.
  if (missing.includes("etcd-server")) {
    await run("systemctl", ["disable", "--now", "etcd"], { check: false }).catch(() => undefined);
  }
}

function isBuilt(dir: string, stamp: string, files: string[]): boolean {
  try {
    return Deno.readTextFileSync(`${dir}/${STAMP}`) === stamp && files.every(exists);
  } catch {
    return false;
  }
}

/** Exclusive file lock so parallel test workers never build the same thing twice. */
async function withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(CACHE_ROOT, { recursive: true });
  const f = await Deno.open(`${CACHE_ROOT}/${name}.lock`, { create: true, write: true });
  try {
    await f.lock(true);
    return await fn();
  } finally {
    f.close();
  }
}

/** Read the staging module names from Kubernetes' own go.mod (`=> ./staging/src/...`). */
async function stagingModules(version: string): Promise<string[]> {
  const r = await run(GO_BIN, ["mod", "download", "-json", `k8s.io/kubernetes@${version}`], {
    env: goEnv(),
    cwd: "/",
  });
  const info = JSON.parse(r.stdout) as { GoMod: string };
  const gomod = await Deno.readTextFile(info.GoMod);
  return [...gomod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s*=>\s*\.\/staging\/src\//gm)].map((m) => m[1]);
}

async function moduleVersionExists(mod: string, version: string): Promise<boolean> {
  const r = await run(GO_BIN, ["list", "-m", "-versions", mod], {
    env: goEnv(),
    cwd: "/",
    check: false,
  });
  return r.code === 0 && r.stdout.trim().split(/\s+/).includes(version);
}

/** Build kube-apiserver, kube-controller-manager and kubectl into K8S_BIN_DIR. */
export async function buildKubernetes(): Promise<void> {
  const files = K8S_BINARIES.map((b) => `${K8S_BIN_DIR}/${b}`);
  if (isBuilt(K8S_BIN_DIR, K8S_VERSION, files)) return;
  const started = Date.now();
  log(`building Kubernetes ${K8S_VERSION} (${K8S_BINARIES.join(", ")}) — cold builds take minutes`);
  const src = `${K8S_DIR}/src`;
  await Deno.mkdir(src, { recursive: true });
  await Deno.mkdir(K8S_BIN_DIR, { recursive: true });
  const minor = K8S_VERSION.replace(/^v1\./, "v0.");
  const lines: string[] = [];
  for (const mod of await stagingModules(K8S_VERSION)) {
    if (await moduleVersionExists(mod, minor)) {
      lines.push(`\t${mod} => ${mod} ${minor}`);
    } else {
      // Not published at this version and not needed by the binaries we build.
      const stub = `stub/${mod.replace("k8s.io/", "")}`;
      await Deno.mkdir(`${src}/${stub}`, { recursive: true });
      await Deno.writeTextFile(`${src}/${stub}/go.mod`, `module ${mod}\n\ngo 1.24.0\n`);
      lines.push(`\t${mod} => ./${stub}`);
    }
  }
  await Deno.writeTextFile(
    `${src}/go.mod`,
    `module novaedge.local/k8sbuild\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes ${K8S_VERSION}\n\n` +
      `replace (\n${lines.join("\n")}\n)\n`,
  );
  await Deno.writeTextFile(
    `${src}/tools.go`,
    `//go:build tools\n\npackage k8sbuild\n\nimport (\n` +
      `\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n` +
      `\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n` +
      `\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n`,
  );
  log("resolving modules (go mod tidy)");
  await run(GO_BIN, ["mod", "tidy"], { env: goEnv(), cwd: src });
  const minorNum = K8S_VERSION.split(".")[1];
  const ldflags = [
    "-s",
    "-w",
    `-X k8s.io/component-base/version.gitVersion=${K8S_VERSION}`,
    `-X k8s.io/component-base/version.gitMajor=1`,
    `-X k8s.io/component-base/version.gitMinor=${minorNum}`,
    `-X k8s.io/component-base/version.gitTreeState=clean`,
  ].join(" ");
  log("compiling (go build)");
  await run(GO_BIN, [
    "build",
    "-trimpath",
    "-ldflags",
    ldflags,
    "-o",
    `${K8S_BIN_DIR}/`,
    ...K8S_BINARIES.map((b) => `k8s.io/kubernetes/cmd/${b}`),
  ], { env: goEnv(), cwd: src, inherit: true });
  await Deno.writeTextFile(`${K8S_BIN_DIR}/${STAMP}`, K8S_VERSION);
  log(`Kubernetes ${K8S_VERSION} built in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** Build the Gateway API conformance echo server (echo-basic) into ECHO_BIN. */
export async function buildEchoBasic(): Promise<void> {
  const bindir = `${ECHO_DIR}/bin`;
  if (isBuilt(bindir, GATEWAY_API_VERSION, [ECHO_BIN])) return;
  const started = Date.now();
  log(`building echo-basic ${GATEWAY_API_VERSION}`);
  const src = `${ECHO_DIR}/src`;
  await Deno.mkdir(src, { recursive: true });
  await Deno.mkdir(bindir, { recursive: true });
  // The conformance module replaces sigs.k8s.io/gateway-api with "../"; pin the release instead.
  await Deno.writeTextFile(
    `${src}/go.mod`,
    `module novaedge.local/echobuild\n\ngo 1.26.0\n\n` +
      `require sigs.k8s.io/gateway-api/conformance ${GATEWAY_API_VERSION}\n\n` +
      `replace sigs.k8s.io/gateway-api => sigs.k8s.io/gateway-api ${GATEWAY_API_VERSION}\n`,
  );
  await run(GO_BIN, [
    "build",
    "-trimpath",
    "-ldflags",
    "-s -w",
    "-o",
    ECHO_BIN,
    "sigs.k8s.io/gateway-api/conformance/echo-basic",
  ], { env: goEnv(), cwd: src, inherit: true });
  await Deno.writeTextFile(`${bindir}/${STAMP}`, GATEWAY_API_VERSION);
  log(`echo-basic built in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** Build CoreDNS (the conformance suite's UDP backend image) into COREDNS_BIN. */
export async function buildCoreDNS(): Promise<void> {
  const bindir = `${COREDNS_DIR}/bin`;
  if (isBuilt(bindir, COREDNS_VERSION, [COREDNS_BIN])) return;
  const started = Date.now();
  log(`building CoreDNS ${COREDNS_VERSION}`);
  const src = `${COREDNS_DIR}/src`;
  await Deno.mkdir(src, { recursive: true });
  await Deno.mkdir(bindir, { recursive: true });
  await Deno.writeTextFile(
    `${src}/go.mod`,
    `module novaedge.local/corednsbuild\n\ngo 1.24.0\n\nrequire github.com/coredns/coredns ${COREDNS_VERSION}\n`,
  );
  await run(GO_BIN, [
    "build",
    "-trimpath",
    "-ldflags",
    "-s -w",
    "-o",
    COREDNS_BIN,
    "github.com/coredns/coredns",
  ], { env: goEnv(), cwd: src, inherit: true });
  await Deno.writeTextFile(`${bindir}/${STAMP}`, COREDNS_VERSION);
  log(`CoreDNS built in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** Directory of the Gateway API module (CRDs live in config/crd/{standard,experimental}). */
export async function gatewayApiDir(): Promise<string> {
  const r = await run(GO_BIN, [
    "mod",
    "download",
    "-json",
    `sigs.k8s.io/gateway-api@${GATEWAY_API_VERSION}`,
  ], {
    env: goEnv(),
    cwd: "/",
  });
  return (JSON.parse(r.stdout) as { Dir: string }).Dir;
}

/** Build everything that is missing; a no-op (well under a second) when warm. */
export async function ensureBuilt(): Promise<void> {
  await withLock("build", async () => {
    await ensureAptPackages();
    const k8sReady = isBuilt(
      K8S_BIN_DIR,
      K8S_VERSION,
      K8S_BINARIES.map((b) => `${K8S_BIN_DIR}/${b}`),
    );
    const echoReady = isBuilt(`${ECHO_DIR}/bin`, GATEWAY_API_VERSION, [ECHO_BIN]);
    const dnsReady = isBuilt(`${COREDNS_DIR}/bin`, COREDNS_VERSION, [COREDNS_BIN]);
    if (k8sReady && echoReady && dnsReady) return;
    await checkGo();
    await buildEchoBasic();
    await buildKubernetes();
    await buildCoreDNS();
  });
}
