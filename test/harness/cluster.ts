// A one-node Kubernetes cluster for the cluster tier, started by the tests themselves: etcd,
// kube-apiserver (RBAC, ServiceAccount admission on), kube-controller-manager, kube-scheduler,
// containerd + runc, kubelet, Multus as the node's CNI (its cluster network our `kube-ovn`
// plugin), Open vSwitch and OVN in userspace in the host's namespace (run dir
// /run/openvswitch, as on a real node), a registry on loopback for the seed's images, our
// image imported into containerd, and then `kubectl apply -k` of an overlay of `config/`: our
// controller and daemon run as pods of that cluster, under their own ServiceAccounts.
//
// Rules:
// - One cluster per tier: jest's globalSetup of the `cluster` project starts it and writes
//   `clusterInfo()` to CLUSTER_STATE; each test file connects to it (`connectCluster`);
//   globalTeardown stops it. A test file leaves the cluster as it found it (it deletes what
//   it created), because the next file shares it.
// - The overlay (written into the cluster dir) changes only what a test node needs: one
//   controller and one webhook replica (one node; the base spreads two over nodes), the OVN NB socket's
//   folder, the CNI folders of this node, and KUBERNETES_SERVICE_HOST/PORT pointing at the API
//   server on loopback (no kube-proxy here; hostNetwork pods share the host's loopback).
// - stop() deletes every pod first, so kubelet runs the CNI DEL of each (through Multus and our
//   plugin), then stops kubelet and the node (the teardown script), the registry, OVS and the
//   API server. Nothing is left behind (node.ts); a stop that finds a pod or a claim left after
//   the DELs fails.
import { copyFileSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, freePort, type ApiServer } from './apiserver.js';
import { run, runOk, waitFor } from './exec.js';
import { buildTestImages, pushTestImages, registryConfig } from './images.js';
import { kubectlFor, type Kubectl, type KubectlOptions } from './kubectl.js';
import {
  cachedBinary, containerdConfig, createNodeLink, kubeletConfig, multusConfig, NODE_IP, NODE_LINK, nodePaths, outsideBefore, prepareNodeFiles,
  teardownScript, type NodePaths,
} from './node.js';
import { startOvs, type OvsEnv } from './ovs.js';
import { launch, tail, terminate, waitReady, type Proc } from './proc.js';
import { track, untrack } from './reaper.js';
import { makeTempDir } from './tmp.js';

const here = fileURLToPath(new URL('.', import.meta.url));
/** The repository (this file runs from test/harness, or compiled from dist/test/harness). */
export const REPO = here.includes('/dist/test/') ? here.slice(0, here.lastIndexOf('/dist/test/')) : fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const NAMESPACE = 'kube-ovn-ipam';
export const NODE_NAME = 'kovt-node';
export const DAEMON_SOCKET = '/run/openvswitch/kube-ovn-daemon.sock';
export const OVS_RUN_DIR = '/run/openvswitch';
/** Where globalSetup writes clusterInfo() for the tier's test files. */
export const CLUSTER_STATE = join(tmpdir(), 'kube-ovn-ipam-cluster-tier.json');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
export const IMAGE = `kube-ovn-ipam:${VERSION}`;
export const IMAGE_ARCHIVE = join(REPO, 'dist', 'image', `kube-ovn-ipam-${VERSION}.oci.tar`);

/** What a test file needs to use the shared cluster. */
export interface ClusterInfo {
  readonly dir: string;
  readonly url: string;
  readonly token: string;
  readonly kubeconfigPath: string;
  readonly caPath: string;
  readonly nodeName: string;
  readonly nodeIp: string;
  readonly containerdSocket: string;
  readonly cniBin: string;
  readonly ovsEnv: Readonly<Record<string, string>>;
  readonly ovsDb: { readonly ovs: string; readonly nb: string | undefined; readonly sb: string | undefined };
  readonly image: string;
}

export interface Cluster extends ClusterInfo {
  readonly kubectl: Kubectl;
  kubectlOk(args: readonly string[], options?: KubectlOptions): Promise<string>;
  /** `ctr` against the node's containerd, namespace k8s.io. */
  ctr(...args: string[]): Promise<string>;
  /** The last lines of a component's log: kubelet, containerd, scheduler, multus, registry. */
  logTail(which: string, lines?: number): string;
}

export interface RunningCluster extends Cluster {
  readonly api: ApiServer;
  readonly ovs: OvsEnv;
  stop(): Promise<void>;
}

