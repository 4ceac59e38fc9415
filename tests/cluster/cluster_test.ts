/**
 * End-to-end tests of the local cluster: real kube-apiserver, controller-manager and
 * the node simulator. Each test has its own namespace.
 */
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { BRIDGE_IP } from "./config.ts";
import { run } from "./exec.ts";
import { podNetNames } from "./network.ts";
import { clusterTest, waitFor } from "./mod.ts";

interface PodLike {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    reason?: string;
    message?: string;
    containerStatuses?: {
      restartCount: number;
      state: Record<string, { reason?: string; exitCode?: number }>;
    }[];
  };
}

const echoDeployment = (name: string, replicas: number) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: echo
        image: registry.k8s.io/gateway-api/echo-basic:v1.5.1
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        ports:
        - {name: http, containerPort: 3000}
        readinessProbe:
          httpGet: {path: /health, port: http}
          periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${name}}
  ports:
  - {name: http, port: 8080, targetPort: 3000}
`;

clusterTest(
  "echo-basic Deployment: pods Ready with own IPs, EndpointSlice, traffic, logs, GC",
  async (c) => {
    await c.apply(echoDeployment("echo", 2));
    const pods = await c.waitForReadyPods("app=echo", 2) as unknown as PodLike[];
    const ips = pods.map((p) => p.status.podIP!);
    assert.equal(new Set(ips).size, 2, `distinct pod IPs: ${ips}`);
    // Both pods bind :3000 — only possible because each has its own network namespace.
    const nodeNames = new Set(pods.map((p) => p.spec.nodeName));
    assert.ok(nodeNames.size >= 1);

    // The endpointslice controller lists both pods as ready endpoints.
    const slices = await waitFor("EndpointSlice with 2 ready endpoints", async () => {
      const list = await c.api.get<{
        items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
      }>(
        `/apis/discovery.k8s.io/v1/namespaces/${c.namespace}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Decho`,
      );
      const addrs = list.items.flatMap((s) =>
        (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)
      );
      return addrs.length === 2 ? addrs : undefined;
    }, 60_000);
    assert.deepEqual([...slices].sort(), [...ips].sort());

    // Each pod answers at its own IP with its own name and namespace.
    for (const p of pods) {
      const res = await fetch(`http://${p.status.podIP}:3000/probe-${p.metadata.name}`);
      const body = await res.json() as { pod: string; namespace: string; path: string };
      assert.equal(res.status, 200);
      assert.equal(body.pod, p.metadata.name);
      assert.equal(body.namespace, c.namespace);
      assert.equal(body.path, `/probe-${p.metadata.name}`);
    }

    // kubectl logs goes API server -> simulated kubelet -> the container's log file.
    const name = pods[0].metadata.name;
    const logs = await waitFor("request in kubectl logs", async () => {
      const r = await c.kubectl(["logs", name]);
      return r.stdout.includes(`/probe-${name}`) ? r.stdout : undefined;
    }, 30_000);
    assert.match(logs, /listening on port 3000/);
    const tail = await c.kubectl(["logs", name, "--tail=1", "--timestamps"]);
    assert.equal(tail.stdout.trim().split("\n").length, 1);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);

    // Deleting the Deployment removes its ReplicaSet and pods (garbage collector).
    await c.kubectl(["delete", "deployment", "echo", "--wait=false"]);
    await waitFor("ReplicaSet and pods gone", async () => {
      const rs = await c.api.get<{ items: unknown[] }>(
        `/apis/apps/v1/namespaces/${c.namespace}/replicasets`,
      );
      const ps = await c.api.get<{ items: unknown[] }>(`/api/v1/namespaces/${c.namespace}/pods`);
      return rs.items.length === 0 && ps.items.length === 0;
    }, 90_000);
    // The pods' processes are gone too: nothing answers at their IPs any more.
    for (const ip of ips) {
      const ok = await fetch(`http://${ip}:3000/`, { signal: AbortSignal.timeout(1000) })
        .then(async (r) => {
          await r.body?.cancel();
          return true;
        }, () => false);
      assert.equal(ok, false, `${ip} still answers`);
    }
  },
);

