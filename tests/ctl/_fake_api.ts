/**
 * A loopback stand-in for the Kubernetes API server (plain HTTP) and a
 * kubeconfig pointing at it (context namespace `namespace`), for the ctl tests that go through the real
 * KubeClient: GETs are answered from a path → object map; anything else is
 * the API server's 404 Status. Every request path is recorded.
 */
import { writeKubeconfig } from "../_support/kubeconfig.ts";

export interface FakeApi {
  readonly url: string;
  readonly kubeconfig: string;
  readonly paths: string[];
  /** Stop answering (the kubeconfig stays: the server is now unreachable). */
  stop(): Promise<void>;
  close(): Promise<void>;
}

export type Answer = { status: number; body: unknown };

export async function fakeApi(
  routes: Record<string, unknown | Answer>,
  namespace = "shop",
): Promise<FakeApi> {
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    paths.push(u.pathname + u.search);
    const hit = routes[u.pathname];
    if (hit === undefined) {
      return Response.json({
        kind: "Status",
        status: "Failure",
        reason: "NotFound",
        message: `${u.pathname} not found`,
        code: 404,
      }, { status: 404 });
    }
    const a = hit as Partial<Answer>;
    return typeof a.status === "number" && "body" in a
      ? Response.json(a.body, { status: a.status })
      : Response.json(hit);
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const dir = await Deno.makeTempDir({ prefix: "novaedge-ctl-" });
  const kubeconfig = `${dir}/kubeconfig`;
  await writeKubeconfig(kubeconfig, { server: url, token: "t0ken", namespace });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= server.shutdown());
  return {
    url,
    kubeconfig,
    paths,
    stop,
    async close() {
      await stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A List answer. */
export const list = (items: unknown[]): { kind: string; metadata: object; items: unknown[] } => ({
  kind: "List",
  metadata: {},
  items,
});
