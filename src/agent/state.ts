/**
 * The agent's memory across restarts: the last snapshot it applied, kept under
 * `--state-dir` so an agent that starts while the controller is unreachable
 * serves what it served before. One file, written atomically (temp file, fsync,
 * rename), readable only by the agent's user (it holds TLS private keys), and
 * checked with a SHA-256 on load so a torn or tampered file is refused rather
 * than served.
 *
 * Layout: "NOVAEDGE-SNAPSHOT 1\n" + one JSON header line + "\n" + encoded
 * `novaedge.v1.Snapshot` bytes.
 */
import { createHash } from "node:crypto";
import { logger } from "../observe/log.ts";

const log = logger("agent.state");
const MAGIC = "NOVAEDGE-SNAPSHOT 1\n";
export const STATE_FILE = "last-snapshot.bin";

export interface PersistedSnapshot {
  readonly version: string;
  /** Encoded `novaedge.v1.Snapshot`. */
  readonly bytes: Uint8Array;
  /** When it was saved (RFC 3339). */
  readonly savedAt: string;
}

interface Header {
  readonly version: string;
  readonly savedAt: string;
  readonly size: number;
  readonly sha256: string;
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

export class SnapshotStateStore {
  readonly dir: string;
  readonly path: string;

  constructor(dir: string) {
    this.dir = dir;
    this.path = `${dir.replace(/\/+$/, "")}/${STATE_FILE}`;
  }

  /** Persist `bytes` (version `version`) atomically. */
  async save(version: string, bytes: Uint8Array): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const header: Header = {
      version,
      savedAt: new Date().toISOString(),
      size: bytes.length,
      sha256: sha256(bytes),
    };
    const head = new TextEncoder().encode(MAGIC + JSON.stringify(header) + "\n");
    const tmp = `${this.path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const f = await Deno.open(tmp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      await writeAll(f, head);
      await writeAll(f, bytes);
      await f.sync();
    } catch (err) {
      f.close();
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    f.close();
    await Deno.rename(tmp, this.path);
    // Persist the rename itself (the directory entry).
    try {
      const d = await Deno.open(this.dir, { read: true });
      try {
        await d.sync();
      } finally {
        d.close();
      }
    } catch {
      // Some filesystems refuse fsync on a directory; the rename is still atomic.
    }
  }

  /**
   * The persisted snapshot, or undefined when there is none. A damaged file is
   * reported in the log and ignored (the agent then waits for the controller).
   */
  async load(): Promise<PersistedSnapshot | undefined> {
    let raw: Uint8Array;
    try {
      raw = await Deno.readFile(this.path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
    try {
      return parse(raw);
    } catch (err) {
      log.error("ignoring the persisted snapshot", {
        path: this.path,
        error: (err as Error).message,
      });
      return undefined;
    }
  }
}

async function writeAll(f: Deno.FsFile, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await f.write(b.subarray(off));
}

function parse(raw: Uint8Array): PersistedSnapshot {
  const magic = new TextEncoder().encode(MAGIC);
  if (raw.length < magic.length || !magic.every((c, i) => raw[i] === c)) {
    throw new Error("not a NovaEdge snapshot file (bad magic)");
  }
  const nl = raw.indexOf(0x0a, magic.length);
  if (nl < 0) throw new Error("truncated header");
  const header = JSON.parse(new TextDecoder().decode(raw.subarray(magic.length, nl))) as Header;
  const bytes = raw.slice(nl + 1);
  if (bytes.length !== header.size) {
    throw new Error(`truncated: ${bytes.length} of ${header.size} bytes`);
  }
  if (sha256(bytes) !== header.sha256) throw new Error("checksum mismatch");
  return { version: header.version, bytes, savedAt: header.savedAt };
}