clusterTest(
  "restartPolicy: OnFailure restarts with --previous logs; Never ends Succeeded",
  async (c) => {
    await c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  restartPolicy: OnFailure
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo attempt-$(date +%s%N); exit 3"]
---
apiVersion: v1
kind: Pod
metadata: {name: oneshot}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo done"]
`);
    const pod = await waitFor("crasher restarted twice", async () => {
      const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/crasher`);
      return (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? p : undefined;
    }, 60_000);
    assert.equal(pod.status.phase, "Running");
    const prev = await waitFor("previous logs", async () => {
      const r = await c.kubectl(["logs", "crasher", "--previous"], { check: false });
      return r.code === 0 && r.stdout.includes("attempt-") ? r.stdout : undefined;
    }, 30_000);
    assert.match(prev, /^attempt-\d+/);
    const done = await waitFor("oneshot Succeeded", async () => {
      const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/oneshot`);
      return p.status.phase === "Succeeded" ? p : undefined;
    }, 60_000);
    assert.equal(done.status.containerStatuses?.[0]?.state.terminated?.exitCode, 0);
    assert.equal((await c.kubectl(["logs", "oneshot"])).stdout.trim(), "done");
  },
);

clusterTest("an image the simulator does not know fails the pod with a clear reason", async (c) => {
  await c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: mystery}
spec:
  restartPolicy: Never
  containers:
  - {name: main, image: "example.com/not-a-known-image:1.0"}
`);
  const p = await waitFor("mystery Failed", async () => {
    const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/mystery`);
    return p.status.phase === "Failed" ? p : undefined;
  }, 60_000);
  assert.equal(p.status.reason, "UnknownImage");
  assert.match(
    p.status.message ?? "",
    /not-a-known-image.*not in the node simulator's image table/,
  );
  assert.equal(p.status.containerStatuses?.[0]?.state.waiting?.reason, "ErrImagePull");
});

clusterTest(
  "downward API, ConfigMap/Secret env and a Secret volume reach the container",
  async (c) => {
    const token = crypto.randomUUID();
    await c.apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello-from-configmap}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: "${token}"}
---
apiVersion: v1
kind: Pod
metadata:
  name: envdump
  labels: {tier: edge}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c"]
    args: ["echo name=$POD_NAME ns=$NAMESPACE ip=$POD_IP node=$NODE tier=$TIER greet=$GREETING greet2=$(GREETING); echo file=$(cat /etc/novaedge-test-secret/token)"]
    env:
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
    volumeMounts:
    - {name: creds, mountPath: /etc/novaedge-test-secret, readOnly: true}
  volumes:
  - name: creds
    secret: {secretName: creds}
`);
    const p = await waitFor("envdump finished", async () => {
      const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/envdump`);
      return p.status.phase === "Succeeded" || p.status.phase === "Failed" ? p : undefined;
    }, 60_000);
    const out = (await c.kubectl(["logs", "envdump"])).stdout;
    assert.equal(p.status.phase, "Succeeded", out);
    assert.match(
      out,
      new RegExp(
        `name=envdump ns=${c.namespace} ip=${p.status.podIP} node=${p.spec.nodeName} tier=edge`,
      ),
    );
    assert.match(out, /greet=hello-from-configmap greet2=hello-from-configmap/);
    assert.match(out, new RegExp(`file=${token}`));
    // The mount lived only in the pod's private mount namespace.
    assert.equal(await Deno.stat("/etc/novaedge-test-secret").then(() => true, () => false), false);
  },
);

clusterTest("pods reach the host at the bridge IP; the host reaches pods", async (c) => {
  const ac = new AbortController();
  let hits = 0;
  const server = Deno.serve(
    { hostname: BRIDGE_IP, port: 0, signal: ac.signal, onListen: () => {} },
    () => {
      hits++;
      return new Response("host-says-hi");
    },
  );
  try {
    const port = server.addr.port;
    await c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: caller}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "curl -s --max-time 5 http://${BRIDGE_IP}:${port}/"]
`);
    const p = await waitFor("caller finished", async () => {
      const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/caller`);
      return p.status.phase === "Succeeded" || p.status.phase === "Failed" ? p : undefined;
    }, 60_000);
    const out = (await c.kubectl(["logs", "caller"])).stdout;
    assert.equal(p.status.phase, "Succeeded", out);
    assert.equal(out.trim(), "host-says-hi");
    assert.equal(hits, 1);
  } finally {
    ac.abort();
    await server.finished;
  }
});

clusterTest("owner references: the garbage collector deletes dependents", async (c) => {
  const core = c.kubeconfig.makeApiClient(k8s.CoreV1Api);
  const owner = await core.createNamespacedConfigMap({
    namespace: c.namespace,
    body: { metadata: { name: "owner" }, data: { a: "1" } },
  });
  await core.createNamespacedConfigMap({
    namespace: c.namespace,
    body: {
      metadata: {
        name: "dependent",
        ownerReferences: [{
          apiVersion: "v1",
          kind: "ConfigMap",
          name: "owner",
          uid: owner.metadata!.uid!,
        }],
      },
    },
  });
  await core.deleteNamespacedConfigMap({ name: "owner", namespace: c.namespace });
  await waitFor("dependent ConfigMap collected", async () => {
    return (await c.api.tryGet(`/api/v1/namespaces/${c.namespace}/configmaps/dependent`)) ===
      undefined;
  }, 60_000);
});

clusterTest(
  "CRDs: Gateway API v1.6.1 (experimental channel) and NovaEdge CRDs are established",
  async (c) => {
    const r = await c.kubectl([
      "get",
      "crd",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}{"\\n"}{end}',
    ]);
    const names = r.stdout.trim().split("\n");
    for (
      const crd of [
        "gateways",
        "gatewayclasses",
        "httproutes",
        "grpcroutes",
        "tlsroutes",
        "tcproutes",
        "udproutes",
        "referencegrants",
        "backendtlspolicies",
        "listenersets",
      ]
    ) {
      assert.ok(names.includes(`${crd}.gateway.networking.k8s.io`), `missing ${crd}`);
    }
    const crdDir = new URL("../../manifests/crds/", import.meta.url).pathname;
    let expected = 0;
    try {
      for (const e of Deno.readDirSync(crdDir)) {
        if (!/\.ya?ml$/.test(e.name)) continue;
        const text = Deno.readTextFileSync(`${crdDir}${e.name}`);
        expected += [...text.matchAll(/^kind:\s*CustomResourceDefinition\s*$/gm)].length;
      }
    } catch { /* no NovaEdge CRDs yet */ }
    const novaedge = names.filter((n) => !n.includes("gateway.networking"));
    assert.ok(
      novaedge.length >= expected,
      `NovaEdge CRDs installed ${novaedge.length}, files define ${expected}`,
    );
    // A Gateway can be created (schema + CEL validation work on this API server).
    await c.apply(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: novaedge
  listeners:
  - {name: http, port: 80, protocol: HTTP}
`);
    const bad = await c.kubectl(["apply", "-f", "-"], {
      check: false,
      stdin: `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: bad}
spec:
  gatewayClassName: novaedge
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    tls: {mode: Terminate, certificateRefs: [{name: cert}]}
`,
    });
    assert.notEqual(bad.code, 0, "an HTTP listener with TLS must be rejected by CEL validation");
    assert.match(bad.stderr, /tls must not be specified/);
  },
);

clusterTest("DaemonSet: one pod per simulated node, each bound by node affinity", async (c) => {
  await c.apply(`
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: per-node}
spec:
  selector:
    matchLabels: {app: per-node}
  template:
    metadata:
      labels: {app: per-node}
    spec:
      containers:
      - name: main
        image: busybox:1.36
        args: ["sh", "-c", "echo on $NODE; exec sleep 3600"]
        env:
        - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
`);
  const pods = await c.waitForReadyPods("app=per-node", c.nodes.length) as unknown as PodLike[];
  const nodes = pods.map((p) => p.spec.nodeName).sort();
  assert.deepEqual(nodes, c.nodes.map((n) => n.name).sort());
  for (const p of pods) {
    const out = await waitFor("greeting in logs", async () => {
      const r = await c.kubectl(["logs", p.metadata.name]);
      return r.stdout.trim() ? r.stdout.trim() : undefined;
    }, 30_000);
    assert.equal(out, `on ${p.spec.nodeName}`);
  }
});

clusterTest(
  "probes: exec readiness runs in the container's cwd; failed liveness restarts",
  async (c) => {
    await c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: gated, labels: {app: gated}}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "sleep 2; touch ready-$MARK; exec sleep 3600"]
    env: [{name: MARK, value: x1}]
    readinessProbe:
      exec: {command: ["sh", "-c", "test -f ready-$MARK"]}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: unhealthy}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "exec sleep 3600"]
    livenessProbe:
      tcpSocket: {port: 9}
      periodSeconds: 1
      failureThreshold: 2
