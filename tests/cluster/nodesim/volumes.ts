/**
 * Pod volumes without a container runtime: emptyDir, secret, configMap and
 * hostPath volumes are materialised as directories under the pod's run
 * directory, and each container runs in a private mount namespace where they are
 * bind-mounted at their `mountPath`. When a mount point does not exist on the
 * host (e.g. /etc/secret-volume), its nearest existing parent directory is
 * overlaid (overlayfs, upper layer on tmpfs) inside that private namespace only;
 * when even the top-level directory is missing (e.g. /data), the container gets a
 * private root of recursive binds and is chrooted into it. The host's file system
 * never changes.
 */
import type { KubeApi } from "../api.ts";
import { readData } from "./env.ts";
import type { Container, Pod } from "./types.ts";

/** One bind mount for one container. */
export interface Mount {
  src: string;
  dst: string;
  readOnly: boolean;
}

/** The volumes of a pod, ready to be mounted. */
export interface VolumePlan {
  mountsFor(c: Container): Mount[];
}

/** Create the pod's volume directories; throws (with a kubelet-like message) when a source is missing. */
export async function prepareVolumes(api: KubeApi, pod: Pod, dir: string): Promise<VolumePlan> {
  const ns = pod.metadata.namespace ?? "default";
  const sources = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) {
    const path = `${dir}/${v.name}`;
    const raw = v as unknown as Record<string, { path?: string } | undefined>;
    if (v.emptyDir) {
      await Deno.mkdir(path, { recursive: true });
    } else if (v.secret || v.configMap) {
      const kind = v.secret ? "secrets" : "configmaps";
      const name = v.secret ? v.secret.secretName : v.configMap!.name;
      const optional = (v.secret ?? v.configMap)!.optional ?? false;
      const items = (v.secret ?? v.configMap)!.items;
      const data = await readData(api, ns, kind, name);
      if (!data && !optional) {
        throw new Error(
          `MountVolume.SetUp failed for volume "${v.name}": ${
            kind.slice(0, -1)
          } "${name}" not found`,
        );
      }
      await Deno.mkdir(path, { recursive: true });
      const files = items ?? Object.keys(data ?? {}).map((k) => ({ key: k, path: k }));
      for (const it of files) {
        const val = data?.[it.key];
        if (val === undefined) continue;
        const target = `${path}/${it.path}`;
        await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
        await Deno.writeTextFile(target, val, { mode: 0o644 });
      }
    } else if (raw.hostPath?.path) {
      sources.set(v.name, raw.hostPath.path);
      continue;
    } else {
      // Other volume kinds (projected, downwardAPI, PVCs...) are not simulated: an empty dir.
      await Deno.mkdir(path, { recursive: true });
    }
    sources.set(v.name, path);
  }
  return {
    mountsFor(c: Container): Mount[] {
      return (c.volumeMounts ?? []).flatMap((m) => {
        const base = sources.get(m.name);
        if (!base) return [];
        return [{
          src: m.subPath ? `${base}/${m.subPath}` : base,
          dst: m.mountPath,
          readOnly: !!m.readOnly,
        }];
      });
    },
  };
}

// Runs inside the private mount namespace: "$1" overlay work dir, then triples src dst ro,
// then "--" and the program. Mount points that do not exist get an overlay on their nearest
// existing parent so they can be created without touching the host.
const MOUNT_SCRIPT = `set -e
ovl="$1"; shift
exe="$1"; shift
# Keep the program reachable even if a volume is mounted over its directory (e.g. /root):
# bind it first to a private path that keeps its base name (multi-call binaries use it).
mkdir -p "$ovl/bin"
prog="$ovl/bin/$(basename "$exe")"
[ -e "$prog" ] || touch "$prog"
mount --bind "$exe" "$prog"
# A mount point whose top-level directory does not exist (e.g. /data) cannot be created
# without touching the host's /: then the container gets its own root, a tmpfs-backed
# directory holding recursive binds of every top-level host entry, and is chrooted into it.
base=""
i=1
for a in "$@"; do
  [ "$a" = "--" ] && break
  if [ $((i % 3)) = 2 ]; then
    top="/$(printf %s "$a" | cut -d/ -f2)"
    [ -e "$top" ] || base="$ovl/root"
  fi
  i=$((i + 1))
done
if [ -n "$base" ]; then
  mkdir -p "$base"
  for e in /* /.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n="$base$e"
    if [ -L "$e" ]; then ln -sfn "$(readlink "$e")" "$n"
    elif [ -d "$e" ]; then mkdir -p "$n"; mount --rbind "$e" "$n"
    else touch "$n"; mount --bind "$e" "$n"; fi
  done
fi
while [ "$1" != "--" ]; do
  src="$1"; dst="$base$2"; ro="$3"; shift 3
  if [ ! -e "$dst" ]; then
    anc=$(dirname "$dst")
    while [ ! -d "$anc" ]; do anc=$(dirname "$anc"); done
    if [ "$anc" != "/" ] && [ "$anc" != "$base" ]; then
      layer="$ovl/layers/$(printf %s "$anc" | tr / _)"
      mkdir -p "$layer/u" "$layer/w"
      mount -t overlay overlay -o "lowerdir=$anc,upperdir=$layer/u,workdir=$layer/w" "$anc"
    fi
    if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; touch "$dst"; fi
  fi
  mount --bind "$src" "$dst"
  if [ "$ro" = ro ]; then mount -o remount,bind,ro "$dst"; fi
done
shift
if [ -n "$base" ]; then
  exec chroot "$base" /bin/sh -c 'cd "$1" 2>/dev/null || cd /; shift; exec "$@"' sh "$PWD" "$prog" "$@"
fi
exec "$prog" "$@"
`;

/**
 * The command that runs `exe args` in the pod's network namespace (when `netns`) with the
 * given bind mounts applied in a private mount namespace. `ip netns exec` already gives a
 * private mount namespace; for host-network pods `unshare -m` does.
 */
export function wrapWithMounts(
  netns: string | undefined,
  mounts: Mount[],
  overlayDir: string,
  exe: string,
  args: string[],
): [string, string[]] {
  const prog = mounts.length === 0 ? [exe, ...args] : [
    "sh",
    "-c",
    MOUNT_SCRIPT,
    "mount-volumes",
    overlayDir,
    exe,
    ...mounts.flatMap((m) => [m.src, m.dst, m.readOnly ? "ro" : "rw"]),
    "--",
    ...args,
  ];
  if (netns) return ["ip", ["netns", "exec", netns, ...prog]];
  return ["unshare", ["--mount", "--propagation", "private", ...prog]];
}
