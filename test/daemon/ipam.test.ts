// The daemon's socket against a real kube-apiserver + etcd, with the controller in-process
// allocating and the daemon in-process (startNodeDaemon, the command's own wiring) on a temp
// socket, for the seed's macvlan NAD (an IPAM-only provider, `macvlan.default`).
//
// The daemon watches only the pods of its node (fieldSelector spec.nodeName=node-a), so the
// test pods carry `spec.nodeName` (there is no scheduler and no kubelet: they stay Pending).
// Latency is measured against an independent watch of the pods: from the event that shows
// the controller's patch to the daemon's answer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { CniRequest } from '../../src/domain/cni/Protocol.js';
import { Controller } from '../../src/effects/Controller.js';
import type { WatchHandle } from '../../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { sleep, waitFor } from '../harness/exec.js';
import { memoryLog, stopNodeCluster } from '../harness/inProcess.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const EXAMPLES = new URL('../../examples/macvlan-ipam/', import.meta.url);
const NODE = 'node-a';

interface Answer { readonly status: number; readonly body: unknown; readonly at: number }

/** POSTs JSON to the daemon's socket; resolves with the status, the parsed body and when it came. */
function post(socketPath: string, path: string, body: unknown, raw?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = raw ?? JSON.stringify(body);
    const req = httpRequest({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const at = performance.now();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) as unknown, at });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const cniRequest = (over: Partial<CniRequest> = {}): CniRequest => ({
  cni_type: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', container_id: 'c0ffee0000000000000000000000000000000001',
  net_ns: '', if_name: 'net1', provider: 'macvlan.default', ...over,
});

/** Example 03's pod, bound to `node`, under `name`. */
const podYaml = (name: string, node: string): string =>
  readFileSync(new URL('03-pod-random.yaml', EXAMPLES), 'utf8').replace('name: samplepod', `name: ${name}`).replace('spec:\n', `spec:\n  nodeName: ${node}\n`);

