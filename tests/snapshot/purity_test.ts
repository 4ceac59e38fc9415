/**
 * The builder and translators are pure: this walks the real module graph of
 * src/snapshot/mod.ts and src/translate/mod.ts (via `deno info --json`) and
 * fails if any module reached imports @kubernetes/client-node or touches Deno
 * I/O (files, network, env, processes, clock-dependent APIs are not allowed).
 */
import assert from "node:assert/strict";

const ROOTS = ["src/snapshot/mod.ts", "src/snapshot/codec.ts", "src/translate/mod.ts"];
const FORBIDDEN = [
  /\bDeno\.(read|write|open|create|remove|rename|mkdir|stat|lstat|readDir|watchFs|connect|listen|serve|Command|env|run|exit|cwd|chdir|makeTemp|copyFile|symlink|truncate|utime|resolveDns|dlopen)\w*/,
  /\bDate\.now\(|\bnew Date\(\)/,
  /\bperformance\.now\(/,
  /\bMath\.random\(/,
  /from\s+["']node:(fs|net\/|http|https|child_process|os|dgram)["']/,
];

interface Info {
  modules: {
    kind?: string;
    specifier: string;
    npmPackage?: string;
    dependencies?: { specifier: string }[];
  }[];
}

async function graph(root: string): Promise<Info> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: new URL("../../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

for (const root of ROOTS) {
  Deno.test(`purity: ${root} reaches no Kubernetes client and no Deno I/O`, async () => {
    const info = await graph(root);
    const reached = info.modules.map((m) => m.npmPackage ?? m.specifier);
    assert.ok(
      !reached.some((p) => p.includes("@kubernetes/client-node")),
      `reached: ${reached.join(", ")}`,
    );
    const offenders: string[] = [];
    let local = 0;
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file://")) continue;
      local++;
      for (const d of m.dependencies ?? []) {
        if (d.specifier.includes("@kubernetes/client-node")) {
          offenders.push(`${m.specifier} imports ${d.specifier}`);
        }
      }
      const text = await Deno.readTextFile(new URL(m.specifier));
      for (const re of FORBIDDEN) {
        const hit = text.match(re);
        if (hit) offenders.push(`${m.specifier}: ${hit[0]}`);
      }
    }
    assert.ok(local >= 2, "module graph looks empty");
    assert.deepEqual(offenders, []);
  });
}

Deno.test("purity: the forbidden patterns do catch I/O", () => {
  const samples = ['await Deno.readTextFile("x")', "import k from 'node:fs'", "Date.now()"];
  for (const s of samples) assert.ok(FORBIDDEN.some((re) => re.test(s)), s);
});
