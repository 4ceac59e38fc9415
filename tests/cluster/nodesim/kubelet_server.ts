/**
 * The part of the kubelet API the API server proxies to: container logs
 * (`GET /containerLogs/{namespace}/{pod}/{container}`), so `kubectl logs`
 * (follow, previous, tailLines, timestamps, sinceSeconds, sinceTime, limitBytes)
 * works through the API server. Served over TLS at each node's IP on port 10250.
 */
import { type LogLine, parseLine } from "./logs.ts";
import type { ContainerRun } from "./pod_runner.ts";

/** Looks up a running container by namespace, pod and container name. */
export type ContainerLookup = (
  ns: string,
  pod: string,
  container: string,
) => { run: ContainerRun } | { error: string; status: number };

interface LogQuery {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  since?: number;
}

function parseQuery(u: URL): LogQuery {
  const q = u.searchParams;
  const num = (k: string) => (q.has(k) && q.get(k) !== "" ? Number(q.get(k)) : undefined);
  let since: number | undefined;
  if (q.get("sinceSeconds")) since = Date.now() - Number(q.get("sinceSeconds")) * 1000;
  if (q.get("sinceTime")) since = Date.parse(q.get("sinceTime")!);
  return {
    follow: q.get("follow") === "true" || q.get("follow") === "1",
    previous: q.get("previous") === "true" || q.get("previous") === "1",
    timestamps: q.get("timestamps") === "true" || q.get("timestamps") === "1",
    tailLines: num("tailLines"),
    limitBytes: num("limitBytes"),
    since,
  };
}

function render(l: LogLine, q: LogQuery): string {
  return q.timestamps ? `${l.ts} ${l.text}\n` : `${l.text}\n`;
}

function keep(l: LogLine, q: LogQuery): boolean {
  return q.since === undefined || Date.parse(l.ts) >= q.since;
}

/** Build the request handler. */
export function kubeletHandler(lookup: ContainerLookup): (req: Request) => Response {
  return (req: Request): Response => {
    const u = new URL(req.url);
    if (u.pathname === "/healthz") return new Response("ok");
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)\/?$/.exec(u.pathname);
    if (!m || req.method !== "GET") return new Response("not found\n", { status: 404 });
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent);
    const found = lookup(ns, pod, container);
    if ("error" in found) return new Response(`${found.error}\n`, { status: found.status });
    const c = found.run;
    const q = parseQuery(u);
    const instance = q.previous ? c.restartCount - 1 : c.restartCount;
    if (instance < 0) {
      return new Response(
        `previous terminated container "${container}" in pod "${pod}" not found\n`,
        { status: 400 },
      );
    }
    const path = c.logPath(instance);
    let text: string;
    try {
      text = Deno.readTextFileSync(path);
    } catch {
      const why = c.state.waiting ? `: ${c.state.waiting.reason}` : "";
      return new Response(
        `container "${container}" in pod "${pod}" is waiting to start${why}\n`,
        { status: 400 },
      );
    }
    let offset = new TextEncoder().encode(text).length;
    let lines = text.split("\n").filter(Boolean).map(parseLine).filter((l): l is LogLine =>
      !!l && keep(l, q)
    );
    if (q.tailLines !== undefined && q.tailLines >= 0) {
      lines = lines.slice(Math.max(0, lines.length - q.tailLines));
    }
    const enc = new TextEncoder();
    let budget = q.limitBytes ?? Infinity;
    const live = () => c.restartCount === instance && !!c.state.running;
    const body = new ReadableStream<Uint8Array>({
      async start(ctrl) {
        const emit = (s: string): boolean => {
          let b = enc.encode(s);
          if (b.length > budget) b = b.subarray(0, budget);
          budget -= b.length;
          ctrl.enqueue(b);
          return budget > 0;
        };
        for (const l of lines) if (!emit(render(l, q))) return ctrl.close();
        if (!q.follow) return ctrl.close();
        let partial = "";
        const file = await Deno.open(path, { read: true });
        try {
          await file.seek(offset, Deno.SeekMode.Start);
          const buf = new Uint8Array(64 * 1024);
          const dec = new TextDecoder();
          while (!req.signal.aborted) {
            const n = await file.read(buf);
            if (n === null || n === 0) {
              if (!live()) {
                // One last read after the instance ended, then stop.
                const rest = await file.read(buf);
                if (rest === null || rest === 0) break;
                partial += dec.decode(buf.subarray(0, rest), { stream: true });
              } else {
                await new Promise((r) => setTimeout(r, 200));
                continue;
              }
            } else {
              offset += n;
              partial += dec.decode(buf.subarray(0, n), { stream: true });
            }
            let nl: number;
            while ((nl = partial.indexOf("\n")) >= 0) {
              const l = parseLine(partial.slice(0, nl));
              partial = partial.slice(nl + 1);
              if (l && keep(l, q) && !emit(render(l, q))) return ctrl.close();
            }
          }
        } catch {
          /* client went away */
        } finally {
          file.close();
        }
        try {
          ctrl.close();
        } catch { /* cancelled */ }
      },
    });
    return new Response(body, { headers: { "content-type": "text/plain; charset=utf-8" } });
  };
}
