// The one-node cluster of the OVN benchmark (bench/ovn.ts), from the test harness's real
// components (root): etcd + kube-apiserver with the project's CRDs, Open vSwitch and OVN in
// userspace (ovs-vswitchd in its own network namespace), the Controller in this process with
// the real Ovn port (it writes the logical switches and ports: part of what is measured), and
// the node daemon in a process of its own (daemonProcess.ts: as in production, where it is its
// own pod, so its process starts do not stall the controller's event loop or the other way
// round) on a temp socket, waiting for ovn-installed as production does. Networks: the seed's
// ovn-default (provider ovn, 10.16.0.0/16), attachnet (provider attachnet.default.ovn, seed
// 06's NAD, the Subnet of examples/ovn-attachments/00) and the seed's IPAM-only macvlan NAD
// and Subnet (examples/macvlan-ipam/01, 02).
// For the per-step breakdown (ovnTrace.ts) the controller's ports are stamped (`stamps`) and
// the daemon writes its debug log as timed JSON lines, read back when it stops (`daemonTrace`).
//
// Rules: every pod is on node NODE (the daemon watches only its node's pods); `stop()` stops
// what was started in reverse order, logs (stderr) and swallows each failure so the rest still
// stops, and is what `startOvnCluster` itself runs when starting fails.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { loadKubeConfig } from '../src/adapters/kube/config.js';
import { makeKube } from '../src/adapters/kube/kube.js';
import { makeRest, type Request } from '../src/adapters/kube/rest.js';
import { makeWatcher } from '../src/adapters/kube/watcher.js';
import { makeMetrics } from '../src/adapters/metrics.js';
import { makeOvn } from '../src/adapters/ovn.js';
import type { NodeDaemonConfig } from '../src/cli/daemon.js';
import type { CniRequest } from '../src/domain/cni/Protocol.js';
import { startApiServer, type ApiServer } from '../test/harness/apiserver.js';
import { Controller } from '../src/effects/Controller.js';
import { daemonConfigFor, quietLog } from '../test/harness/inProcess.js';
import { startOvs, type OvsEnv } from '../test/harness/ovs.js';
import { processStartTime, track, untrack } from '../test/harness/reaper.js';
import { makeTempDir } from '../test/harness/tmp.js';
import { spawn } from 'node:child_process';
import { postDaemon, type DaemonAnswer } from './cniCluster.js';
import { readTrace, tracedControllerPorts, type Stamps, type TraceLine } from './ovnTrace.js';

const REPO = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../' : '../', import.meta.url));
const EXAMPLES = `${REPO}examples/`;
export const NODE = 'bench-node';
export const NAMESPACE = 'default';
export const ATTACHNET = 'attachnet.default.ovn';
export const MACVLAN = 'macvlan.default';
/** How long the daemon waits for ovn-controller to bind a new port before it fails the ADD. */
const OVN_INSTALLED_TIMEOUT_MS = 30_000;

export interface OvnCluster {
  readonly api: ApiServer;
  readonly ovs: OvsEnv;
  readonly rest: Request;
  readonly socket: string;
  /** The controller's stamps per pod (ovnTrace.ts), as they come. */
  readonly stamps: Stamps;
  /** The daemon's trace lines (ovnTrace.ts), read when it stops: empty before `stop()`. */
  daemonTrace(): readonly TraceLine[];
  stop(): Promise<void>;
}

const note = (text: string): void => void process.stderr.write(`bench ovn: ${text}\n`);

/** The YAML documents of `file` under examples/, those named in `names` only when given. */
const examples = (file: string, names?: readonly string[]): unknown[] =>
  parseAllDocuments(readFileSync(`${EXAMPLES}${file}`, 'utf8')).map((d) => d.toJS() as { metadata: { name: string } })
    .filter((o) => names === undefined || names.includes(o.metadata.name));