const KCM_CONTROLLERS = [
  'deployment-controller', 'replicaset-controller', 'statefulset-controller', 'daemonset-controller', 'garbage-collector-controller',
  'serviceaccount-controller', 'root-ca-certificate-publisher-controller', 'namespace-controller',
  // The Services' endpoints: the API server calls the webhook through them (no kube-proxy).
  'endpoints-controller', 'endpointslice-controller',
  // Takes away the not-ready taint kubelet registers the node with, once it is Ready.
  'node-lifecycle-controller',
];

/** Copies the multus binary and links every reference plugin of /usr/lib/cni into the CNI bin dir. */
function populateCniBin(p: NodePaths, multus: string): void {
  copyFileSync(multus, join(p.cniBin, 'multus'));
  for (const plugin of ['macvlan', 'ipvlan', 'host-device', 'bridge', 'host-local', 'loopback', 'tuning', 'static', 'portmap']) {
    if (existsSync(`/usr/lib/cni/${plugin}`)) symlinkSync(`/usr/lib/cni/${plugin}`, join(p.cniBin, plugin));
  }
}

/** The kustomize overlay of config/ for this node (see the header): strategic merge patches,
 *  so containers, env entries and volumes are matched by name. */
export function overlay(p: NodePaths, apiPort: number, overlayDir: string): string {
  const env = [
    { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' },
    { name: 'KUBERNETES_SERVICE_PORT', value: String(apiPort) },
  ];
  const hostPath = (name: string, path: string): object => ({ name, hostPath: { path } });
  const patch = (kind: string, name: string, spec: object): object => ({
    patch: JSON.stringify({ apiVersion: 'apps/v1', kind, metadata: { name, namespace: NAMESPACE }, spec }),
  });
  return JSON.stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [relative(overlayDir, join(REPO, 'config'))],
    patches: [
      patch('Deployment', 'kube-ovn-ipam-controller', {
        replicas: 1,
        template: { spec: { containers: [{ name: 'controller', env }], volumes: [hostPath('ovn-run', OVS_RUN_DIR)] } },
      }),
      patch('Deployment', 'kube-ovn-ipam-webhook', {
        replicas: 1,
        template: { spec: { containers: [{ name: 'webhook', env }] } },
      }),
      patch('DaemonSet', 'kube-ovn-ipam-daemon', {
        template: { spec: { containers: [{ name: 'daemon', env }], volumes: [hostPath('cni-bin', p.cniBin), hostPath('cni-conf', p.cniConf)] } },
      }),
    ],
  }, null, 2);
}

/** The part of a cluster a test file needs (written to CLUSTER_STATE). */
export const clusterInfo = (c: ClusterInfo): ClusterInfo => ({
  dir: c.dir, url: c.url, token: c.token, kubeconfigPath: c.kubeconfigPath, caPath: c.caPath, nodeName: c.nodeName, nodeIp: c.nodeIp,
  containerdSocket: c.containerdSocket, cniBin: c.cniBin, ovsEnv: c.ovsEnv, ovsDb: c.ovsDb, image: c.image,
});

interface Binaries { readonly scheduler: string; readonly kubelet: string; readonly multus: string }

/** Every binary, the image, and a free /run/openvswitch and node link, or an Error saying how. */
async function preflight(): Promise<Binaries> {
  const bins = {
    scheduler: cachedBinary('kube-scheduler', 'KUBE_SCHEDULER', 'scripts/build-kube-apiserver.sh'),
    kubelet: cachedBinary('kubelet', 'KUBELET', 'scripts/build-kube-apiserver.sh'),
    multus: cachedBinary('multus', 'MULTUS', 'scripts/build-multus.sh'),
  };
  for (const tool of ['containerd', 'ctr', 'runc', 'docker-registry', 'skopeo']) {
    if ((await run(['sh', '-c', `command -v ${tool}`])).code !== 0) throw new Error(`${tool} not found; run \`sudo scripts/install-deps.sh\``);
  }
  if (!existsSync(IMAGE_ARCHIVE)) throw new Error(`the image ${IMAGE_ARCHIVE} is missing; run \`sudo bash scripts/build-image.sh\``);
  if (existsSync(OVS_RUN_DIR)) throw new Error(`${OVS_RUN_DIR} exists: another Open vSwitch (or a cluster tier) runs on this machine`);
  if ((await run(['ip', 'link', 'show', NODE_LINK])).code === 0) throw new Error(`a link ${NODE_LINK} exists: another cluster tier runs on this machine`);
  return bins;
}

