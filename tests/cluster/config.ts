/**
 * Pinned versions and well-known paths of the local test cluster.
 *
 * Everything lives under `~/.cache/novaedge/` (binaries, Go caches, cluster
 * state) except etcd's data, which sits on tmpfs (`/dev/shm`) because Debian's
 * etcd 3.4 has no `--unsafe-no-fsync`.
 */

const HOME = Deno.env.get("HOME") ?? "/root";

/** Root of every cache NovaEdge keeps on the machine. */
export const CACHE_ROOT = Deno.env.get("NOVAEDGE_CACHE") ?? `${HOME}/.cache/novaedge`;

/** Kubernetes release built from the Go module proxy (all staging modules exist at v0.33.13). */
export const K8S_VERSION = "v1.33.13";
/** Gateway API release: CRDs and the conformance echo server. */
export const GATEWAY_API_VERSION = "v1.6.1";

/** Go toolchain used for every build (GOTOOLCHAIN=local). */
export const GO_BIN = Deno.env.get("NOVAEDGE_GO") ?? "/usr/local/go/bin/go";

/** Go module and build caches, kept under the NovaEdge cache so warm runs reuse them. */
export const GO_MODCACHE = `${CACHE_ROOT}/go/mod`;
export const GO_BUILDCACHE = `${CACHE_ROOT}/go/build`;

/** Directory holding kube-apiserver, kube-controller-manager and kubectl. */
export const K8S_DIR = `${CACHE_ROOT}/k8s/${K8S_VERSION}`;
export const K8S_BIN_DIR = `${K8S_DIR}/bin`;
/** Directory holding echo-basic. */
export const ECHO_DIR = `${CACHE_ROOT}/echo-basic/${GATEWAY_API_VERSION}`;
export const ECHO_BIN = `${ECHO_DIR}/bin/echo-basic`;

/** CoreDNS: the Gateway API conformance base manifests run it (UDPRoute tests). */
export const COREDNS_VERSION = "v1.12.2";
export const COREDNS_DIR = `${CACHE_ROOT}/coredns/${COREDNS_VERSION}`;
export const COREDNS_BIN = `${COREDNS_DIR}/bin/coredns`;

/** The Kubernetes binaries we build, by name. */
export const K8S_BINARIES = ["kube-apiserver", "kube-controller-manager", "kubectl"] as const;

/** Path of a built Kubernetes binary. */
export function k8sBin(name: typeof K8S_BINARIES[number]): string {
  return `${K8S_BIN_DIR}/${name}`;
}

/** etcd from Debian's `etcd-server` package. */
export const ETCD_BIN = Deno.env.get("NOVAEDGE_ETCD") ?? "/usr/bin/etcd";

/**
 * Cluster instance id (env NOVAEDGE_CLUSTER_ID, a small number; default none). Separate ids
 * give fully separate clusters on one machine: own state dir, tmpfs dir, bridge, subnet
 * and name prefixes, so one's cleanup never touches the other's.
 */
export const CLUSTER_ID = (() => {
  const v = Deno.env.get("NOVAEDGE_CLUSTER_ID") ?? "";
  if (v !== "" && !/^[1-9]$/.test(v)) throw new Error("NOVAEDGE_CLUSTER_ID must be 1..9");
  return v;
})();
const SUFFIX = CLUSTER_ID ? `-${CLUSTER_ID}` : "";

/** Stable state directory of the running cluster (kubeconfig, certificates, logs, pid files). */
export const STATE_DIR = Deno.env.get("NOVAEDGE_CLUSTER_DIR") ?? `${CACHE_ROOT}/cluster${SUFFIX}`;
/** The kubeconfig tests and humans use. */
export const KUBECONFIG_PATH = `${STATE_DIR}/kubeconfig`;
/** Run-time data on tmpfs: etcd data, pod working directories and container logs. */
export const RUN_DIR = Deno.env.get("NOVAEDGE_CLUSTER_RUN") ?? `/dev/shm/novaedge-cluster${SUFFIX}`;

/** Pod network: one bridge on the host; nodes are addresses on it, pods are netns + veth. */
export const BRIDGE = `novaedge${CLUSTER_ID || "0"}`;
/** The bridge's /16 (10.244 + id); node i gets 10.244.0.(i+1) and pod CIDR 10.244.(i+1).0/24. */
export const POD_NET_PREFIX = `10.${244 + Number(CLUSTER_ID || 0)}`;
export const BRIDGE_IP = `${POD_NET_PREFIX}.0.1`;
/** Name prefixes that mark our leftovers (netns and host-side veth links). */
export const NETNS_PREFIX = CLUSTER_ID ? `nv${CLUSTER_ID}pod-` : "nvpod-";
export const VETH_PREFIX = CLUSTER_ID ? `nv${CLUSTER_ID}v` : "nvv";

/** Service ClusterIP range (no kube-proxy runs: ClusterIPs are allocated but not routed). */
export const SERVICE_CIDR = "10.96.0.0/16";
/** Port every simulated kubelet listens on, at its node IP. */
export const KUBELET_PORT = 10250;
/** Default number of simulated nodes. */
export const DEFAULT_NODES = 2;
/** Name of node i. */
export function nodeName(i: number): string {
  return `novaedge-node-${i}`;
}
/** InternalIP of node i (an address on the bridge). */
export function nodeIP(i: number): string {
  return `${POD_NET_PREFIX}.0.${i + 1}`;
}
/** Pod CIDR of node i. */
export function nodePodCIDR(i: number): string {
  return `${POD_NET_PREFIX}.${i + 1}.0/24`;
}

/** Debian packages the harness needs: apt-get installs them when missing. */
export const APT_PACKAGES: Record<string, string> = {
  "/usr/bin/etcd": "etcd-server",
  "/usr/sbin/ip": "iproute2",
  "/usr/bin/openssl": "openssl",
  "/usr/bin/nsenter": "util-linux",
  // Tests run `curl` inside "busybox" pods (host commands).
  "/usr/bin/curl": "curl",
};