export const startOvnCluster = async (): Promise<OvnCluster> => {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => note(`stop: ${String(e)}`));
    stops.length = 0;
  };
  try {
    // Both start even when one fails, so the other is stopped too.
    const [api, ovs] = await Promise.allSettled([startApiServer(), startOvs()]);
    if (api.status === 'fulfilled') stops.push(() => api.value.stop());
    if (ovs.status === 'fulfilled') stops.push(() => ovs.value.stop());
    if (api.status === 'rejected') throw api.reason;
    if (ovs.status === 'rejected') throw ovs.reason;
    const kc = loadKubeConfig(api.value.kubeconfigPath);
    const rest = makeRest(kc);
    const log = quietLog();
    const stamps: Stamps = new Map();
    // As the harness's controllerFor (3 workers, no sweep, no cooldown), its ports stamped.
    const ports = tracedControllerPorts({ kube: makeKube(kc), watcher: makeWatcher(kc), ovn: makeOvn({ db: ovs.value.db.nb ?? '', log }) }, stamps);
    const controller = new Controller(
      { ...ports, clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: makeMetrics(), canWrite: () => true },
      { workers: 3, gcIntervalMs: 0, cooldownMs: 0 },
    );
    controller.start();
    stops.push(() => controller.stop());
    const subnets = [...examples('macvlan-ipam/00-subnet-ovn-default.yaml'), ...examples('ovn-attachments/00-subnets.yaml', ['attachnet']), ...examples('macvlan-ipam/02-subnet-macvlan.yaml')];
    for (const body of subnets) await rest('POST', '/apis/kubeovn.io/v1/subnets', { body });
    for (const body of [...examples('ovn-attachments/06-nad-attachnet-ovn.yaml'), ...examples('macvlan-ipam/01-nad-macvlan.yaml')]) {
      await rest('POST', `/apis/k8s.cni.cncf.io/v1/namespaces/${NAMESPACE}/network-attachment-definitions`, { body });
    }
    await controller.ready;
    const tmp = makeTempDir('bench-ovn');
    stops.push(async () => tmp.remove());
    const socket = `${tmp.path}/kube-ovn-daemon.sock`;
    const tracePath = `${tmp.path}/daemon-trace.jsonl`;
    const daemon = await startDaemonProcess({
      ...daemonConfigFor(api.value, ovs.value, NODE), socket, ovnInstalledTimeoutMs: OVN_INSTALLED_TIMEOUT_MS, defaultDeadlineMs: 60_000,
    }, tracePath);
    let trace: readonly TraceLine[] = [];
    stops.push(async () => {
      await daemon.stop();
      trace = await readTrace(tracePath);
    });
    return { api: api.value, ovs: ovs.value, rest, socket, stamps, daemonTrace: () => trace, stop };
  } catch (err) {
    await stop();
    throw err;
  }
};

/** Starts daemonProcess.ts with `config`; resolves once it serves its socket. The process is
 *  registered with the harness's reaper, so a killed bench leaves no daemon behind. */
const startDaemonProcess = async (config: NodeDaemonConfig, tracePath: string): Promise<{ stop(): Promise<void> }> => {
  const script = fileURLToPath(new URL('./daemonProcess.js', import.meta.url));
  const child = spawn(process.execPath, [script, JSON.stringify(config), tracePath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${script}`);
  const id = track({ kind: 'process', pid, startTime: processStartTime(pid), name: 'bench daemon' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the daemon process did not say ready within 30 s')), 30_000);
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error('the daemon process exited before it was ready')));
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
      untrack(id);
    },
  };
};

/** A pod on NODE with the networks annotation `networks`; resolves when the API server answered. */
export const createPod = async (rest: Request, name: string, networks: string): Promise<void> => {
  await rest('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
    body: {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: NAMESPACE, annotations: { 'k8s.v1.cni.cncf.io/networks': networks } },
      spec: { nodeName: NODE, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    },
  });
};

/** POST /api/v1/del on the daemon's socket; resolves with the answer (204 when done). */
export const postDel = (socket: string, req: CniRequest): Promise<DaemonAnswer> => postDaemon(socket, '/api/v1/del', req);
