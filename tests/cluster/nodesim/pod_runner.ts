/**
 * Runs one pod on a simulated node, as a kubelet would: a network namespace with
 * its own IP, init containers then containers as local processes (image → program
 * through images.ts), restarts per `restartPolicy` with back-off, readiness /
 * liveness / startup probes, and the pod's status (IPs, phase, conditions,
 * container states) written back to the API server. On deletion it stops the
 * processes (SIGTERM, then SIGKILL after the grace period), removes the network
 * and deletes the pod object.
 */
import { ApiError, type KubeApi } from "../api.ts";
import { resolveContainer } from "../images.ts";
import { createPodNetwork, deletePodNetwork } from "../network.ts";
import { containerEnv, expandAll } from "./env.ts";
import { podEvent } from "./events.ts";
import { LogSink } from "./logs.ts";
import { runProbe } from "./probes.ts";
import { prepareVolumes, type VolumePlan, wrapWithMounts } from "./volumes.ts";
import type {
  Container,
  ContainerState,
  ContainerStatus,
  Pod,
  PodCondition,
  PodStatus,
  Probe,
} from "./types.ts";

/** What a pod runner needs from the simulator. */
export interface RunnerContext {
  api: KubeApi;
  runDir: string;
  /** Node IP of the node the pod is bound to. */
  nodeIP: string;
  allocateIP(): string;
  releaseIP(ip: string): void;
  /** Name of the node the pod is bound to (event source). */
  nodeName: string;
  /** Called once the pod is stopped and forgotten. */
  onGone(uid: string): void;
  log(msg: string): void;
}

const BACKOFF_START_MS = 1_000;
const BACKOFF_MAX_MS = 20_000;

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** One container (or init container) of the pod. */
export class ContainerRun {
  restartCount = 0;
  state: ContainerState = { waiting: { reason: "ContainerCreating" } };
  lastState: ContainerState = {};
  ready = false;
  started = false;
  child?: Deno.ChildProcess;
  /** Resolves when the current instance exits. */
  exited?: Promise<Deno.CommandStatus>;
  /** Set when the container will never run again (done, or given up). */
  final = false;
  /** Resolves when this container finished for good. */
  done: Promise<void>;
  markDone!: () => void;
  pid = 0;
  /** Environment and working directory of the current instance (exec probes reuse them). */
  env?: Record<string, string>;
  cwd?: string;

  constructor(readonly spec: Container, readonly dir: string, readonly init: boolean) {
    this.done = new Promise((r) => this.markDone = r);
  }

  /** Log file of instance `n`. */
  logPath(n: number): string {
    return `${this.dir}/${n}.log`;
  }

  status(): ContainerStatus {
    return {
      name: this.spec.name,
      image: this.spec.image,
      imageID: `novaedge-nodesim://${this.spec.image}`,
      containerID: this.pid ? `novaedge-nodesim://${this.pid}` : undefined,
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state: this.state,
      lastState: this.lastState,
    };
  }
}

/** Runs one pod. */
export class PodRunner {
  pod: Pod;
  ip = "";
  netns?: string;
  readonly dir: string;
  readonly inits: ContainerRun[];
  readonly containers: ContainerRun[];
  #stopping = false;
  #stopped?: Promise<void>;
  #abort = new AbortController();
  #startTime = now();
  #podError?: { reason: string; message: string; fatal: boolean };
  #patchTimer?: ReturnType<typeof setTimeout>;
  #patching: Promise<void> = Promise.resolve();
  #lastSent = "";
  #conditionTimes = new Map<string, { status: string; time: string }>();
  #volumes?: VolumePlan;
  #starting?: Promise<void>;
  #nodeDown = false;

  constructor(readonly ctx: RunnerContext, pod: Pod) {
    this.pod = pod;
    const m = pod.metadata;
    this.dir = `${ctx.runDir}/pods/${m.namespace}_${m.name}_${m.uid}`;
    this.inits = (pod.spec.initContainers ?? []).map((c) =>
      new ContainerRun(c, `${this.dir}/${c.name}`, true)
    );
    this.containers = pod.spec.containers.map((c) =>
      new ContainerRun(c, `${this.dir}/${c.name}`, false)
    );
  }

