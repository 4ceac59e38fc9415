/**
 * Container probes, run from the host against the pod IP (the host reaches every
 * pod over the bridge), like a kubelet: httpGet (2xx/3xx passes), tcpSocket
 * (connect passes), exec (exit 0 passes; run inside the pod's network namespace
 * with the container's environment and working directory).
 * HTTPS and gRPC probes are checked as TCP connects.
 */
import type { Container, Probe } from "./types.ts";

function resolvePort(port: number | string, c: Container): number {
  if (typeof port === "number") return port;
  const named = c.ports?.find((p) => p.name === port);
  if (named) return named.containerPort;
  const n = Number(port);
  if (Number.isInteger(n)) return n;
  throw new Error(`unknown named port ${port}`);
}

async function tcpCheck(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const conn = await Promise.race([
    Deno.connect({ hostname: host, port }).catch(() => undefined),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), timeoutMs)),
  ]);
  if (!conn) return false;
  conn.close();
  return true;
}

/** Run one probe; resolves true when it passes. */
export async function runProbe(
  probe: Probe,
  podIP: string,
  c: Container,
  netns: string | undefined,
  exec: { cwd?: string; env?: Record<string, string> } = {},
): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, c);
    const host = probe.httpGet.host ?? podIP;
    if ((probe.httpGet.scheme ?? "HTTP").toUpperCase() === "HTTPS") {
      return await tcpCheck(host, port, timeoutMs);
    }
    const headers = new Headers({ "user-agent": "kube-probe/1.33" });
    for (const h of probe.httpGet.httpHeaders ?? []) headers.set(h.name, h.value);
    const path = probe.httpGet.path ?? "/";
    try {
      const res = await fetch(`http://${host}:${port}${path.startsWith("/") ? path : `/${path}`}`, {
        headers,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    return await tcpCheck(
      probe.tcpSocket.host ?? podIP,
      resolvePort(probe.tcpSocket.port, c),
      timeoutMs,
    );
  }
  if (probe.grpc) return await tcpCheck(podIP, probe.grpc.port, timeoutMs);
  if (probe.exec) {
    const [cmd, ...args] = probe.exec.command;
    const full = netns ? ["ip", "netns", "exec", netns, cmd, ...args] : [cmd, ...args];
    try {
      const out = await new Deno.Command(full[0], {
        args: full.slice(1),
        cwd: exec.cwd,
        env: exec.env,
        clearEnv: exec.env !== undefined,
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(Math.max(timeoutMs, 1000)),
      }).output();
      return out.code === 0;
    } catch {
      return false;
    }
  }
  return true;
}
