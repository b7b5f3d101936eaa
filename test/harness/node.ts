// The node of the cluster tier: containerd and runc from Debian, kubelet v1.37 from the
// install-deps cache, and Multus (thin plugin, from the cache) as the node's CNI, whose cluster
// network is our `kube-ovn` plugin (provider `ovn`). What worked on this machine, and the two
// settings it took, are in ../shared/reference/real-cluster.md:
// - kubelet: `failCgroupV1: false` (cgroups v1 here);
// - containerd's CRI: `restrict_oom_score_adj = true` (no CAP_SYS_RESOURCE here: runc cannot
//   lower oom_score_adj, and every sandbox failed with "can't get final child's PID from pipe").
//
// Rules:
// - Every directory of containerd, runc, kubelet, Multus and the CNI configuration lives in the
//   cluster's temp dir. What kubelet and containerd still write outside it (real-cluster.md:
//   /var/log/pods, /var/log/containers, /var/lib/cni, the `kubepods` cgroups, `cni-*`
//   namespaces, mounts) is undone by one teardown script (`teardownScript`), written before
//   anything starts and tracked by the reaper, so a killed test run cleans up the same way
//   the normal stop does. The script only removes what did not exist before the node started.
// - The node's address is on a veth pair of its own (`kovt-node`, 100.64.254.1/24): kubelet
//   refuses a loopback node IP, and the API server reaches kubelet (exec, logs) on it. The
//   same link is the master of the seed's macvlan NAD (the test points `master` at it).
// - Images are not pulled from the network: containerd's mirror for docker.io is the harness's
//   registry on loopback (images.ts); our image is imported with `ctr images import`.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk } from './exec.js';
import { DEFAULT_CACHE } from './kubectl.js';
import { SANDBOX_IMAGE } from './images.js';

export const NODE_LINK = 'kovt-node';
export const NODE_PEER = 'kovt-node-p';
export const NODE_IP = '100.64.254.1';

/** Paths outside the cluster dir that kubelet, containerd and the CNI libraries create. */
export const OUTSIDE_PATHS: readonly string[] = [
  '/var/log/pods', '/var/log/containers', '/var/lib/cni', '/var/lib/kubelet', '/usr/libexec/kubernetes',
  '/run/containerd',
];

/** A binary of the install-deps cache (or env `envVar`); throws with how to get it. */
export function cachedBinary(name: string, envVar: string, script: string): string {
  const env = process.env[envVar];
  const path = env !== undefined && env !== '' ? env : join(process.env['KUBE_OVN_IPAM_CACHE'] ?? DEFAULT_CACHE, 'bin', name);
  if (!existsSync(path)) {
    throw new Error(`${name} not found (${path}); run \`sudo scripts/install-deps.sh\` (it runs ${script}), or point ${envVar} at a ${name} binary`);
  }
  return path;
}

export interface NodePaths {
  readonly dir: string;
  readonly containerdSocket: string;
  readonly cniBin: string;
  readonly cniConf: string;
  readonly kubeletRoot: string;
}

export function nodePaths(dir: string): NodePaths {
  return {
    dir,
    containerdSocket: join(dir, 'containerd', 'containerd.sock'),
    cniBin: join(dir, 'cni', 'bin'),
    cniConf: join(dir, 'cni', 'net.d'),
    kubeletRoot: join(dir, 'kubelet'),
  };
}

/** containerd's configuration (version 2, containerd 1.6). */
export function containerdConfig(p: NodePaths, registryPort: number): string {
  const d = join(p.dir, 'containerd');
  return `version = 2
root = "${d}/root"
state = "${d}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${p.containerdSocket}"
[ttrpc]
  address = "${p.containerdSocket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${SANDBOX_IMAGE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${d}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${p.cniBin}"
    conf_dir = "${p.cniConf}"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:${registryPort}"]
`;
}

export interface KubeletPorts {
  readonly port: number;
  readonly healthz: number;
}

/** kubelet's KubeletConfiguration (JSON is YAML). */
export function kubeletConfig(p: NodePaths, ports: KubeletPorts): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'cgroupfs',
    failCgroupV1: false,
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    address: NODE_IP,
    port: ports.port,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports.healthz,
    readOnlyPort: 0,
    // Tests only: the API server reaches kubelet for exec and logs without client certificates.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    resolvConf: '',
    enforceNodeAllocatable: [],
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    failSwapOn: false,
    serializeImagePulls: false,
    localStorageCapacityIsolation: false,
    nodeStatusUpdateFrequency: '2s',
    syncFrequency: '5s',
    maxPods: 250,
    kubeAPIQPS: 100,
    kubeAPIBurst: 200,
  }, null, 2);
}

/** Multus's own configuration: the cluster network is our plugin (eth0, provider `ovn`). */
export function multusConfig(p: NodePaths, kubeconfig: string, daemonSocket: string): string {
  return JSON.stringify({
    cniVersion: '0.3.1',
    name: 'multus-cni-network',
    type: 'multus',
    kubeconfig,
    cniDir: join(p.dir, 'multus-cache'),
    binDir: p.cniBin,
    logFile: join(p.dir, 'multus.log'),
    logLevel: 'verbose',
    delegates: [{ cniVersion: '0.3.1', name: 'kube-ovn', plugins: [{ type: 'kube-ovn', server_socket: daemonSocket }] }],
  }, null, 2);
}