`);
    const early = await c.api.get<
      PodLike & { status: { conditions?: { type: string; status: string }[] } }
    >(
      `/api/v1/namespaces/${c.namespace}/pods/gated`,
    );
    assert.notEqual(early.status.conditions?.find((x) => x.type === "Ready")?.status, "True");
    await c.waitForReadyPods("app=gated", 1, 60_000);
    const p = await waitFor("liveness restart", async () => {
      const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/unhealthy`);
      return (p.status.containerStatuses?.[0]?.restartCount ?? 0) >= 1 ? p : undefined;
    }, 60_000);
    assert.equal(p.status.phase, "Running");
  },
);

clusterTest("init containers run first; containers of a pod share an emptyDir", async (c) => {
  await c.apply(`
apiVersion: v1
kind: Pod
metadata: {name: shared}
spec:
  restartPolicy: Never
  initContainers:
  - name: init
    image: busybox:1.36
    command: ["sh", "-c", "echo from-init > /novaedge-shared/init.txt"]
    volumeMounts: [{name: scratch, mountPath: /novaedge-shared}]
  containers:
  - name: writer
    image: busybox:1.36
    command: ["sh", "-c", "echo from-writer > /novaedge-shared/w.txt"]
    volumeMounts: [{name: scratch, mountPath: /novaedge-shared}]
  - name: reader
    image: busybox:1.36
    command: ["sh", "-c", "for i in $(seq 50); do [ -f /data/w.txt ] && break; sleep 0.2; done; cat /data/init.txt /data/w.txt"]
    volumeMounts: [{name: scratch, mountPath: /data}]
  volumes:
  - {name: scratch, emptyDir: {}}
`);
  const p = await waitFor("shared finished", async () => {
    const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/shared`);
    return p.status.phase === "Succeeded" || p.status.phase === "Failed" ? p : undefined;
  }, 60_000);
  const out = (await c.kubectl(["logs", "shared", "-c", "reader"])).stdout;
  assert.equal(p.status.phase, "Succeeded", out);
  assert.equal(out.trim(), "from-init\nfrom-writer");
  assert.equal((await c.kubectl(["logs", "shared", "-c", "init"])).stdout, "");
  // The mount points existed only inside the containers' private roots.
  for (const dir of hostHadData ? ["/novaedge-shared"] : ["/novaedge-shared", "/data"]) {
    assert.equal(await Deno.stat(dir).then(() => true, () => false), false, `${dir} on the host`);
  }
});

const hostHadData = await Deno.stat("/data").then(() => true, () => false);

clusterTest("pods deleted while starting leave no namespace or process behind", async (c) => {
  const names = Array.from({ length: 6 }, (_, i) => `flash-${i}`);
  await c.apply(
    names.map((n) =>
      `apiVersion: v1
kind: Pod
metadata: {name: ${n}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: "busybox:1.36", command: ["sleep", "3600"]}
`
    ).join("---\n"),
  );
  const uids: string[] = [];
  for (const n of names) {
    const p = await c.api.get<PodLike>(`/api/v1/namespaces/${c.namespace}/pods/${n}`);
    uids.push(p.metadata.uid);
  }
  await c.kubectl(["delete", "pod", ...names, "--wait=false"]);
  await waitFor("all flash pods gone", async () => {
    const list = await c.api.get<{ items: unknown[] }>(`/api/v1/namespaces/${c.namespace}/pods`);
    return list.items.length === 0;
  }, 90_000);
  await waitFor("their network namespaces gone", async () => {
    const ns = (await run("ip", ["netns", "list"])).stdout;
    return uids.every((u) => !ns.includes(podNetNames(u).netns));
  }, 30_000);
});

clusterTest("hostNetwork pods run in the host namespace with the node IP", async (c) => {
  await c.apply(`
apiVersion: v1
kind: ConfigMap
metadata: {name: hostcfg}
data: {motd: host-net-volume}
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  hostNetwork: true
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo ip=$POD_IP host=$HOST_IP; cat /etc/novaedge-hostnet/motd"]
    env:
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    volumeMounts: [{name: cfg, mountPath: /etc/novaedge-hostnet}]
  volumes:
  - {name: cfg, configMap: {name: hostcfg}}
`);
  const p = await waitFor("hostnet finished", async () => {
    const p = await c.api.get<PodLike & { status: { hostIP?: string } }>(
      `/api/v1/namespaces/${c.namespace}/pods/hostnet`,
    );
    return p.status.phase === "Succeeded" || p.status.phase === "Failed" ? p : undefined;
  }, 60_000);
  const out = (await c.kubectl(["logs", "hostnet"])).stdout;
  assert.equal(p.status.phase, "Succeeded", out);
  const node = c.nodes.find((n) => n.name === p.spec.nodeName)!;
  assert.equal(p.status.podIP, node.ip);
  assert.equal(out, `ip=${node.ip} host=${node.ip}\nhost-net-volume\n`);
  assert.equal(await Deno.stat("/etc/novaedge-hostnet").then(() => true, () => false), false);
});

clusterTest(
  "a simulated node failure turns the Node and its pods not Ready, then recovers",
  async (c) => {
    await c.apply(echoDeployment("spread", 2));
    const pods = await c.waitForReadyPods("app=spread", 2) as unknown as PodLike[];
    const victim = pods[0].spec.nodeName!;
    const onVictim = pods.filter((p) => p.spec.nodeName === victim).length;
    const lease = await c.api.get<{ spec: { holderIdentity: string } }>(
      `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${victim}`,
    );
    assert.equal(lease.spec.holderIdentity, victim);
    await c.setNodeReady(victim, false);
    // Only the pods on the other node stay Ready (so their endpoints stay ready).
    await c.waitForReadyPods("app=spread", 2 - onVictim, 30_000);
    await c.setNodeReady(victim, true);
    await c.waitForReadyPods("app=spread", 2, 30_000);
  },
);
