import assert from "node:assert/strict";
import { type FlagSpec, parseFlags, parseRole, UsageError } from "../../src/cli/flags.ts";

const specs: FlagSpec[] = [
  { name: "dir", kind: "string", help: "a dir" },
  { name: "n", kind: "number", help: "a number", default: 3 },
  { name: "on", kind: "boolean", help: "a switch" },
  { name: "tag", kind: "string", help: "tags", repeat: true },
];

Deno.test("parseFlags reads --k v, --k=v, booleans, repeats and defaults", () => {
  const p = parseFlags(["--dir", "a", "--on", "--tag=x", "--tag", "y", "pos"], specs);
  assert.equal(p.flags.dir, "a");
  assert.equal(p.flags.n, 3);
  assert.equal(p.flags.on, true);
  assert.deepEqual(p.flags.tag, ["x", "y"]);
  assert.deepEqual(p.positionals, ["pos"]);
});

Deno.test("parseFlags rejects unknown flags, missing values and bad numbers", () => {
  assert.throws(() => parseFlags(["--nope"], specs), UsageError);
  assert.throws(() => parseFlags(["-x"], specs), /unknown flag "-x"/);
  assert.throws(() => parseFlags(["--dir"], specs), /--dir needs a value/);
  assert.throws(() => parseFlags(["--n", "ten"], specs), /takes a number/);
  assert.throws(() => parseFlags(["--on=maybe"], specs), /true or false/);
});

Deno.test("parseRole attaches usage to errors and rejects positionals", () => {
  const spec = { name: "demo", summary: "demo role", flags: specs };
  try {
    parseRole(["stray"], spec);
    assert.fail("expected a UsageError");
  } catch (err) {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /unexpected argument "stray"/);
    assert.match(err.usage ?? "", /usage: novaedge demo/);
  }
});