/** What a cluster is made of while it starts, so a failed start stops exactly what started. */
interface Parts {
  readonly dir: string;
  readonly procs: Proc[];
  api?: ApiServer;
  ovs?: OvsEnv;
}

const logOf = (dir: string, name: string): string => join(dir, `${name}.log`);

/** etcd + kube-apiserver + kube-controller-manager, OVS/OVN, the node link and the registry (with
 *  the seed's images), side by side; every one that started is in `parts`, even when another failed. */
async function startControlPlane(parts: Parts, registryPort: number): Promise<void> {
  const registry = async (): Promise<void> => {
    writeFileSync(join(parts.dir, 'registry.yaml'), registryConfig(join(parts.dir, 'registry'), registryPort));
    const proc = launch('registry', ['docker-registry', 'serve', join(parts.dir, 'registry.yaml')], logOf(parts.dir, 'registry'));
    parts.procs.push(proc);
    const layouts = await buildTestImages(join(parts.dir, 'images'));
    await waitReady(proc, `the registry at 127.0.0.1:${registryPort}`, async () =>
      (await fetch(`http://127.0.0.1:${registryPort}/v2/`, { signal: AbortSignal.timeout(2_000) })).ok, 30_000);
    await pushTestImages(layouts, registryPort);
  };
  const settled = await Promise.allSettled([
    startApiServer({
      controllerManager: { controllers: KCM_CONTROLLERS, extraArgs: [] },
      // ServiceAccount admission on (the harness turns it off by default): our pods get their
      // ServiceAccounts' tokens. kubelet is reached on its node address.
      serviceAccounts: true,
      // No kube-proxy: the API server reaches the webhook's Service through its endpoints.
      extraArgs: ['--kubelet-preferred-address-types=InternalIP', '--enable-aggregator-routing=true'],
      timeoutMs: 120_000,
    }).then((api) => { parts.api = api; }),
    startOvs({ isolation: 'host', runDir: OVS_RUN_DIR, timeoutMs: 60_000 }).then((ovs) => { parts.ovs = ovs; }),
    createNodeLink(),
    registry(),
  ]);
  const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) throw new Error(failed.map((r) => (r.reason instanceof Error ? r.reason.message : String(r.reason))).join('; '));
}

/** kube-scheduler, containerd (with our image imported), Multus in the CNI folders, and kubelet,
 *  until the node is Ready. */