/**
 * The teardown script: stops every container of the node (SIGKILL to each process of the
 * `kubepods` cgroups), kubelet, the shims and containerd (by their command lines, which name
 * the cluster dir), unmounts everything under the cluster dir, removes the cgroups depth-first,
 * the `cni-*` namespaces and the outside paths that did not exist before, and the node link.
 */
export function teardownScript(p: NodePaths, before: OutsideBefore): string {
  const missing = OUTSIDE_PATHS.filter((x) => !before.paths.includes(x));
  return `#!/usr/bin/env bash
# Written by test/harness/node.ts; undoes the cluster tier's node. Idempotent.
D=${JSON.stringify(p.dir)}
kill_cgroups() {
  for h in /sys/fs/cgroup/*/; do
    for cg in $(find "$h" -maxdepth 6 -type d -name 'kubepods*' 2>/dev/null); do
      for f in $(find "$cg" -name cgroup.procs 2>/dev/null); do
        for pid in $(cat "$f" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
      done
    done
  done
}
ours() { for pid in $(pgrep -f -- "$D" 2>/dev/null); do [ "$pid" != "$$" ] && echo "$pid"; done; }
for sig in TERM KILL; do
  pkill -"$sig" -f -- "kubelet.*$D" 2>/dev/null
  sleep 0.5
done
for round in 1 2 3; do kill_cgroups; sleep 0.3; done
for pid in $(ours); do kill -9 "$pid" 2>/dev/null; done
sleep 0.5
# Mounts under the cluster dir (kubelet's volumes, containerd's rootfs and shm), deepest first.
for m in $(awk '{print $5}' /proc/self/mountinfo | grep -F -- "$D" | sort -r); do umount -l "$m" 2>/dev/null; done
for h in /sys/fs/cgroup/*/; do
  find "$h" -depth -type d -name 'kubepods*' 2>/dev/null | while read -r cg; do
    find "$cg" -depth -type d -exec rmdir {} \\; 2>/dev/null
  done
done
before_netns=" ${before.netns.join(' ')} "
for ns in $(ls /var/run/netns 2>/dev/null | grep '^cni-'); do
  case "$before_netns" in *" $ns "*) ;; *) umount -l "/var/run/netns/$ns" 2>/dev/null; rm -f "/var/run/netns/$ns" ;; esac
done
for path in ${missing.map((x) => JSON.stringify(x)).join(' ')}; do
  [ -e "$path" ] || continue
  for m in $(awk '{print $5}' /proc/self/mountinfo | grep -E -- "^$path(/|$)" | sort -r); do umount -l "$m" 2>/dev/null; done
  rm -rf "$path"
done
${before.netnsMount ? '' : `# shareNetnsMount made /run/netns a mount: undo it once no namespace is left in it.
if mountpoint -q /run/netns && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then umount /run/netns 2>/dev/null; fi`}
ip link del ${NODE_LINK} 2>/dev/null
rm -rf "$D"
exit 0
`;
}

export interface OutsideBefore {
  readonly paths: readonly string[];
  readonly netns: readonly string[];
  /** /run/netns was a mount point already (iproute2 or a previous run made it one). */
  readonly netnsMount: boolean;
}

/** What exists outside the cluster dir before the node starts (for the teardown script). */
export async function outsideBefore(): Promise<OutsideBefore> {
  return {
    paths: OUTSIDE_PATHS.filter((x) => existsSync(x)),
    netns: existsSync('/var/run/netns') ? readdirSync('/var/run/netns').filter((n) => n.startsWith('cni-')) : [],
    netnsMount: (await run(['mountpoint', '-q', '/run/netns'])).code === 0,
  };
}

/**
 * /run/netns as a shared mount, as on a systemd host (and as `ip netns add` leaves it): the
 * daemon mounts it with HostToContainer propagation, which containerd refuses on a private
 * mount ("is mounted on / but it is not a shared or slave mount"). The teardown script undoes a
 * bind mount made here (OutsideBefore.netnsMount).
 */
export async function shareNetnsMount(): Promise<void> {
  await runOk(['mkdir', '-p', '/run/netns']);
  if ((await run(['mountpoint', '-q', '/run/netns'])).code !== 0) await runOk(['mount', '--bind', '/run/netns', '/run/netns']);
  await runOk(['mount', '--make-shared', '/run/netns']);
}

/** The node's veth pair, both ends up, the node address on `kovt-node` (which must not exist:
 *  preflight checked; the teardown script deletes it). */
export async function createNodeLink(): Promise<void> {
  await shareNetnsMount();
  await runOk(['ip', 'link', 'add', NODE_LINK, 'type', 'veth', 'peer', 'name', NODE_PEER]);
  await runOk(['ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', NODE_LINK]);
  await runOk(['ip', 'link', 'set', NODE_PEER, 'up']);
  await runOk(['ip', 'link', 'set', NODE_LINK, 'up']);
}

/** Makes the node's folders, writes the configuration files, links the reference plugins. */
export function prepareNodeFiles(p: NodePaths, files: { containerd: string; kubelet: string; multus: string }): void {
  for (const d of [p.cniBin, p.cniConf, p.kubeletRoot, join(p.dir, 'containerd'), join(p.dir, 'multus-cache')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(p.dir, 'containerd', 'config.toml'), files.containerd);
  writeFileSync(join(p.dir, 'kubelet.yaml'), files.kubelet);
  writeFileSync(join(p.cniConf, '00-multus.conf'), files.multus);
}
