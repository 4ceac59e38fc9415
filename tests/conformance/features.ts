/**
 * What `deno task conformance` runs and advertises.
 *
 * The GatewayClass `status.supportedFeatures` is how the suite learns what to
 * test, so it lists exactly the features whose tests pass against NovaEdge
 * (CONFORMANT_FEATURES); `--features=translated` advertises everything the
 * translator carries through instead, to see what still fails.
 */
import {
  CONFORMANT_FEATURES as CONFORMANT,
  TRANSLATED_FEATURES,
} from "../../src/translate/gateway_api/mod.ts";

/** The gateway conformance profiles of Gateway API v1.6.1, in report order. */
export const GATEWAY_PROFILES = [
  "GATEWAY-HTTP",
  "GATEWAY-GRPC",
  "GATEWAY-TLS",
  "GATEWAY-TCP",
  "GATEWAY-UDP",
] as const;

/**
 * Features whose conformance tests all pass (v1.6.1): the controller's default
 * GatewayClass `status.supportedFeatures` and this run's default advertised list
 * (src/translate/gateway_api/gateway.ts says what is left out and why).
 */
export const CONFORMANT_FEATURES: readonly string[] = CONFORMANT;

/**
 * Core tests of a profile that cannot pass yet, with the reason. The suite runs a
 * profile's core tests whatever the GatewayClass advertises, so the default run
 * skips these (`--skip-tests`; the report shows them as skipped, never as passed).
 * `--skip-tests=` replaces the list; `--no-skip` runs them all.
 */
export const KNOWN_FAILING_TESTS: Readonly<Record<string, string>> = {};

/**
 * The features to advertise for `--features=<spec>`: "conformant" (default),
 * "translated" (every feature the translator implements) or a comma-separated list.
 */
export function featuresFor(spec: string | undefined): string[] {
  if (spec === undefined || spec === "conformant") return [...CONFORMANT_FEATURES];
  if (spec === "translated") {
    return [...new Set([...CONFORMANT_FEATURES, ...TRANSLATED_FEATURES])].sort();
  }
  const list = spec.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) {
    throw new Error(
      `--features=${spec}: expected "conformant", "translated" or a comma-separated feature list`,
    );
  }
  return list;
}

/** The profiles for `--profiles=<comma list>` (default: every gateway profile). */
export function profilesFor(spec: string | undefined): string[] {
  if (spec === undefined || spec === "") return [...GATEWAY_PROFILES];
  const list = spec.split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "");
  const bad = list.filter((p) => !(GATEWAY_PROFILES as readonly string[]).includes(p));
  if (bad.length) {
    throw new Error(
      `--profiles=${spec}: unknown profile(s) ${bad.join(", ")} (known: ${
        GATEWAY_PROFILES.join(", ")
      })`,
    );
  }
  return list;
}