async function startNode(parts: Parts, api: ApiServer, p: NodePaths, bins: Binaries, registryPort: number): Promise<void> {
  const log = (name: string): string => logOf(parts.dir, name);
  parts.procs.push(launch('kube-scheduler', [bins.scheduler, `--kubeconfig=${api.kubeconfigPath}`, '--leader-elect=false',
    '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`, `--cert-dir=${join(parts.dir, 'scheduler-certs')}`], log('kube-scheduler')));
  prepareNodeFiles(p, {
    containerd: containerdConfig(p, registryPort),
    kubelet: kubeletConfig(p, { port: await freePort(), healthz: await freePort() }),
    multus: multusConfig(p, api.kubeconfigPath, DAEMON_SOCKET),
  });
  populateCniBin(p, bins.multus);
  const containerd = launch('containerd', ['containerd', '--config', join(parts.dir, 'containerd', 'config.toml')], log('containerd'));
  parts.procs.push(containerd);
  await waitReady(containerd, 'containerd answering on its socket', async () =>
    (await run(ctrArgv(p.containerdSocket, ['version']), { timeoutMs: 5_000 })).code === 0, 30_000);
  await runOk(ctrArgv(p.containerdSocket, ['-n', 'k8s.io', 'images', 'import', IMAGE_ARCHIVE]), { timeoutMs: 180_000 });
  const kubelet = launch('kubelet', [bins.kubelet, `--config=${join(parts.dir, 'kubelet.yaml')}`, `--kubeconfig=${api.kubeconfigPath}`,
    `--hostname-override=${NODE_NAME}`, `--node-ip=${NODE_IP}`, `--root-dir=${p.kubeletRoot}`, `--cert-dir=${join(parts.dir, 'kubelet-pki')}`,
    '--v=1'], log('kubelet'));
  parts.procs.push(kubelet);
  await waitReady(kubelet, `node ${NODE_NAME} Ready`, async () => {
    const r = await api.kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    return r.code === 0 && r.stdout.trim() === 'True';
  }, 120_000);
}

const ctrArgv = (socket: string, args: readonly string[]): string[] => ['ctr', '--address', socket, ...args];
const ctrFor = (socket: string) => (...args: string[]): Promise<string> => runOk(ctrArgv(socket, ['-n', 'k8s.io', ...args]), { timeoutMs: 180_000 });

/** Deletes every pod (through kubelet's DELs), stops every process, runs the teardown script
 *  (untracked only once it succeeded, else the reaper runs it again), then OVS and the API server. */
async function stopParts(parts: Parts, script: { readonly path: string; readonly id: number }, remove: () => void): Promise<void> {
  const errors: string[] = [];
  if (parts.api !== undefined) await deleteEverything(parts.api).catch((e: unknown) => errors.push(`deleting the pods: ${String(e)}`));
  for (const proc of [...parts.procs].reverse()) {
    const error = await terminate(proc, proc.name === 'kubelet' ? 10_000 : 5_000);
    if (error !== undefined) errors.push(error);
  }
  const teardown = await run(['bash', script.path], { timeoutMs: 120_000 });
  if (teardown.code === 0) untrack(script.id);
  else errors.push(`teardown script ${script.path}: ${teardown.stderr}`);
  await parts.ovs?.stop().catch((e: unknown) => errors.push(String(e)));
  await parts.api?.stop().catch((e: unknown) => errors.push(String(e)));
  if (teardown.code === 0) remove();
  if (errors.length > 0) throw new Error(`Cluster.stop: ${errors.join('; ')}`);
}

/** Starts the whole cluster; see the header. */
export async function startCluster(): Promise<RunningCluster> {
  const begin = Date.now();
  const bins = await preflight();
  const tmp = makeTempDir('cluster');
  const p = nodePaths(tmp.path);
  const script = { path: join(tmp.path, 'teardown.sh'), id: 0 };
  writeFileSync(script.path, teardownScript(p, await outsideBefore()), { mode: 0o755 });
  script.id = track({ kind: 'script', path: script.path });
  const parts: Parts = { dir: tmp.path, procs: [] };
  const stop = (): Promise<void> => stopParts(parts, script, () => tmp.remove());
  try {
    const registryPort = await freePort();
    await startControlPlane(parts, registryPort);
    const { api, ovs } = parts;
    if (api === undefined || ovs === undefined) throw new Error('the control plane did not start');
    await startNode(parts, api, p, bins, registryPort);
    const { kubectl, kubectlOk } = kubectlFor(api.kubeconfigPath, join(tmp.path, 'kubectl-cache'));
    await installOverlay(kubectlOk, p, Number(new URL(api.url).port), join(tmp.path, 'overlay'));
    await waitForComponents(kubectlOk);
    const info: ClusterInfo = {
      dir: tmp.path, url: api.url, token: api.token, kubeconfigPath: api.kubeconfigPath, caPath: api.caPath, nodeName: NODE_NAME, nodeIp: NODE_IP,
      containerdSocket: p.containerdSocket, cniBin: p.cniBin, ovsEnv: ovs.env, ovsDb: ovs.db, image: IMAGE,
    };
    process.stderr.write(`cluster tier: ready in ${Date.now() - begin} ms (${tmp.path})\n`);
    return {
      ...info, api, ovs, kubectl, kubectlOk, ctr: ctrFor(p.containerdSocket),
      logTail: (which, lines = 40) => tail(logOf(tmp.path, which), lines),
      stop,
    };
  } catch (e) {
    const ours = parts.api === undefined ? '' : await podDiagnostics(parts.api);
    const logs = ['kubelet', 'containerd', 'kube-scheduler'].map((n) => `--- ${n}\n${tail(logOf(tmp.path, n), 15)}`).join('\n');
    await stop().catch(() => undefined);
    throw new Error(`startCluster failed: ${e instanceof Error ? e.message : String(e)}\n${ours}\n${logs}`, { cause: e });
  }
}

/** Our pods, their events and the last lines of each container's log: why a start failed. */
export async function podDiagnostics(api: Pick<ApiServer, 'kubectl'>): Promise<string> {
  const out: string[] = [];
  const pods = await api.kubectl(['-n', NAMESPACE, 'get', 'pods', '-o', 'wide']);
  out.push(`--- pods in ${NAMESPACE}\n${pods.stdout}${pods.stderr}`);
  const events = await api.kubectl(['-n', NAMESPACE, 'get', 'events', '--sort-by=.lastTimestamp']);
  out.push(`--- events\n${events.stdout.split('\n').slice(-15).join('\n')}`);
  for (const name of pods.stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0] ?? '').filter((n) => n !== '')) {
    const logs = await api.kubectl(['-n', NAMESPACE, 'logs', name, '--all-containers', '--tail=25']);
    out.push(`--- logs of ${name}\n${logs.stdout}${logs.stderr}`);
  }
  return out.join('\n');
}

/** Writes the overlay and applies it (twice at most: CRDs may not be served on the first). */
async function installOverlay(kubectlOk: RunningCluster['kubectlOk'], p: NodePaths, apiPort: number, overlayDir: string): Promise<void> {
  await runOk(['mkdir', '-p', overlayDir]);
  writeFileSync(join(overlayDir, 'kustomization.yaml'), overlay(p, apiPort, overlayDir));
  await waitFor('kubectl apply -k of the overlay', async () => {
    try {
      return await kubectlOk(['apply', '-k', overlayDir], { timeoutMs: 120_000 });
    } catch (e) {
      if (/no matches for kind|ensure CRDs are installed/.test(String(e))) return undefined;
      throw e;
    }
  }, { timeoutMs: 60_000, intervalMs: 1_000 });
}

/** Waits until the controller's and the webhook's Deployments and the daemon's DaemonSet are
 *  rolled out. */
export async function waitForComponents(kubectlOk: RunningCluster['kubectlOk'], timeoutS = 180): Promise<void> {
  for (const what of ['daemonset/kube-ovn-ipam-daemon', 'deployment/kube-ovn-ipam-controller', 'deployment/kube-ovn-ipam-webhook']) {
    await kubectlOk(['-n', NAMESPACE, 'rollout', 'status', what, `--timeout=${timeoutS}s`], { timeoutMs: timeoutS * 1000 + 10_000 });
  }
  // The API server calls the webhook through its Service's endpoints: wait until they list a
  // ready address, or a pod created next is refused ("no endpoints available").
  await waitFor('the webhook Service has a ready endpoint', async () => {
    const ready = await kubectlOk(['-n', NAMESPACE, 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=kube-ovn-ipam-webhook',
      '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[*]}']);
    return ready.trim() === '' ? undefined : true;
  }, { timeoutMs: timeoutS * 1000, intervalMs: 250 });
}

/** Deletes every workload and pod outside our namespace (kubelet runs their DELs through Multus
 *  and our plugin, our controller releases their claims), checks that nothing is left (a DEL
 *  that hangs or a claim that stays is an error of the stop, not hidden by the teardown's
 *  SIGKILLs), then deletes ours. */
async function deleteEverything(api: ApiServer): Promise<void> {
  const namespaces = (await api.kubectlOk(['get', 'namespaces', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter((n) => n !== '' && n !== NAMESPACE);
  for (const ns of namespaces) {
    await api.kubectlOk(['-n', ns, 'delete', 'deployments,statefulsets,replicasets,daemonsets,pods', '--all', '--cascade=foreground',
      '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
  }
  await waitFor('every pod outside our namespace gone and every claim released', async () => {
    const left = (await api.kubectlOk(['get', 'pods,ips', '-A', '-o', 'name'])).split('\n')
      .filter((l) => l !== '' && !(l.startsWith('pod/') && l.includes('kube-ovn-ipam-')));
    return left.length === 0 ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });
  await api.kubectlOk(['-n', NAMESPACE, 'delete', 'deployments,daemonsets,pods', '--all', '--wait=true', '--timeout=60s'], { timeoutMs: 70_000 });
}

/** The shared cluster, for a test file of the tier (globalSetup started it). */
export function connectCluster(): Cluster {
  if (!existsSync(CLUSTER_STATE)) throw new Error(`no cluster tier is running (${CLUSTER_STATE} is missing): run this file through jest's cluster project`);
  const info = JSON.parse(readFileSync(CLUSTER_STATE, 'utf8')) as ClusterInfo;
  const cache = makeTempDir('kubectl');
  const { kubectl, kubectlOk } = kubectlFor(info.kubeconfigPath, cache.path);
  return {
    ...info, kubectl, kubectlOk,
    ctr: ctrFor(info.containerdSocket),
    logTail: (which, lines = 40) => tail(join(info.dir, `${which}.log`), lines),
  };
}
