/**
 * Background processes of the cluster (etcd, kube-apiserver,
 * kube-controller-manager, the node simulator). Each is started in its own
 * session (setsid) with output appended to a log file, and records its pid in
 * `<state>/pids/<name>.pid`. Leftovers of a crashed run are found by pid file
 * and, as a fallback, by scanning /proc for command lines naming our state or
 * run directories — never by a broad process name.
 */
import { RUN_DIR, STATE_DIR } from "./config.ts";
import { exists, sleep } from "./exec.ts";

const PID_DIR = `${STATE_DIR}/pids`;
/** Where each component's log goes. */
export const LOG_DIR = `${STATE_DIR}/logs`;

/** Start `cmd args` detached; returns its pid. */
export async function startDaemon(
  name: string,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<number> {
  await Deno.mkdir(PID_DIR, { recursive: true });
  await Deno.mkdir(LOG_DIR, { recursive: true });
  const pidFile = `${PID_DIR}/${name}.pid`;
  const log = `${LOG_DIR}/${name}.log`;
  try {
    await Deno.remove(pidFile);
  } catch { /* none */ }
  // The shell writes its own pid, then execs the program (same pid) with output to the log.
  const script = `echo $$ > "${pidFile}"; exec "$0" "$@" >>"${log}" 2>&1 </dev/null`;
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", script, cmd, ...args],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  // Reap it if it dies while we still run, so status checks do not see a zombie.
  child.status.catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      const pid = Number(Deno.readTextFileSync(pidFile).trim());
      if (pid > 0) return pid;
    } catch { /* not yet */ }
    await sleep(20);
  }
  throw new Error(`${name} did not start (no pid file)`);
}

/** Pid recorded for `name`, if its process still runs `expect` (guards against pid reuse). */
export function daemonPid(name: string, expect?: string): number | undefined {
  try {
    const pid = Number(Deno.readTextFileSync(`${PID_DIR}/${name}.pid`).trim());
    if (!(pid > 0)) return undefined;
    const cmdline = cmdlineOf(pid);
    if (cmdline === undefined) return undefined;
    if (isZombie(pid)) return undefined;
    if (expect && !cmdline.includes(expect)) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replaceAll("\0", " ");
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  return exists(`/proc/${pid}`) && !isZombie(pid);
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. */
export async function stopPid(pid: number, graceMs = 10_000): Promise<void> {
  try {
    Deno.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return await waitReaped(pid);
    await sleep(100);
  }
  try {
    Deno.kill(pid, "SIGKILL");
  } catch { /* gone */ }
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  await waitReaped(pid);
}

/** Give init a moment to reap an exited daemon, so no <defunct> entry outlives `down`. */
async function waitReaped(pid: number): Promise<void> {
  for (let i = 0; i < 50 && exists(`/proc/${pid}`); i++) await sleep(100);
}

/** Stop a named daemon (if running) and forget its pid file. */
export async function stopDaemon(name: string, graceMs = 10_000): Promise<boolean> {
  const pid = daemonPid(name);
  if (pid !== undefined) await stopPid(pid, graceMs);
  try {
    await Deno.remove(`${PID_DIR}/${name}.pid`);
  } catch { /* none */ }
  return pid !== undefined;
}

/**
 * Pids of processes that belong to this harness but have no live pid file: their
 * command line names our state/run directory, or they run inside our pod run directory.
 */
export function strayPids(): number[] {
  const me = Deno.pid;
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    const pid = Number(e.name);
    if (!(pid > 1) || pid === me || pid === Deno.ppid) continue;
    const cmd = cmdlineOf(pid);
    if (cmd === undefined || isZombie(pid)) continue;
    let cwd = "";
    try {
      cwd = Deno.readLinkSync(`/proc/${pid}/cwd`);
    } catch { /* kernel thread or gone */ }
    const namesOurDirs = cmd.includes(`${STATE_DIR}/`) || cmd.includes(`${RUN_DIR}/`);
    const isComponent = /(^|\/)(etcd|kube-apiserver|kube-controller-manager) |nodesim\/main\.ts/
      .test(cmd);
    const ours = (namesOurDirs && isComponent) || cwd.startsWith(`${RUN_DIR}/pods/`);
    if (ours) out.push(pid);
  }
  return out;
}
