/** The description of one CRD: names, scope, columns and its spec/status schemas. */
import type { OpenApi, Schema } from "./schema.ts";

export interface PrinterColumn {
  readonly name: string;
  readonly type: "string" | "integer" | "date" | "boolean" | "number";
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

export interface CrdDef<Spec> {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly scope: "Namespaced" | "Cluster";
  readonly description: string;
  readonly spec: Schema<Spec>;
  /** Extra status members beyond observedGeneration + conditions. */
  readonly statusExtra: Readonly<Record<string, OpenApi>>;
  readonly printerColumns: readonly PrinterColumn[];
}
