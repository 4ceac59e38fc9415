/**
 * The directory source: a "cluster in a directory". Every *.yaml, *.yml and
 * *.json file under DIR (recursive, sorted, dot-files skipped) is parsed as
 * multi-document Kubernetes manifests. A file that fails to parse or read is
 * reported (path, document, reason) and its last good parse keeps serving.
 * `watchDirectory` re-reads on change (Deno.watchFs, debounced, plus a slow
 * poll as a safety net) and calls back only when the result changed.
 */
import type { Diagnostic, KubeObject } from "../store/types.ts";
import { parseManifests } from "./parse.ts";

/** What a load produces: the objects of every file plus what went wrong. */
export interface DirectoryResult {
  readonly objects: KubeObject[];
  readonly diagnostics: Diagnostic[];
}

export interface WatchOptions {
  /** Quiet period after the last file event before re-reading (default 150 ms). */
  readonly debounceMs?: number;
  /** Re-read this often even without events, 0 = never (default 5000 ms). */
  readonly pollMs?: number;
}

const EXTENSIONS = [".yaml", ".yml", ".json"];

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** Manifest files under `dir`, sorted; follows symlinks (ConfigMap volumes use them). */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  // A single manifest file is accepted in place of a directory.
  const top = await Deno.stat(dir);
  if (top.isFile) return [dir];
  const walk = async (d: string, depth: number) => {
    if (depth > 32) return;
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(d)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue; // editor temp files, ConfigMap "..data" internals
      const p = join(d, e.name);
      let isDir = e.isDirectory, isFile = e.isFile;
      if (e.isSymlink) {
        try {
          const st = await Deno.stat(p);
          isDir = st.isDirectory;
          isFile = st.isFile;
        } catch {
          continue; // dangling link
        }
      }
      if (isDir) await walk(p, depth + 1);
      else if (isFile && EXTENSIONS.some((x) => e.name.endsWith(x))) out.push(p);
    }
  };
  await walk(dir, 0);
  return out;
}

interface FileState {
  readonly text: string;
  readonly objects: KubeObject[];
  readonly diagnostics: Diagnostic[];
  /** The last parse without errors (what keeps serving while the file is broken). */
  readonly lastGood?: KubeObject[];
}

/**
 * Holds the per-file parse cache and last good parses across reloads. One
 * instance per watched directory; `loadDirectory` uses a fresh one.
 */
export class DirectorySource {
  readonly #files = new Map<string, FileState>();
  constructor(readonly dir: string) {}

  /** Reads every manifest file and returns the merged result. Never throws. */
  async load(): Promise<DirectoryResult> {
    const diagnostics: Diagnostic[] = [];
    let files: string[];
    try {
      files = await listFiles(this.dir);
    } catch (e) {
      diagnostics.push({
        severity: "error",
        source: this.dir,
        message: `cannot read directory: ${
          (e as Error).message
        }; keeping the last good configuration`,
      });
      // Keep serving what we had.
      return {
        objects: [...this.#files.values()].flatMap((f) => f.lastGood ?? f.objects),
        diagnostics,
      };
    }
    const seen = new Set(files);
    for (const p of [...this.#files.keys()]) if (!seen.has(p)) this.#files.delete(p);
    const objects: KubeObject[] = [];
    for (const path of files) {
      const prev = this.#files.get(path);
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (e) {
        diagnostics.push({
          severity: "error",
          source: path,
          message: `cannot read file: ${(e as Error).message}${
            prev?.lastGood ? "; keeping its last good version" : ""
          }`,
        });
        objects.push(...(prev?.lastGood ?? []));
        continue;
      }
      let state = prev;
      if (!prev || prev.text !== text) {
        const r = parseManifests(text, path);
        const broken = r.diagnostics.some((d) => d.severity === "error");
        state = {
          text,
          objects: r.objects,
          diagnostics: r.diagnostics,
          lastGood: broken ? prev?.lastGood : r.objects,
        };
        this.#files.set(path, state);
      }
      const s = state!;
      diagnostics.push(...s.diagnostics);
      const broken = s.diagnostics.some((d) => d.severity === "error");
      if (broken && s.lastGood) {
        diagnostics.push({
          severity: "warning",
          source: path,
          message: "file has errors; its last good version keeps serving",
        });
        objects.push(...s.lastGood);
      } else {
        objects.push(...s.objects); // first load of a broken file: its good documents
      }
    }
    return { objects, diagnostics };
  }
}

/** Loads every manifest under `dir` once. */
export function loadDirectory(dir: string): Promise<DirectoryResult> {
  return new DirectorySource(dir).load();
}

/** A stable fingerprint of a result, to skip callbacks when nothing changed. */
function fingerprint(r: DirectoryResult): string {
  return JSON.stringify([r.objects, r.diagnostics]);
}

/**
 * Watches `dir`: calls `onChange` once with the initial load, then after every
 * change that alters the result. Returns a handle whose `close()` stops it.
 */
export function watchDirectory(
  dir: string,
  onChange: (r: DirectoryResult) => void,
  opts: WatchOptions = {},
): { close(): void } {
  const debounceMs = opts.debounceMs ?? 150;
  const pollMs = opts.pollMs ?? 5000;
  const source = new DirectorySource(dir);
  let closed = false;
  let last = "";
  let running = false;
  let pending = false;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let watcher: Deno.FsWatcher | undefined;

  const reload = async (initial: boolean) => {
    if (closed) return;
    if (running) {
      pending = true;
      return;
    }
    running = true;
    try {
      do {
        pending = false;
        const r = await source.load();
        if (closed) return;
        const fp = fingerprint(r);
        if (initial || fp !== last) {
          last = fp;
          initial = false;
          try {
            onChange(r);
          } catch {
            // A throwing callback must not stop the watch loop.
          }
        }
      } while (pending && !closed);
    } finally {
      running = false;
    }
  };

  const schedule = () => {
    if (closed) return;
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      void reload(false);
    }, debounceMs);
  };

  const startWatcher = () => {
    try {
      watcher = Deno.watchFs(dir, { recursive: true });
    } catch {
      watcher = undefined; // directory missing: the poll keeps trying
      return;
    }
    const w = watcher;
    (async () => {
      try {
        for await (const _ev of w) schedule();
      } catch {
        // watcher closed or directory removed
      }
      if (!closed && watcher === w) watcher = undefined;
    })();
  };

  const poll = pollMs > 0
    ? setInterval(() => {
      if (!watcher) startWatcher();
      void reload(false);
    }, pollMs)
    : undefined;

  startWatcher();
  void reload(true);

  return {
    close() {
      if (closed) return;
      closed = true;
      if (debounce !== undefined) clearTimeout(debounce);
      if (poll !== undefined) clearInterval(poll);
      try {
        watcher?.close();
      } catch {
        // already closed
      }
    },
  };
}