describe('daemon socket, IPAM-only provider (macvlan.default)', () => {
  let api: ApiServer;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  let socket: string;
  const log = memoryLog();

  beforeAll(async () => {
    api = await startApiServer();
    const kc = loadKubeConfig(api.kubeconfigPath);
    controller = new Controller(
      { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep }, log: memoryLog(), metrics: makeMetrics(), canWrite: () => true },
      { workers: 2, gcIntervalMs: 0, cooldownMs: 0 },
    );
    controller.start();
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) {
      await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL(f, EXAMPLES), 'utf8') });
    }
    await controller.ready;
    tmp = makeTempDir('daemon');
    // A directory that does not exist yet: the daemon creates it.
    socket = `${tmp.path}/run/kube-ovn-daemon.sock`;
    running = await startNodeDaemon({
      kubeconfig: api.kubeconfigPath, nodeName: NODE, socket, mtu: 1400, bridge: 'br-int', ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 30_000,
    }, log);
  }, 90_000);

  afterAll(() => stopNodeCluster({ running, controller, api, tmp }), 60_000);

  it('listens on a socket only root may use', () => {
    const stat = statSync(socket);
    expect(stat.isSocket()).toBe(true);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  it('answers an ADD sent before the pod exists as soon as the allocation lands (by watch)', async () => {
    const kc = loadKubeConfig(api.kubeconfigPath);
    let allocatedAt: number | undefined;
    const watch: WatchHandle = makeWatcher(kc).watch('pods', (e) => {
      const pods = e.type === 'RESET' ? e.objects : [e.object];
      for (const p of pods as { metadata: { name: string; annotations?: Record<string, string> } }[]) {
        if (p.metadata.name === 'samplepod' && p.metadata.annotations?.['macvlan.default.kubernetes.io/allocated'] === 'true') allocatedAt ??= performance.now();
      }
    }, () => undefined);
    try {
      const answer = post(socket, '/api/v1/add', cniRequest());
      await sleep(300);
      await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('samplepod', NODE) });
      const { status, body, at } = await answer;
      expect({ status, body }).toEqual({
        status: 200,
        body: { protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '172.17.0.11', cidr: '172.17.0.0/16' }], routes: [] },
      });
      await waitFor('the test watch to see the allocation', async () => allocatedAt, { timeoutMs: 5_000, intervalMs: 5 });
      const latency = at - (allocatedAt ?? 0);
      process.stderr.write(`daemon ADD answered ${latency.toFixed(1)} ms after the test's watch saw the allocation\n`);
      expect(latency).toBeLessThan(100);
    } finally {
      await watch.stop();
    }
  }, 30_000);

  it('records the node on the IP object', async () => {
    const ip = await waitFor('the IP object placed on node-a', async () => {
      const obj = JSON.parse(await api.kubectlOk(['get', 'ip', 'samplepod.default.macvlan.default', '-o', 'json'])) as { metadata: { labels: Record<string, string> }; spec: { nodeName: string } };
      return obj.spec.nodeName === NODE ? obj : undefined;
    }, { timeoutMs: 5_000 });
    expect(ip.metadata.labels['ovn.kubernetes.io/node-name']).toBe(NODE);
  }, 10_000);

  it('answers at once for a pod already allocated, and waits for the right UID', async () => {
    const uid = (await api.kubectlOk(['get', 'pod', 'samplepod', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const started = performance.now();
    const right = await post(socket, '/api/v1/add', cniRequest({ pod_uid: uid }));
    expect(right.status).toBe(200);
    expect(right.at - started).toBeLessThan(100);
    const wrong = await post(socket, '/api/v1/add', cniRequest({ pod_uid: 'not-the-uid', deadline_ms: 300 }));
    expect(wrong).toMatchObject({
      status: 500,
      body: {
        code: 11,
        error: `no address allocated to pod default/samplepod for provider macvlan.default within 0.3s; see the controller's Events on the pod (the pod of that name has UID ${uid}, the runtime asked for not-the-uid)`,
      },
    });
  }, 10_000);

  it('gives up at the deadline with code 11, naming the pod and the provider', async () => {
    const started = performance.now();
    const answer = await post(socket, '/api/v1/add', cniRequest({ pod_name: 'ghost', deadline_ms: 300 }));
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 500,
      body: {
        code: 11,
        error: "no address allocated to pod default/ghost for provider macvlan.default within 0.3s; see the controller's Events on the pod (the daemon has not seen the pod on node node-a)",
      },
    });
    expect(answer.at - started).toBeGreaterThanOrEqual(290);
    expect(answer.at - started).toBeLessThan(1_000);
  }, 10_000);

  it('does not see a pod of another node (its watch has a fieldSelector)', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('elsewhere', 'node-b') });
    await waitFor('pod elsewhere allocated', async () =>
      (await api.kubectlOk(['get', 'pod', 'elsewhere', '-o', 'jsonpath={.metadata.annotations.macvlan\\.default\\.kubernetes\\.io/allocated}'])).trim() === 'true' ? true : undefined,
    { timeoutMs: 10_000 });
    const answer = await post(socket, '/api/v1/add', cniRequest({ pod_name: 'elsewhere', deadline_ms: 300 }));
    expect(answer.body).toMatchObject({ code: 11, error: expect.stringContaining('(the daemon has not seen the pod on node node-a)') });
  }, 20_000);

  it('refuses a provider no Subnet serves with code 7, at once', async () => {
    const started = performance.now();
    const answer = await post(socket, '/api/v1/add', cniRequest({ provider: 'nope.default' }));
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 400,
      body: { code: 7, error: 'provider nope.default is not bound to any subnet (no Subnet has spec.provider nope.default)' },
    });
    expect(answer.at - started).toBeLessThan(100);
  });

  it('answers DEL with 204, again and again (nothing on the host for IPAM-only)', async () => {
    for (let i = 0; i < 2; i++) expect(await post(socket, '/api/v1/del', cniRequest())).toMatchObject({ status: 204, body: undefined });
  });

  it.each<[string, string, string | undefined, number, object]>([
    ['a body that is not JSON', '/api/v1/add', '{', 400, { code: 6, error: expect.stringMatching(/^the request body is not JSON: /) }],
    ['a field of the wrong type', '/api/v1/add', '{"container_id": 7}', 400, { code: 7, error: 'CNI request: container_id: expected a string, got the number 7' }],
    ['a bad interface name', '/api/v1/add', JSON.stringify(cniRequest({ if_name: 'a/b' })), 400, { code: 7, error: 'invalid CNI request: if_name "a/b" contains "/", ":" or white space' }],
    ['another path', '/api/v1/check', '{}', 404, { code: 7, error: 'no such endpoint POST /api/v1/check (use POST /api/v1/add or /api/v1/del)' }],
  ])('refuses %s', async (_what, path, raw, status, body) => {
    const answer = await post(socket, path, undefined, raw);
    expect({ status: answer.status, body: answer.body }).toEqual({ status, body });
  });
});
