/**
 * The report parser lives in src/ctl/conformance_report.ts (`novaedge ctl conformance`
 * prints the same table); the conformance runner and gen_table import it from here.
 */
export * from "../../src/ctl/conformance_report.ts";
