/**
 * Pod networking of the local cluster: one Linux bridge on the host holding the
 * node IPs, and per pod a network namespace with a veth pair (host end on the
 * bridge, `eth0` inside with the pod IP and a default route via the bridge).
 * The host reaches every pod IP; pods reach each other and the host's bridge
 * addresses; nothing is routed anywhere else (no NAT, no forwarding rules).
 */
import { BRIDGE, BRIDGE_IP, NETNS_PREFIX, nodeIP, VETH_PREFIX } from "./config.ts";
import { run } from "./exec.ts";

const IP = "ip";

/** Create the bridge (idempotent) with the gateway address and one address per node. */
export async function ensureBridge(nodes: number): Promise<void> {
  const have = await run(IP, ["link", "show", BRIDGE], { check: false });
  if (have.code !== 0) {
    await run(IP, ["link", "add", BRIDGE, "type", "bridge"]);
  }
  // Pods never need IPv6 link-local chatter on our bridge.
  await run("sysctl", ["-qw", `net.ipv6.conf.${BRIDGE}.disable_ipv6=1`], { check: false })
    .catch(() => undefined);
  const addrs = (await run(IP, ["-4", "-o", "addr", "show", "dev", BRIDGE])).stdout;
  const want = [BRIDGE_IP, ...Array.from({ length: nodes }, (_, i) => nodeIP(i))];
  for (const a of [...new Set(want)]) {
    if (!addrs.includes(` ${a}/`)) {
      await run(IP, ["addr", "add", `${a}/16`, "dev", BRIDGE]);
    }
  }
  await run(IP, ["link", "set", BRIDGE, "up"]);
}

/** Short, stable names derived from a pod UID (interface names are limited to 15 bytes). */
export function podNetNames(uid: string): { netns: string; hostVeth: string } {
  const id = uid.replace(/-/g, "").slice(0, 10);
  return { netns: `${NETNS_PREFIX}${id}`, hostVeth: `${VETH_PREFIX}${id}` };
}

/** Create a pod's namespace and veth, assign `ip/16`, default route via the bridge. */
export async function createPodNetwork(uid: string, ip: string): Promise<string> {
  const { netns, hostVeth } = podNetNames(uid);
  await deletePodNetwork(uid);
  await run(IP, ["netns", "add", netns]);
  const peer = `${hostVeth}p`;
  await run(IP, ["link", "add", hostVeth, "type", "veth", "peer", "name", peer]);
  await run(IP, ["link", "set", peer, "netns", netns]);
  await run(IP, ["link", "set", hostVeth, "master", BRIDGE, "up"]);
  const inNs = (args: string[]) => run(IP, ["-n", netns, ...args]);
  await inNs(["link", "set", "lo", "up"]);
  await inNs(["link", "set", peer, "name", "eth0"]);
  await inNs(["addr", "add", `${ip}/16`, "dev", "eth0"]);
  await inNs(["link", "set", "eth0", "up"]);
  await inNs(["route", "add", "default", "via", BRIDGE_IP]);
  return netns;
}

/** Kill whatever still runs in a pod's namespace, then remove the namespace and veth. */
export async function deletePodNetwork(uid: string): Promise<void> {
  const { netns, hostVeth } = podNetNames(uid);
  await killNetnsProcesses(netns);
  await run(IP, ["netns", "del", netns], { check: false });
  await run(IP, ["link", "del", hostVeth], { check: false });
}

/** SIGKILL every process inside a named network namespace. */
export async function killNetnsProcesses(netns: string): Promise<void> {
  const r = await run(IP, ["netns", "pids", netns], { check: false });
  if (r.code !== 0) return;
  for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* already gone */ }
  }
}

/** Names of our leftover namespaces. */
export async function listPodNetns(): Promise<string[]> {
  const r = await run(IP, ["netns", "list"], { check: false });
  return r.stdout.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(NETNS_PREFIX));
}

/** Names of our leftover links (pod veths and the bridge). */
export async function listOurLinks(): Promise<string[]> {
  const r = await run(IP, ["-o", "link", "show"], { check: false });
  return r.stdout.split("\n")
    .map((l) => l.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((n) => n.startsWith(VETH_PREFIX) || n === BRIDGE);
}

/** Remove every namespace and link carrying our prefixes, and the bridge. */
export async function cleanupNetwork(): Promise<{ netns: string[]; links: string[] }> {
  const netns = await listPodNetns();
  for (const ns of netns) {
    await killNetnsProcesses(ns);
    await run(IP, ["netns", "del", ns], { check: false });
  }
  const links = await listOurLinks();
  for (const l of links.filter((l) => l !== BRIDGE)) {
    await run(IP, ["link", "del", l], { check: false });
  }
  if (links.includes(BRIDGE)) await run(IP, ["link", "del", BRIDGE], { check: false });
  return { netns, links };
}
