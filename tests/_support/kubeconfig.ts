/** Writing a one-cluster, one-user kubeconfig for tests (JSON is valid kubeconfig YAML). */
export interface KubeconfigSpec {
  /** API server URL. */
  readonly server: string;
  /** Bearer token. */
  readonly token: string;
  /** Cluster CA (PEM); without it the server is plain HTTP and TLS verification is off. */
  readonly caPem?: string;
  /** The context's default namespace. */
  readonly namespace?: string;
}

export async function writeKubeconfig(path: string, k: KubeconfigSpec): Promise<string> {
  const cluster = k.caPem
    ? { server: k.server, "certificate-authority-data": btoa(k.caPem) }
    // client-node allows plain HTTP only with verification off.
    : { server: k.server, "insecure-skip-tls-verify": true };
  await Deno.writeTextFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster }],
      users: [{ name: "u", user: { token: k.token } }],
      contexts: [{
        name: "x",
        context: { cluster: "c", user: "u", ...(k.namespace ? { namespace: k.namespace } : {}) },
      }],
      "current-context": "x",
    }),
  );
  return path;
}