  #event(type: "Normal" | "Warning", reason: string, message: string, c?: ContainerRun): void {
    const fieldPath = c
      ? `spec.${c.init ? "initContainers" : "containers"}{${c.spec.name}}`
      : undefined;
    podEvent(
      this.ctx.api,
      this.pod,
      type,
      reason,
      message,
      "kubelet",
      this.ctx.nodeName,
      fieldPath,
    );
  }

  get uid(): string {
    return this.pod.metadata.uid;
  }

  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  /** All containers, init first. */
  all(): ContainerRun[] {
    return [...this.inits, ...this.containers];
  }

  /** Find a container by name (for the log endpoint). */
  find(name: string): ContainerRun | undefined {
    return this.all().find((c) => c.spec.name === name);
  }

  /** The node failed (simulated): the pod is reported not Ready until it recovers. */
  setNodeDown(down: boolean): void {
    this.#nodeDown = down;
    this.schedulePatch();
  }

  /** A newer version of the pod object arrived from the watch. */
  update(pod: Pod): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp && !this.#stopping) {
      const grace = pod.metadata.deletionGracePeriodSeconds ??
        pod.spec.terminationGracePeriodSeconds ?? 30;
      void this.stop(grace, true);
    }
  }

  /** Set up the network and start the containers. */
  start(): Promise<void> {
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    for (const c of this.all()) await Deno.mkdir(`${c.dir}/cwd`, { recursive: true });
    try {
      if (this.pod.spec.hostNetwork) {
        this.ip = this.ctx.nodeIP;
      } else {
        this.ip = this.ctx.allocateIP();
        this.netns = await createPodNetwork(this.uid, this.ip);
      }
    } catch (e) {
      this.#podError = { reason: "NetworkSetupFailed", message: String(e), fatal: false };
      this.ctx.log(`${this.key}: network setup failed: ${e}`);
      this.#event("Warning", "FailedCreatePodSandBox", `network setup failed: ${e}`);
      this.schedulePatch();
      return;
    }
    if (this.#stopping) return;
    this.ctx.log(
      `${this.key}: started sandbox, IP ${this.ip}${this.netns ? ` (netns ${this.netns})` : ""}`,
    );
    this.schedulePatch();
    void this.#runAll();
  }

  async #runAll(): Promise<void> {
    try {
      this.#volumes = await prepareVolumes(this.ctx.api, this.pod, `${this.dir}/volumes`);
    } catch (e) {
      this.#podError = {
        reason: "FailedMount",
        message: String(e instanceof Error ? e.message : e),
        fatal: false,
      };
      this.schedulePatch();
      // Retry later, like a kubelet waiting for a Secret to appear.
      await this.#sleep(5_000);
      if (!this.#stopping) return this.#runAll();
      return;
    }
    this.#podError = undefined;
    for (const init of this.inits) {
      await this.#runContainer(init);
      if (this.#stopping) return;
      const t = init.state.terminated;
      if (!t || t.exitCode !== 0) {
        // Init container failed for good (restartPolicy Never): the pod fails.
        for (const c of this.containers) {
          c.state = { waiting: { reason: "PodInitializing" } };
          c.final = true;
          c.markDone();
        }
        this.schedulePatch();
        return;
      }
    }
    await Promise.all(this.containers.map((c) => this.#runContainer(c)));
    this.schedulePatch();
    // A terminal pod keeps its IP in status but gives up its sandbox, like a kubelet.
    if (!this.#stopping) await this.#teardownNetwork();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#abort.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }

  #shouldRestart(c: ContainerRun, code: number): boolean {
    const policy = this.pod.spec.restartPolicy ?? "Always";
    if (c.init) return policy !== "Never" && code !== 0;
    return policy === "Always" || (policy === "OnFailure" && code !== 0);
  }

  async #runContainer(c: ContainerRun): Promise<void> {
    let backoff = BACKOFF_START_MS;
    while (!this.#stopping) {
      const ok = await this.#startInstance(c);
      if (!ok) {
        // Configuration errors (unknown image, missing secret) are retried slowly.
        if (c.final || this.#stopping) break;
        await this.#sleep(5_000);
        continue;
      }
      const startedAt = Date.now();
      const probes = this.#startProbes(c);
      const st = await c.exited!;
      probes.abort();
      c.ready = false;
      c.started = false;
      const code = st.signal ? 128 + signalNumber(st.signal) : st.code;
      const started = c.state.running?.startedAt ?? now();
      c.state = {
        terminated: {
          exitCode: code,
          signal: st.signal ? signalNumber(st.signal) : undefined,
          reason: code === 0 ? "Completed" : "Error",
          startedAt: started,
          finishedAt: now(),
          containerID: `novaedge-nodesim://${c.pid}`,
        },
      };
      this.schedulePatch();
      if (this.#stopping || !this.#shouldRestart(c, code)) break;
      if (Date.now() - startedAt > 60_000) backoff = BACKOFF_START_MS;
      this.ctx.log(`${this.key}/${c.spec.name}: exited ${code}, restarting in ${backoff}ms`);
      if (code !== 0) {
        this.#event("Warning", "BackOff", `Back-off restarting failed container ${c.spec.name}`, c);
      }
      c.lastState = c.state;
      c.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${
            Math.round(backoff / 1000)
          }s restarting failed container=${c.spec.name} pod=${this.pod.metadata.name}`,
        },
      };
      c.restartCount++;
      this.schedulePatch();
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
    }
    c.final = true;
    c.markDone();
    this.schedulePatch();
  }

  /** The pod as the downward API sees it: with the IPs we assigned, even before the watch echoes them. */
  #podView(): Pod {
    const ipStatus = this.ip ? { podIP: this.ip, podIPs: [{ ip: this.ip }] } : {};
    return {
      ...this.pod,
      status: {
        ...this.pod.status,
        ...ipStatus,
        hostIP: this.ctx.nodeIP,
        hostIPs: [{ ip: this.ctx.nodeIP }],
      },
    };
  }

  /** Start one instance of a container; false when it could not be started. */
  async #startInstance(c: ContainerRun): Promise<boolean> {
    let env: Record<string, string>;
    try {
      env = await containerEnv(this.ctx.api, this.#podView(), c.spec);
    } catch (e) {
      c.state = {
        waiting: {
          reason: "CreateContainerConfigError",
          message: e instanceof Error ? e.message : String(e),
        },
      };
      this.schedulePatch();
      return false;
    }
    const resolved = resolveContainer(
      c.spec.image,
      expandAll(c.spec.command, env),
      expandAll(c.spec.args, env),
      env.PATH,
    );
    if ("error" in resolved) {
      if (c.state.waiting?.reason !== "ErrImagePull") {
        this.#event(
          "Warning",
          "Failed",
          `Failed to pull image "${c.spec.image}": ${resolved.error}`,
          c,
        );
      }
      c.state = { waiting: { reason: "ErrImagePull", message: resolved.error } };
      // A bare pod fails at once; a controller's pod stays Pending like with a real
      // kubelet, so its ReplicaSet does not churn through failing replacements.
      const owned = (this.pod.metadata.ownerReferences ?? []).some((o) => o.controller);
      this.#podError = { reason: "UnknownImage", message: resolved.error, fatal: !owned };
      if (!owned) c.final = true;
      this.ctx.log(`${this.key}/${c.spec.name}: ${resolved.error}`);
      this.schedulePatch();
      return false;
    }
    if (this.#podError?.reason === "UnknownImage") this.#podError = undefined;
    const cwd = c.spec.workingDir && isDir(c.spec.workingDir) ? c.spec.workingDir : `${c.dir}/cwd`;
    let cmd = resolved.exe;
    let args = resolved.argv;
    const mounts = this.#volumes?.mountsFor(c.spec) ?? [];
    if (mounts.length > 0 || this.netns) {
      [cmd, args] = wrapWithMounts(
        this.netns,
        mounts,
        `${this.dir}/overlay/${c.spec.name}`,
        cmd,
        args,
      );
    }
    // The pod may have been deleted while we resolved its environment.
    if (this.#stopping) return false;
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(cmd, {
        args,
        env,
        clearEnv: true,
        cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      c.state = { waiting: { reason: "RunContainerError", message: String(e) } };
      this.schedulePatch();
      return false;
    }
    const sink = new LogSink(c.logPath(c.restartCount));
    const pumps = Promise.all([
      sink.pump(child.stdout, "stdout"),
      sink.pump(child.stderr, "stderr"),
    ]);
    c.child = child;
    c.pid = child.pid;
    c.env = env;
    c.cwd = cwd;
    c.exited = child.status.then(async (st) => {
      await pumps;
      await sink.close();
      return st;
    });
    if (c.restartCount === 0) {
      this.#event(
        "Normal",
        "Pulled",
        `Container image "${c.spec.image}" mapped to ${resolved.exe}`,
        c,
      );
    }
    this.#event("Normal", "Started", `Started container ${c.spec.name} (pid ${child.pid})`, c);
    c.state = { running: { startedAt: now() } };
    c.started = !c.spec.startupProbe;
    c.ready = !c.init && !c.spec.readinessProbe && c.started;
    this.schedulePatch();
    return true;
  }

  /** Run the container's probes until the returned controller aborts. */
  #startProbes(c: ContainerRun): AbortController {
    const ac = new AbortController();
    const sig = AbortSignal.any([ac.signal, this.#abort.signal]);
    const loop = async (probe: Probe, kind: "startup" | "readiness" | "liveness") => {
      const period = (probe.periodSeconds ?? 10) * 1000;
      const success = probe.successThreshold ?? 1;
      const failure = probe.failureThreshold ?? 3;
      let okRun = 0;
      let failRun = 0;
      await this.#sleepSig((probe.initialDelaySeconds ?? 0) * 1000, sig);
      while (!sig.aborted) {
        if (kind !== "startup" && !c.started) {
          await this.#sleepSig(200, sig);
          continue;
        }
        const ok = await runProbe(probe, this.ip, c.spec, this.netns, { cwd: c.cwd, env: c.env })
          .catch(() => false);
        if (sig.aborted) return;
        if (ok) {
          okRun++;
          failRun = 0;
        } else {
          failRun++;
          okRun = 0;
        }
        if (!ok && failRun === 1 && kind !== "startup") {
          this.#event(
            "Warning",
            "Unhealthy",
            `${kind[0].toUpperCase()}${kind.slice(1)} probe failed`,
            c,
          );
        }
        if (kind === "readiness") {
          const ready = ok ? okRun >= success || c.ready : failRun < failure && c.ready;
          if (ready !== c.ready) {
            c.ready = ready;
            this.schedulePatch();
          }
        } else if (kind === "startup") {
          if (ok) {
            c.started = true;
            if (!c.spec.readinessProbe) c.ready = true;
            this.schedulePatch();
            return;
          }
          if (failRun >= failure) {
            this.ctx.log(`${this.key}/${c.spec.name}: startup probe failed, killing`);
            this.#kill(c, "SIGKILL");
            return;
          }
        } else if (!ok && failRun >= failure) {
          this.ctx.log(`${this.key}/${c.spec.name}: liveness probe failed, killing`);
          this.#kill(c, "SIGTERM");
          return;
        }
        // Probe quickly until first success so tests do not wait a whole period.
        await this.#sleepSig(
          okRun === 0 && kind === "readiness" && !c.ready ? Math.min(period, 1000) : period,
          sig,
        );
      }
    };
    if (c.spec.startupProbe) void loop(c.spec.startupProbe, "startup");
    if (c.spec.readinessProbe && !c.init) void loop(c.spec.readinessProbe, "readiness");
    if (c.spec.livenessProbe && !c.init) void loop(c.spec.livenessProbe, "liveness");
    return ac;
  }

  #sleepSig(ms: number, sig: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (sig.aborted) return resolve();
      const t = setTimeout(resolve, ms);
      sig.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }

  #kill(c: ContainerRun, sig: Deno.Signal): void {
    try {
      c.child?.kill(sig);
    } catch { /* exited */ }
  }

  /**
   * Stop every container (SIGTERM, SIGKILL after `graceSeconds`), tear down the network,
   * and, when `deleteObject`, delete the pod object (the kubelet's final delete).
   */
  stop(graceSeconds: number, deleteObject: boolean): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#stopping = true;
    this.#abort.abort();
    this.#stopped = (async () => {
      // Let a sandbox being created finish, so its namespace is torn down below.
      await this.#starting?.catch(() => undefined);
      const running = this.all().filter((c) => c.child && c.state.running);
      for (const c of running) {
        if (deleteObject) this.#event("Normal", "Killing", `Stopping container ${c.spec.name}`, c);
        this.#kill(c, "SIGTERM");
      }
      const grace = Math.max(0, Math.min(graceSeconds, 30)) * 1000;
      const all = Promise.all(running.map((c) => c.exited));
      const timedOut = await Promise.race([
        all.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), grace)),
      ]);
      if (timedOut) { for (const c of running) this.#kill(c, "SIGKILL"); }
      await Promise.race([all, new Promise((r) => setTimeout(r, 5_000))]);
      await this.#teardownNetwork();
      clearTimeout(this.#patchTimer);
      await this.#patching;
      if (deleteObject) {
        const m = this.pod.metadata;
        await this.ctx.api.delete(`/api/v1/namespaces/${m.namespace}/pods/${m.name}`, {
          gracePeriodSeconds: 0,
          preconditions: { uid: m.uid },
        }).catch((e) => {
          if (!(e instanceof ApiError && (e.status === 404 || e.status === 409))) {
            this.ctx.log(`${this.key}: final delete failed: ${e}`);
          }
        });
      }
      await Deno.remove(this.dir, { recursive: true }).catch(() => undefined);
      this.ctx.log(`${this.key}: stopped`);
      this.ctx.onGone(this.uid);
    })();
    return this.#stopped;
  }

  async #teardownNetwork(): Promise<void> {
    if (this.netns) {
      await deletePodNetwork(this.uid).catch(() => undefined);
      this.netns = undefined;
      if (this.ip) this.ctx.releaseIP(this.ip);
    }
  }

  /** Coalesce status writes (at most one in flight, 50 ms debounce). */
  schedulePatch(): void {
    if (this.#stopping && this.#stopped) return;
    clearTimeout(this.#patchTimer);
    this.#patchTimer = setTimeout(() => {
      this.#patching = this.#patching.then(() => this.#sendStatus()).catch(() => undefined);
    }, 50);
  }

  #cond(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
    const status = ok ? "True" : "False";
    const prev = this.#conditionTimes.get(type);
    const time = prev && prev.status === status ? prev.time : now();
    this.#conditionTimes.set(type, { status, time });
    const c: PodCondition = { type, status, lastTransitionTime: time, lastProbeTime: null };
    if (!ok && reason) c.reason = reason;
    if (!ok && message) c.message = message;
    return c;
  }

  /** The pod status as a kubelet would report it now. */
  computeStatus(): PodStatus {
    const inits = this.inits;
    const initsDone = inits.every((c) => c.final && c.state.terminated?.exitCode === 0);
    const cs = this.containers;
    const allReady = cs.length > 0 && cs.every((c) => c.ready) && !this.#nodeDown;
    let phase: PodStatus["phase"] = "Pending";
    const anyStarted = cs.some((c) => c.state.running || c.state.terminated || c.restartCount > 0);
    const initFailed = inits.some((c) => c.final && (c.state.terminated?.exitCode ?? 1) !== 0);
    if (this.#podError?.fatal || initFailed) {
      phase = "Failed";
    } else if (initsDone && cs.every((c) => c.final && c.state.terminated)) {
      phase = cs.every((c) => c.state.terminated!.exitCode === 0) ? "Succeeded" : "Failed";
    } else if (initsDone && anyStarted) {
      phase = "Running";
    }
    const notReady = cs.filter((c) => !c.ready).map((c) => c.spec.name);
    const nrMsg = `containers with unready status: [${notReady.join(" ")}]`;
    const sandbox = !!this.ip &&
      (this.netns !== undefined || !!this.pod.spec.hostNetwork || phase !== "Pending");
    const status: PodStatus = {
      phase,
      conditions: [
        this.#cond("PodReadyToStartContainers", sandbox),
        this.#cond(
          "Initialized",
          initsDone,
          "ContainersNotInitialized",
          "containers with incomplete status",
        ),
        this.#cond("Ready", allReady && phase === "Running", "ContainersNotReady", nrMsg),
        this.#cond("ContainersReady", allReady && phase === "Running", "ContainersNotReady", nrMsg),
        this.#cond("PodScheduled", true),
      ],
      hostIP: this.ctx.nodeIP,
      hostIPs: [{ ip: this.ctx.nodeIP }],
      startTime: this.#startTime,
      containerStatuses: cs.map((c) => c.status()),
    };
    if (this.ip) {
      status.podIP = this.ip;
      status.podIPs = [{ ip: this.ip }];
    }
    if (inits.length) status.initContainerStatuses = inits.map((c) => c.status());
    if (this.#podError) {
      status.reason = this.#podError.reason;
      status.message = this.#podError.message;
    } else {
      status.reason = undefined;
      status.message = undefined;
    }
    return status;
  }

  async #sendStatus(): Promise<void> {
    const status = this.computeStatus();
    const body = JSON.stringify(status);
    if (body === this.#lastSent) return;
    const m = this.pod.metadata;
    // JSON merge patch: null removes reason/message once the problem is gone.
    const patch = {
      status: { ...status, reason: status.reason ?? null, message: status.message ?? null },
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.ctx.api.mergePatch(
          `/api/v1/namespaces/${m.namespace}/pods/${m.name}/status`,
          patch,
        );
        this.#lastSent = body;
        return;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return;
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }
}

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
};

function signalNumber(s: Deno.Signal): number {
  return SIGNALS[s] ?? 15;
}
