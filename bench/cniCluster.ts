// The one-node cluster of the CNI benchmark (bench/cni.ts), from the test harness's real
// components: etcd + kube-apiserver with the project's CRDs, the Controller in this process
// (the real adapters, its patch answers timed), the node daemon in this process on a temp
// socket, the seed's ovn-default, macvlan NAD and macvlan Subnet. IPAM-only ADDs touch nothing
// on the host, so none of this needs root. Also: the daemon's socket spoken to directly, an
// independent watch of the benchmark's pods, and the plugin run as a runtime runs it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { loadKubeConfig } from '../src/adapters/kube/config.js';
import { makeKube } from '../src/adapters/kube/kube.js';
import { makeRest, type Request } from '../src/adapters/kube/rest.js';
import { makeWatcher } from '../src/adapters/kube/watcher.js';
import { makeMetrics } from '../src/adapters/metrics.js';
import { startNodeDaemon, type RunningDaemon } from '../src/cli/daemon.js';
import type { CniRequest } from '../src/domain/cni/Protocol.js';
import { Controller } from '../src/effects/Controller.js';
import type { Kube, Log } from '../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../test/harness/apiserver.js';
import { makeTempDir, type TempDir } from '../test/harness/tmp.js';

// From dist/bench/ (npm run bench) and from bench/ alike: the repository is where package.json is.
const REPO = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../' : '../', import.meta.url));
export const PLUGIN = `${REPO}dist/cni/kube-ovn`;
const SEED = `${REPO}examples/macvlan-ipam/`;
const CRDS = `${REPO}config/crd/`;
export const NAMESPACE = 'default';
export const PROVIDER = 'macvlan.default';

const quiet: Log = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

export interface CniCluster {
  readonly api: ApiServer;
  readonly kc: KubeConfig;
  readonly rest: Request;
  readonly socket: string;
  /** performance.now() when the controller's annotation patch of a pod was answered, by pod name (the last one). */
  readonly patched: Map<string, number>;
  stop(): Promise<void>;
}

/** Applies config/crd and waits until every CRD is served, and 2 s more (as the harness does:
 *  the API server holds creates of a resource whose CRD is younger). The harness's own step
 *  looks for config/crd beside its compiled file, which under dist/ is not there. */
