/**
 * Container logs, stored the way a CRI runtime stores them: one file per container
 * instance (`<restartCount>.log`), one line per log line:
 * `<RFC3339Nano timestamp> <stdout|stderr> F <text>`.
 */

/** Cap per container instance: logs live on tmpfs (RAM); a kubelet rotates at 10 MiB. */
export const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** Appends a process's stdout and stderr to a log file, line by line (up to MAX_LOG_BYTES). */
export class LogSink {
  #file: Deno.FsFile;
  #written = 0;
  #chain: Promise<unknown> = Promise.resolve();
  #enc = new TextEncoder();

  constructor(readonly path: string) {
    this.#file = Deno.openSync(path, { create: true, append: true });
  }

  #writeLine(stream: "stdout" | "stderr", line: string): void {
    const ts = new Date().toISOString().replace("Z", "000000Z").replace(/(\.\d{9})\d*Z$/, "$1Z");
    if (this.#written >= MAX_LOG_BYTES) return;
    let data = this.#enc.encode(`${ts} ${stream} F ${line}\n`);
    this.#written += data.length;
    if (this.#written >= MAX_LOG_BYTES) {
      data = this.#enc.encode(
        `${ts} stderr F [node simulator: log truncated at ${MAX_LOG_BYTES} bytes]\n`,
      );
    }
    this.#chain = this.#chain.then(async () => {
      let off = 0;
      while (off < data.length) off += await this.#file.write(data.subarray(off));
    }).catch(() => undefined);
  }

  /** Copy a stream into the file until it ends. */
  async pump(readable: ReadableStream<Uint8Array>, stream: "stdout" | "stderr"): Promise<void> {
    let buf = "";
    try {
      for await (const chunk of readable.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.#writeLine(stream, buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      }
    } catch { /* process killed */ }
    if (buf) this.#writeLine(stream, buf);
  }

  /** Wait for pending writes and close the file. */
  async close(): Promise<void> {
    await this.#chain;
    try {
      this.#file.close();
    } catch { /* closed */ }
  }
}

/** One parsed log line. */
export interface LogLine {
  ts: string;
  stream: string;
  text: string;
}

/** Parse a CRI-format line (returns undefined for a malformed line). */
export function parseLine(line: string): LogLine | undefined {
  const a = line.indexOf(" ");
  const b = line.indexOf(" ", a + 1);
  const c = line.indexOf(" ", b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  return { ts: line.slice(0, a), stream: line.slice(a + 1, b), text: line.slice(c + 1) };
}
