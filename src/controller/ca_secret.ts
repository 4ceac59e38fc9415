/**
 * The controller's gRPC trust root. The first replica to start creates a CA
 * and stores it in a Secret (create is atomic: a losing replica gets 409 and
 * reads the winner's); its public half goes to a ConfigMap the agents mount.
 * Each replica then issues its own serving certificate from that CA.
 */
import { logger } from "../observe/log.ts";
import { type KubeClient, KubeError } from "../source/kube_client.ts";
import { type CertKeyPair, certNotAfter, createCa, issueLeaf } from "./pki.ts";
import { CONTROLLER_TLS_NAME } from "./service.ts";

const log = logger("controller.ca");

export const CA_SECRET_NAME = "novaedge-controller-ca";
export const CA_CONFIGMAP_NAME = "novaedge-controller-ca";

interface SecretLike {
  data?: Record<string, string>;
}

const b64 = (s: string) => btoa(s);
const unb64 = (s: string) => atob(s);

/** Load the CA from its Secret, creating both Secret and ConfigMap when missing. */
export async function ensureCa(client: KubeClient, namespace: string): Promise<CertKeyPair> {
  const secretPath = `/api/v1/namespaces/${namespace}/secrets`;
  let ca: CertKeyPair | undefined;
  try {
    const s = await client.get(`${secretPath}/${CA_SECRET_NAME}`) as SecretLike;
    if (s.data?.["ca.crt"] && s.data?.["ca.key"]) {
      ca = { certPem: unb64(s.data["ca.crt"]), keyPem: unb64(s.data["ca.key"]) };
    } else {
      throw new Error(`Secret ${namespace}/${CA_SECRET_NAME} lacks ca.crt or ca.key`);
    }
  } catch (err) {
    if (!(err instanceof KubeError && err.status === 404)) throw err;
    const fresh = await createCa("novaedge-controller-ca");
    try {
      await client.create(secretPath, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: CA_SECRET_NAME,
          namespace,
          labels: { "app.kubernetes.io/name": "novaedge" },
        },
        type: "Opaque",
        data: { "ca.crt": b64(fresh.certPem), "ca.key": b64(fresh.keyPem) },
      });
      log.info("created the agent-channel CA", { secret: `${namespace}/${CA_SECRET_NAME}` });
      ca = fresh;
    } catch (e) {
      if (!(e instanceof KubeError && e.status === 409)) throw e;
      // Another replica created it first: use theirs.
      return ensureCa(client, namespace);
    }
  }
  await publishCaCert(client, namespace, ca.certPem);
  return ca;
}

/** Make the ConfigMap hold exactly the CA certificate. */
async function publishCaCert(
  client: KubeClient,
  namespace: string,
  certPem: string,
): Promise<void> {
  const cmPath = `/api/v1/namespaces/${namespace}/configmaps`;
  try {
    const cm = await client.get(`${cmPath}/${CA_CONFIGMAP_NAME}`) as {
      data?: Record<string, string>;
    };
    if (cm.data?.["ca.crt"] === certPem) return;
    await client.patch(`${cmPath}/${CA_CONFIGMAP_NAME}`, { data: { "ca.crt": certPem } });
    log.info("updated the CA ConfigMap", { configmap: `${namespace}/${CA_CONFIGMAP_NAME}` });
  } catch (err) {
    if (!(err instanceof KubeError && err.status === 404)) throw err;
    try {
      await client.create(cmPath, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: CA_CONFIGMAP_NAME,
          namespace,
          labels: { "app.kubernetes.io/name": "novaedge" },
        },
        data: { "ca.crt": certPem },
      });
      log.info("published the CA certificate", { configmap: `${namespace}/${CA_CONFIGMAP_NAME}` });
    } catch (e) {
      if (!(e instanceof KubeError && e.status === 409)) throw e;
    }
  }
}

/** SANs of a controller serving certificate. */
export function controllerSans(
  namespace: string,
  service: string,
  extra: readonly string[],
): string[] {
  const names = [
    CONTROLLER_TLS_NAME,
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
    "localhost",
    "127.0.0.1",
    ...extra,
  ];
  return [...new Set(names.filter((n) => n !== ""))];
}

/** Issue a serving certificate (90 days) for this replica. */
export function issueServingCert(ca: CertKeyPair, sans: readonly string[]): Promise<CertKeyPair> {
  return issueLeaf(ca, { commonName: CONTROLLER_TLS_NAME, sans, days: 90, usage: ["server"] });
}

/** True when `cert` expires within `withinMs`. */
export function expiresWithin(certPem: string, withinMs: number): boolean {
  return certNotAfter(certPem).getTime() - Date.now() < withinMs;
}
