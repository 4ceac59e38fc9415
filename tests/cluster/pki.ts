/**
 * Certificates and credentials of the local cluster, made with the openssl CLI
 * (EC P-256: fast to generate, accepted by kube-apiserver and rustls).
 * A CA signs the API server's and the simulated kubelets' serving certificates;
 * the service-account key pair signs tokens; an admin bearer token in
 * `system:masters` is what tests and the node simulator use.
 */
import { exists, run } from "./exec.ts";

/** Paths of everything {@link ensurePki} creates under `<dir>`. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  kubeletCert: string;
  kubeletKey: string;
  saKey: string;
  saPub: string;
  tokenFile: string;
  /** Bearer token of the `system:masters` admin user. */
  adminToken: string;
}

async function leaf(
  dir: string,
  name: string,
  cn: string,
  san: string,
  usage: "serverAuth" | "clientAuth",
): Promise<void> {
  const key = `${dir}/${name}.key`;
  const csr = `${dir}/${name}.csr`;
  const ext = `${dir}/${name}.ext`;
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await run("openssl", ["req", "-new", "-key", key, "-subj", `/CN=${cn}`, "-out", csr]);
  await Deno.writeTextFile(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage=${usage}`,
      san ? `subjectAltName=${san}` : "",
    ].join("\n") + "\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    `${dir}/ca.crt`,
    "-CAkey",
    `${dir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "3650",
    "-sha256",
    "-extfile",
    ext,
    "-out",
    `${dir}/${name}.crt`,
  ]);
  await Deno.remove(csr);
  await Deno.remove(ext);
}

/**
 * Create (once) the CA, serving certificates, service-account keys and admin token.
 * `nodeIPs` go into the kubelet certificate's SANs. Existing material is reused so the
 * kubeconfig stays valid across `down`/`up`, unless the node IPs changed.
 */
export async function ensurePki(dir: string, nodeIPs: string[]): Promise<Pki> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const p: Pki = {
    dir,
    caCert: `${dir}/ca.crt`,
    caKey: `${dir}/ca.key`,
    apiserverCert: `${dir}/apiserver.crt`,
    apiserverKey: `${dir}/apiserver.key`,
    kubeletCert: `${dir}/kubelet.crt`,
    kubeletKey: `${dir}/kubelet.key`,
    saKey: `${dir}/sa.key`,
    saPub: `${dir}/sa.pub`,
    tokenFile: `${dir}/tokens.csv`,
    adminToken: "",
  };
  if (!exists(p.caCert) || !exists(p.caKey)) {
    await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p.caKey]);
    await run("openssl", [
      "req",
      "-x509",
      "-new",
      "-key",
      p.caKey,
      "-subj",
      "/CN=novaedge-test-cluster-ca",
      "-days",
      "3650",
      "-sha256",
      "-out",
      p.caCert,
    ]);
  }
  if (!exists(p.apiserverCert)) {
    await leaf(
      dir,
      "apiserver",
      "kube-apiserver",
      "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default," +
        "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
      "serverAuth",
    );
  }
  const kubeletSan = nodeIPs.map((ip) => `IP:${ip}`).join(",") + ",IP:127.0.0.1,DNS:localhost";
  const sanFile = `${dir}/kubelet.san`;
  if (!exists(p.kubeletCert) || !exists(sanFile) || Deno.readTextFileSync(sanFile) !== kubeletSan) {
    await leaf(dir, "kubelet", "novaedge-kubelet", kubeletSan, "serverAuth");
    await Deno.writeTextFile(sanFile, kubeletSan);
  }
  if (!exists(p.saKey)) {
    await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p.saKey]);
    await run("openssl", ["ec", "-in", p.saKey, "-pubout", "-out", p.saPub]);
  }
  if (!exists(p.tokenFile)) {
    const bytes = crypto.getRandomValues(new Uint8Array(24));
    const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    await Deno.writeTextFile(
      p.tokenFile,
      `${token},novaedge-admin,novaedge-admin,"system:masters"\n`,
      {
        mode: 0o600,
      },
    );
  }
  p.adminToken = Deno.readTextFileSync(p.tokenFile).split(",")[0];
  return p;
}
