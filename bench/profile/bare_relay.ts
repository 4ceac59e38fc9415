/**
 * Yardstick for ab.ts: the least a Deno HTTP/1.1 relay can do — no
 * validation, no routing, no header rewrite, GET without body only, responses
 * framed by Content-Length. Listens on 127.0.0.1:18383 and relays to
 * 127.0.0.1:18380 over one upstream connection per client connection
 * (ab.ts --port moves both: AB_PORT / AB_BACKEND in the environment).
 * Extra arguments are ignored (ab.ts passes the agent's).
 */
const PORT = Number(Deno.env.get("AB_PORT") ?? 18383);
const BACKEND = Number(Deno.env.get("AB_BACKEND") ?? 18380);
const listener = Deno.listen({ hostname: "127.0.0.1", port: PORT });

function headEnd(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i + 3 < to; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i + 4;
  }
  return -1;
}

function contentLength(b: Uint8Array, end: number): number {
  const s = String.fromCharCode.apply(null, b.subarray(0, end) as unknown as number[]);
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(s);
  return m ? Number(m[1]) : 0;
}

async function serve(c: Deno.Conn): Promise<void> {
  const up = await Deno.connect({ hostname: "127.0.0.1", port: BACKEND });
  const cb = new Uint8Array(16384);
  const ub = new Uint8Array(65536 + 16384);
  try {
    for (;;) {
      let n = 0;
      let e = -1;
      while (e < 0) {
        const k = await c.read(cb.subarray(n));
        if (k === null) return;
        n += k;
        e = headEnd(cb, 0, n);
      }
      await up.write(cb.subarray(0, e));
      let m = 0;
      let he = -1;
      while (he < 0) {
        const k = await up.read(ub.subarray(m));
        if (k === null) return;
        m += k;
        he = headEnd(ub, 0, m);
      }
      const total = he + contentLength(ub, he);
      while (m < total) {
        const k = await up.read(ub.subarray(m));
        if (k === null) return;
        m += k;
      }
      await c.write(ub.subarray(0, total));
    }
  } catch {
    // peer gone
  } finally {
    c.close();
    up.close();
  }
}

for await (const c of listener) serve(c);