const applyCrds = async (api: ApiServer): Promise<void> => {
  const names = (await api.kubectlOk(['apply', '-f', CRDS, '-o', 'name'])).split('\n').filter((l) => l !== '');
  await api.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...names], { timeoutMs: 70_000 });
  const resources = names.map((n) => n.slice(n.indexOf('/') + 1)).join(',');
  for (let tries = 0; (await api.kubectl(['get', resources, '--all-namespaces', '-o', 'name'])).code !== 0; tries++) {
    if (tries > 600) throw new Error(`CRDs ${resources} not served after 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2_100));
};

/** The controller's Kube port, with the answer time of every pod annotation patch recorded. */
const timedPatches = (kube: Kube, patched: Map<string, number>): Kube => ({
  ...kube,
  patchPodAnnotations: async (namespace, name, annotations) => {
    const answer = await kube.patchPodAnnotations(namespace, name, annotations);
    patched.set(name, performance.now());
    return answer;
  },
});

export const startCniCluster = async (): Promise<CniCluster> => {
  const api = await startApiServer({ crds: false });
  const stops: (() => Promise<void>)[] = [() => api.stop()];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch((e: unknown) => process.stderr.write(`bench cni: stop: ${String(e)}\n`));
  };
  try {
    await applyCrds(api);
    const kc = loadKubeConfig(api.kubeconfigPath);
    const rest = makeRest(kc);
    const patched = new Map<string, number>();
    const controller = new Controller(
      { kube: timedPatches(makeKube(kc), patched), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log: quiet, metrics: makeMetrics(), canWrite: () => true },
      { workers: 3, gcIntervalMs: 0, cooldownMs: 0 },
    );
    controller.start();
    stops.push(() => controller.stop());
    for (const [path, file] of [['apis/kubeovn.io/v1/subnets', '00-subnet-ovn-default.yaml'], [`apis/k8s.cni.cncf.io/v1/namespaces/${NAMESPACE}/network-attachment-definitions`, '01-nad-macvlan.yaml'], ['apis/kubeovn.io/v1/subnets', '02-subnet-macvlan.yaml']] as const) {
      await rest('POST', `/${path}`, { body: parse(readFileSync(`${SEED}${file}`, 'utf8')) as unknown });
    }
    await controller.ready;
    const tmp: TempDir = makeTempDir('bench-cni');
    stops.push(async () => tmp.remove());
    const socket = `${tmp.path}/kube-ovn-daemon.sock`;
    const running: RunningDaemon = await startNodeDaemon({
      kubeconfig: api.kubeconfigPath, socket, mtu: 1400, bridge: 'br-int', ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 30_000,
    }, quiet);
    stops.push(() => running.stop());
    return { api, kc, rest, socket, patched, stop };
  } catch (err) {
    await stop();
    throw err;
  }
};

/** A pod on the seed's macvlan network (and the default network); resolves with its UID. */
export const createPod = async (rest: Request, name: string): Promise<string> => {
  const pod = await rest('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
    body: {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: NAMESPACE, annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } },
      spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    },
  }) as { metadata: { uid: string } };
  return pod.metadata.uid;
};

export interface DaemonAnswer {
  readonly status: number;
  readonly body: string;
  /** performance.now() when the whole answer had arrived. */
  readonly at: number;
}

/** POST /api/v1/add on the daemon's socket (one connection per request, as the plugin does). */
export const postAdd = (socket: string, req: CniRequest): Promise<DaemonAnswer> => postDaemon(socket, '/api/v1/add', req);

/** POST `req` to `path` (`/api/v1/add`, `/api/v1/del`) on the daemon's socket, one connection per request. */
export const postDaemon = (socket: string, path: string, req: CniRequest): Promise<DaemonAnswer> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(req);
    const http = httpRequest({ socketPath: socket, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() }));
      res.on('error', reject);
    });
    http.on('error', reject);
    http.end(payload);
  });

export interface PodWatch {
  /** performance.now() when this watch first saw `<PROVIDER>.kubernetes.io/allocated: "true"`, by pod name. */
  readonly allocated: Map<string, number>;
  /** Resolves once `name` has been seen allocated (at once if it has). */
  seen(name: string, limitMs: number): Promise<number>;
  stop(): void;
}

/** A watch of the namespace's pods of its own (client-node's Watch, not the project's watcher). */
export const watchAllocations = async (kc: KubeConfig): Promise<PodWatch> => {
  const allocated = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  let failed: Error | undefined;
  // resourceVersion 0: a watch without one was closed by the server at once.
  const request = await new Watch(kc).watch(`/api/v1/namespaces/${NAMESPACE}/pods`, { resourceVersion: '0' },
    (type, obj: { metadata?: { name?: string; annotations?: Record<string, string> } }) => {
      const name = obj.metadata?.name;
      if (type === 'DELETED' || type === 'ERROR' || name === undefined || allocated.has(name)) return;
      if (obj.metadata?.annotations?.[`${PROVIDER}.kubernetes.io/allocated`] !== 'true') return;
      const at = performance.now();
      allocated.set(name, at);
      waiting.get(name)?.(at);
    },
    (err: unknown) => {
      failed = new Error(`the benchmark's pod watch ended: ${String(err)}`);
    });
  return {
    allocated,
    seen: (name, limitMs) => {
      const at = allocated.get(name);
      if (at !== undefined) return Promise.resolve(at);
      if (failed !== undefined) return Promise.reject(failed);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`pod ${name}: not seen allocated in ${limitMs} ms${failed === undefined ? '' : ` (${failed.message})`}`)), limitMs);
        waiting.set(name, (t) => {
          clearTimeout(timer);
          waiting.delete(name);
          resolve(t);
        });
      });
    },
    stop: () => request.abort(),
  };
};

/** Milliseconds from spawn to exit of `argv` with exactly `env`, stdin `input`; rejects unless it exits 0. */
export const timeProcess = (argv: readonly string[], env: Readonly<Record<string, string>>, input: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (file === undefined) return reject(new Error('timeProcess: empty argv'));
    const started = performance.now();
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => out.push(c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${argv.join(' ')} exited ${String(code)}: ${Buffer.concat(out).toString('utf8').trim()}`));
    });
  });
