/**
 * Adapters between node streams and our Transport: TLS sockets from node:tls
 * (SNI callback support) run the raw HTTP/1.1 engine through `fromNodeSocket`,
 * and node:http2 sessions run over any Transport through `toNodeDuplex`.
 */
import { Buffer } from "node:buffer";
import { Duplex } from "node:stream";
import type { Transport } from "./transport.ts";

const HIGH_WATER = 256 * 1024;

/** Wraps a node Duplex (socket) as a Transport with backpressure both ways. */
export function fromNodeSocket(sock: Duplex): Transport {
  const chunks: Uint8Array[] = [];
  let queued = 0;
  let ended = false;
  let failed: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    if (w) w();
  };
  sock.on("data", (d: Uint8Array) => {
    chunks.push(d);
    queued += d.length;
    if (queued > HIGH_WATER) sock.pause();
    notify();
  });
  sock.on("end", () => {
    ended = true;
    notify();
  });
  sock.on("error", (e: Error) => {
    failed = e;
    notify();
  });
  sock.on("close", () => {
    ended = true;
    notify();
  });
  const read = async (p: Uint8Array): Promise<number | null> => {
    while (chunks.length === 0) {
      if (ended || failed) return null;
      await new Promise<void>((r) => (wake = r));
    }
    let n = 0;
    while (n < p.length && chunks.length > 0) {
      const c = chunks[0];
      const k = Math.min(c.length, p.length - n);
      p.set(k === c.length ? c : c.subarray(0, k), n);
      n += k;
      if (k === c.length) chunks.shift();
      else chunks[0] = c.subarray(k);
    }
    queued -= n;
    if (queued <= HIGH_WATER / 2 && sock.isPaused()) sock.resume();
    return n;
  };
  const write = (p: Uint8Array): Promise<number> => {
    if (failed || sock.destroyed) return Promise.reject(failed ?? new Error("socket closed"));
    const ok = sock.write(Buffer.from(p));
    if (ok) return Promise.resolve(p.length);
    return new Promise((resolve, reject) => {
      const onDrain = () => {
        sock.off("close", onClose);
        resolve(p.length);
      };
      const onClose = () => {
        sock.off("drain", onDrain);
        reject(new Error("socket closed"));
      };
      sock.once("drain", onDrain);
      sock.once("close", onClose);
    });
  };
  return {
    read,
    write,
    closeWrite: () =>
      new Promise<void>((resolve) => {
        sock.end(() => resolve());
      }),
    close: () => {
      sock.destroy();
    },
  };
}

/**
 * Wraps a Transport as a node Duplex so node:http2 can run a session over a
 * socket we accepted ourselves. `pre` holds bytes already read (the preface).
 */
export function toNodeDuplex(t: Transport, pre: Uint8Array | null): Duplex {
  let reading = false;
  let closed = false;
  const d: Duplex = new Duplex({
    read() {
      if (reading || closed) return;
      reading = true;
      (async () => {
        for (;;) {
          const buf = new Uint8Array(65536);
          let n: number | null;
          try {
            n = await t.read(buf);
          } catch {
            n = null;
          }
          if (n === null) {
            reading = false;
            d.push(null);
            return;
          }
          if (!d.push(buf.subarray(0, n))) {
            reading = false;
            return;
          }
        }
      })();
    },
    write(chunk: Uint8Array, _enc: string, cb: (e?: Error | null) => void) {
      (async () => {
        let off = 0;
        while (off < chunk.length) off += await t.write(chunk.subarray(off));
      })().then(() => cb(), (e: Error) => cb(e));
    },
    // Frames node:http2 queued while a write was in flight go out as one
    // write op (one syscall) instead of one each.
    writev(chunks: { chunk: Uint8Array }[], cb: (e?: Error | null) => void) {
      let len = 0;
      for (const c of chunks) len += c.chunk.length;
      const all = new Uint8Array(len);
      let o = 0;
      for (const c of chunks) {
        all.set(c.chunk, o);
        o += c.chunk.length;
      }
      (async () => {
        let off = 0;
        while (off < all.length) off += await t.write(all.subarray(off));
      })().then(() => cb(), (e: Error) => cb(e));
    },
    final(cb: (e?: Error | null) => void) {
      t.closeWrite().then(() => cb(), () => cb());
    },
    destroy(_e: Error | null, cb: (e: Error | null) => void) {
      closed = true;
      try {
        t.close();
      } catch {
        // already closed
      }
      cb(null);
    },
  });
  if (pre && pre.length > 0) d.unshift(Buffer.from(pre));
  return d;
}

/** Resolves once a node stream can take more data ("drain") or is gone ("close"). */
export function drainOrClose(stream: {
  on(e: "drain" | "close", f: () => void): unknown;
  off(e: "drain" | "close", f: () => void): unknown;
}): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
  });
}
