/**
 * Shared helpers for tests that run NovaEdge as a user does: free ports, a
 * polling wait, small JSON backends, and `novaedge agent` as a child process.
 */

const main = new URL("../../src/main.ts", import.meta.url).pathname;

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Polls `fn` until it returns something other than undefined; the error names `what`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  ms = 30000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Polls a synchronous condition until it holds (bounded by `ms`, see waitFor). */
export function until(cond: () => boolean, what: string, ms = 10_000): Promise<true> {
  return waitFor(what, () => Promise.resolve(cond() || undefined), ms);
}

export interface JsonBackend {
  readonly port: number;
  close(): Promise<void>;
}

/** A backend answering JSON naming itself, with the path, Host and X-Forwarded-For it saw. */
export function jsonBackend(name: string): JsonBackend {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    return Response.json({
      backend: name,
      path: url.pathname,
      host: req.headers.get("host"),
      xff: req.headers.get("x-forwarded-for"),
    });
  });
  return { port: server.addr.port, close: () => server.shutdown() };
}

export interface AgentProcess {
  /** Admin base URL, e.g. http://127.0.0.1:12345 */
  readonly admin: string;
  /** Everything the agent wrote to stderr so far (JSON log lines). */
  logs(): string;
  /** SIGTERM, wait for exit; resolves to the exit code. */
  stop(): Promise<number>;
}

/** Starts `novaedge agent --config-dir dir` and waits until /readyz answers ready. */
export async function startAgent(
  configDir: string,
  extraArgs: string[] = [],
): Promise<AgentProcess> {
  const adminPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      main,
      "agent",
      "--config-dir",
      configDir,
      "--admin-address",
      `127.0.0.1:${adminPort}`,
      "--workers",
      "1",
      "--state-dir",
      configDir,
      ...extraArgs,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const chunks: string[] = [];
  const logDone = (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) chunks.push(c);
  })();
  const admin = `http://127.0.0.1:${adminPort}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    const status = await child.status;
    await logDone;
    return status.code;
  };
  try {
    await waitFor("the agent to become ready", async () => {
      const r = await fetch(`${admin}/readyz`);
      return (await r.text()).startsWith("ready") ? true : undefined;
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\nagent log:\n${chunks.join("")}`);
  }
  return { admin, logs: () => chunks.join(""), stop };
}
