import assert from "node:assert/strict";
import { parse } from "yaml";
import { toYaml } from "../../src/source/yaml_out.ts";

Deno.test("toYaml: strings YAML 1.1 readers (kubectl) would take for booleans or numbers stay strings", () => {
  const value = {
    header: "yes",
    flags: ["on", "off", "y", "n", "no", "true", "False"],
    port: "0x1F",
    time: "1:20",
    on: { nested: "Yes" },
    real: { b: true, n: 8080 },
  };
  const text = toYaml(value);
  // Read back the way a YAML 1.1 reader does: every string must still be a string.
  assert.deepEqual(parse(text, { version: "1.1" }), value);
  assert.match(text, /header: "yes"/);
  assert.match(text, /"on":/);
  assert.match(text, /b: true/);
});
