/** Test PKI made with the openssl CLI: one CA and leaf certificates it signs. */
import type { SecretEntry } from "../../src/snapshot/types.ts";

export interface Pki {
  dir: string;
  caPem: string;
  caFile: string;
  leaf(name: string, sans: string[], cn?: string): Promise<SecretEntry>;
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const o = await new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "piped" }).output();
  if (!o.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
  }
}

export async function makePki(): Promise<Pki> {
  const dir = await Deno.makeTempDir({ prefix: "novaedge-pki-" });
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=NovaEdge Test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  let serial = 1;
  return {
    dir,
    caPem: await Deno.readTextFile(`${dir}/ca.crt`),
    caFile: `${dir}/ca.crt`,
    async leaf(name: string, sans: string[], cn?: string): Promise<SecretEntry> {
      const base = `leaf-${serial}`;
      await run("openssl", [
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        `${base}.key`,
        "-out",
        `${base}.csr`,
        "-subj",
        `/CN=${cn ?? sans[0]}`,
      ], dir);
      await Deno.writeTextFile(
        `${dir}/${base}.ext`,
        `subjectAltName=${
          sans.map((s) =>
            /^[0-9.]+$/.test(s) ? `IP:${s}` : s.includes("://") ? `URI:${s}` : `DNS:${s}`
          ).join(",")
        }\n` +
          "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
      );
      await run("openssl", [
        "x509",
        "-req",
        "-in",
        `${base}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-set_serial",
        String(100 + serial),
        "-out",
        `${base}.crt`,
        "-days",
        "2",
        "-extfile",
        `${base}.ext`,
      ], dir);
      serial++;
      return {
        name,
        certPem: await Deno.readTextFile(`${dir}/${base}.crt`),
        keyPem: await Deno.readTextFile(`${dir}/${base}.key`),
        dnsNames: [],
        caPem: "",
      };
    },
  };
}

/** Runs curl; returns stdout, stderr (verbose) and the exit code. */
export async function curl(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const o = await new Deno.Command("curl", {
    args: ["-sS", "--max-time", "10", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const d = new TextDecoder();
  return { out: d.decode(o.stdout), err: d.decode(o.stderr), code: o.code };
}
