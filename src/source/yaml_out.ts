/**
 * YAML as NovaEdge writes it (snapshot dump, `ctl -o yaml`, generated
 * manifests, golden files). Kubernetes tools read YAML 1.1, where `yes`, `on`
 * or `y` are booleans, so strings like those must be quoted or `kubectl apply`
 * of our output turns a header value "yes" into `true`. Writing with the 1.1
 * schema quotes them. No line folding, no anchors: output is diffable.
 */
import { stringify } from "yaml";

export function toYaml(value: unknown): string {
  return stringify(value, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false });
}
