/**
 * `novaedge ctl conformance`: the per-profile results of the latest Gateway API
 * conformance report (the YAML `deno task conformance` writes), as a table or
 * as data.
 */
import { parse as parseYaml } from "yaml";
import { summarize } from "./conformance_report.ts";
import type { ProfileLevel } from "./conformance_report.ts";
import { CtlError } from "./kube.ts";
import { renderTable } from "./output.ts";

/** Where `deno task conformance` writes its report (relative to the repository root). */
export const DEFAULT_REPORT = "tests/conformance/report.yaml";

export interface ConformanceView {
  readonly gatewayAPIVersion: string;
  readonly gatewayAPIChannel: string;
  readonly implementationVersion: string;
  readonly date: string;
  readonly profiles: ProfileLevel[];
}

const str = (v: unknown): string => (typeof v === "string" ? v : "?");

/** The view of a parsed report. */
export function conformanceView(report: unknown): ConformanceView {
  const r = (typeof report === "object" && report !== null ? report : {}) as Record<
    string,
    unknown
  >;
  const impl =
    (typeof r.implementation === "object" && r.implementation !== null
      ? r.implementation
      : {}) as Record<string, unknown>;
  return {
    gatewayAPIVersion: str(r.gatewayAPIVersion),
    gatewayAPIChannel: str(r.gatewayAPIChannel),
    implementationVersion: str(impl.version),
    date: str(r.date),
    profiles: summarize(report),
  };
}

export function renderConformance(v: ConformanceView): string {
  const head = `Gateway API ${v.gatewayAPIVersion} (${v.gatewayAPIChannel} channel), ` +
    `NovaEdge ${v.implementationVersion}, run ${v.date}`;
  if (v.profiles.length === 0) return `${head}\nthe report has no profile results`;
  return `${head}\n\n${
    renderTable({
      headers: ["PROFILE", "LEVEL", "RESULT", "PASSED", "FAILED", "SKIPPED", "FAILED TESTS"],
      rows: v.profiles.map((p) => [
        p.profile,
        p.level,
        p.result,
        String(p.passed),
        String(p.failed),
        String(p.skipped),
        p.failedTests.join(",") || "<none>",
      ]),
    })
  }`;
}

/** Read and parse a report file; CtlError saying what to do when it is missing or not YAML. */
export async function readReport(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new CtlError(
        `no conformance report at ${path}: run \`deno task conformance\` first, or pass --report PATH`,
      );
    }
    throw new CtlError(`cannot read the conformance report ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new CtlError(
      `${path} is not valid YAML (${
        (err as Error).message.split("\n")[0]
      }): pass a ConformanceReport written by the suite's --report-output`,
    );
  }
  const kind = (doc as { kind?: unknown } | null)?.kind;
  if (kind !== "ConformanceReport") {
    throw new CtlError(
      `${path} is not a ConformanceReport (kind: ${
        JSON.stringify(kind ?? null)
      }): pass a report written by the suite's --report-output`,
    );
  }
  return doc;
}
