/**
 * Builds (once, cached) the official Gateway API conformance suite as a test
 * binary: `go test -c` of sigs.k8s.io/gateway-api/conformance at the pinned
 * release, from a small wrapper module (the conformance module replaces
 * sigs.k8s.io/gateway-api with "../"; the wrapper pins the release instead,
 * like tests/cluster/build.ts does for echo-basic).
 */
import { CACHE_ROOT, GATEWAY_API_VERSION, GO_BIN } from "../cluster/config.ts";
import { goEnv } from "../cluster/build.ts";
import { exists, run } from "../cluster/exec.ts";

/** Where the binary and its wrapper module live. */
export const CONFORMANCE_DIR = `${CACHE_ROOT}/conformance/${GATEWAY_API_VERSION}`;
/** The compiled conformance test binary. */
export const CONFORMANCE_BIN = `${CONFORMANCE_DIR}/bin/conformance.test`;

/** Build the conformance test binary unless the cached one is there; returns its path. */
export async function buildConformance(): Promise<string> {
  if (exists(CONFORMANCE_BIN)) return CONFORMANCE_BIN;
  const started = Date.now();
  console.error(`[conformance] building the suite ${GATEWAY_API_VERSION} (once)`);
  const src = `${CONFORMANCE_DIR}/src`;
  await Deno.mkdir(src, { recursive: true });
  await Deno.mkdir(`${CONFORMANCE_DIR}/bin`, { recursive: true });
  await Deno.writeTextFile(
    `${src}/go.mod`,
    `module novaedge.local/conformancebuild\n\ngo 1.26.0\n\n` +
      `require sigs.k8s.io/gateway-api/conformance ${GATEWAY_API_VERSION}\n\n` +
      `replace sigs.k8s.io/gateway-api => sigs.k8s.io/gateway-api ${GATEWAY_API_VERSION}\n`,
  );
  // `go test -c` of a dependency package: build to a temporary name, rename when complete.
  const tmp = `${CONFORMANCE_BIN}.tmp`;
  await run(GO_BIN, [
    "test",
    "-c",
    "-trimpath",
    "-ldflags",
    "-s -w",
    "-o",
    tmp,
    "sigs.k8s.io/gateway-api/conformance",
  ], { env: goEnv(), cwd: src, inherit: true });
  await Deno.rename(tmp, CONFORMANCE_BIN);
  console.error(
    `[conformance] suite built in ${
      Math.round((Date.now() - started) / 1000)
    }s: ${CONFORMANCE_BIN}`,
  );
  return CONFORMANCE_BIN;
}

if (import.meta.main) await buildConformance();
