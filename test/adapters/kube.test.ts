// The Kube and Watcher adapters against a real kube-apiserver + etcd with the project's CRDs
// (DESIGN.md §4): every Kube method is checked by reading the result back with kubectl, every
// error kind by provoking it; the watcher by changing objects with kubectl. One API server for
// the whole file; each test uses its own object names.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { IP_FINALIZER, makeKube, microTime } from '../../src/adapters/kube/kube.js';
import { makeRest } from '../../src/adapters/kube/rest.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import type { IpObject } from '../../src/domain/Plan.js';
import { KubeApiError, type Kube, type KubeErrorKind, type WatchEvent, type WatchedKind } from '../../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';

let api: ApiServer;
let kc: KubeConfig;
let kube: Kube;

beforeAll(async () => {
  api = await startApiServer();
  kc = loadKubeConfig(api.kubeconfigPath);
  kube = makeKube(kc);
}, 120_000);

afterAll(async () => {
  await api?.stop();
}, 60_000);

type Json = Record<string, unknown> & {
  readonly metadata: Record<string, unknown> & { readonly name: string; readonly annotations?: Record<string, string> };
};

const getJson = async (...args: string[]): Promise<Json> => JSON.parse(await api.kubectlOk(['get', ...args, '-o', 'json'])) as Json;
const apply = (obj: object): Promise<string> => api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(obj) });
const createPod = (name: string, annotations: Record<string, string> = {}): Promise<string> =>
  apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations }, spec: { containers: [{ name: 'c', image: 'pause' }] } });
const subnet = (name: string, cidrBlock = '10.20.0.0/24'): object => ({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name }, spec: { cidrBlock, provider: 'ovn' } });

/** Resolves to the rejection of `p` (fails when `p` resolves). */
async function rejection(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof KubeApiError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

const expectKubeError = (err: KubeApiError, kind: KubeErrorKind, status: number, message: RegExp): void => {
  expect({ kind: err.kind, status: err.status }).toEqual({ kind, status });
  expect(err.message).toMatch(message);
};

const ipObject = (name: string, v4: string, node = 'node-1'): IpObject => ({
  name,
  labels: { 'ovn.kubernetes.io/subnet': 'ovn-default', 'ovn.kubernetes.io/node-name': node },
  spec: {
    podName: name.split('.')[0] ?? name,
    namespace: 'default',
    subnet: 'ovn-default',
    nodeName: node,
    ipAddress: v4,
    v4IpAddress: v4,
    v6IpAddress: '',
    macAddress: '00:00:00:12:34:56',
    containerID: '',
    podType: '',
    attachIps: [],
    attachMacs: [],
    attachSubnets: [],
  },
});

describe('Kube', () => {
  it('patchPodAnnotations merges annotations and deletes those set to null', async () => {
    await createPod('annotated', { keep: 'me', drop: 'me' });
    const answer = (await kube.patchPodAnnotations('default', 'annotated', { 'ovn.kubernetes.io/allocated': 'true', drop: null })) as Json;
    const expected = { keep: 'me', 'ovn.kubernetes.io/allocated': 'true' };
    expect(answer.metadata.annotations).toMatchObject(expected);
    const pod = await getJson('pod', 'annotated');
    const { 'kubectl.kubernetes.io/last-applied-configuration': _lastApplied, ...own } = pod.metadata.annotations ?? {};
    expect(own).toEqual(expected);
  });

  it('patchPodAnnotations of a missing pod rejects NotFound 404', async () => {
    const err = await rejection(kube.patchPodAnnotations('default', 'no-such-pod', { a: 'b' }));
    expectKubeError(err, 'NotFound', 404, /^PATCH \/api\/v1\/namespaces\/default\/pods\/no-such-pod: 404 pods "no-such-pod" not found$/);
  });

  it('createIP writes labels, our finalizer and the spec; a second create is a Conflict', async () => {
    const ip = ipObject('created.default', '10.16.0.5');
    await kube.createIP(ip);
    const got = await getJson('ip', 'created.default');
    expect(got['apiVersion']).toBe('kubeovn.io/v1');
    expect(got['kind']).toBe('IP');
    expect(got.metadata['labels']).toEqual(ip.labels);
    expect(got.metadata['finalizers']).toEqual([IP_FINALIZER]);
    expect(got['spec']).toEqual(ip.spec);
    const err = await rejection(kube.createIP(ip));
    expectKubeError(err, 'Conflict', 409, /already exists/);
  });

  it('updateIP merge-patches labels and spec; getIP reads it; a missing one is undefined', async () => {
    const ip = ipObject('updated.default', '10.16.0.6');
    await kube.createIP(ip);
    const moved = ipObject('updated.default', '10.16.0.7', 'node-2');
    await kube.updateIP(moved);
    const got = await getJson('ip', 'updated.default');
    expect(got['spec']).toEqual(moved.spec);
    expect(got.metadata['labels']).toEqual(moved.labels);
    expect(got.metadata['finalizers']).toEqual([IP_FINALIZER]);
    const read = (await kube.getIP('updated.default')) as Json;
    expect(read.metadata.name).toBe('updated.default');
    expect(read['spec']).toEqual(moved.spec);
    await expect(kube.getIP('absent.default')).resolves.toBeUndefined();
  });

  it('an invalid object rejects Invalid 422 with the server message', async () => {
    const err = await rejection(kube.createIP(ipObject('Not_A_Name', '10.16.0.8')));
    expectKubeError(err, 'Invalid', 422, /metadata\.name: Invalid value: "Not_A_Name"/);
  });

  it('deleteIP removes our finalizer and the object; deleting what is absent resolves', async () => {
    await kube.createIP(ipObject('deleted.default', '10.16.0.9'));
    await kube.deleteIP('deleted.default');
    const r = await api.kubectl(['get', 'ip', 'deleted.default', '-o', 'name']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/NotFound/);
    await expect(kube.deleteIP('deleted.default')).resolves.toBeUndefined();
    await expect(kube.deleteIP('never-was.default')).resolves.toBeUndefined();
  });

  it("deleteIP keeps someone else's finalizer (the object then waits for it)", async () => {
    await kube.createIP(ipObject('shared.default', '10.16.0.10'));
    await api.kubectlOk(['patch', 'ip', 'shared.default', '--type=json', '-p', '[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/keep"}]']);
    await kube.deleteIP('shared.default');
    const got = await getJson('ip', 'shared.default');
    expect(got.metadata['finalizers']).toEqual(['example.com/keep']);
    expect(typeof got.metadata['deletionTimestamp']).toBe('string');
    await api.kubectlOk(['patch', 'ip', 'shared.default', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    expect((await api.kubectl(['get', 'ip', 'shared.default'])).code).toBe(1);
  });

  it('patchSubnetStatus writes the status subresource exactly and leaves the spec alone', async () => {
    await apply(subnet('status-subnet'));
    const status = {
      v4availableIPs: 250,
      v4usingIPs: 3,
      v4availableIPrange: '10.20.0.5-10.20.0.254',
      v4usingIPrange: '10.20.0.2-10.20.0.4',
      v6availableIPs: 0,
      v6usingIPs: 0,
      v6availableIPrange: '',
      v6usingIPrange: '',
      conditions: [{ type: 'Ready', status: 'True', reason: 'Allocating', message: 'ok' }],
    };
    await kube.patchSubnetStatus('status-subnet', status);
    const got = await getJson('subnet', 'status-subnet');
    expect(got['status']).toEqual(status);
    expect(got['spec']).toEqual({ cidrBlock: '10.20.0.0/24', provider: 'ovn' });
    const err = await rejection(kube.patchSubnetStatus('no-such-subnet', status));
    expectKubeError(err, 'NotFound', 404, /subnets\.kubeovn\.io "no-such-subnet" not found/);
  });

  it('patchIPPoolStatus writes the status subresource exactly (Kube-OVN\'s field names) and leaves the spec alone', async () => {
    await apply({ apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'status-pool' }, spec: { subnet: 'status-subnet', ips: ['10.20.0.10..10.20.0.12'] } });
    const status = {
      v4AvailableIPs: 2, v4AvailableIPRange: '10.20.0.11-10.20.0.12', v4UsingIPs: 1, v4UsingIPRange: '10.20.0.10',
      v6AvailableIPs: 0, v6AvailableIPRange: '', v6UsingIPs: 0, v6UsingIPRange: '',
      conditions: [{ type: 'Ready', status: 'True', reason: 'UpdateIPAMSucceeded', message: '' }],
    };
    await kube.patchIPPoolStatus('status-pool', status);
    const got = await getJson('ippool', 'status-pool');
    expect(got['status']).toEqual(status);
    expect(got['spec']).toEqual({ subnet: 'status-subnet', ips: ['10.20.0.10..10.20.0.12'] });
    const err = await rejection(kube.patchIPPoolStatus('no-such-pool', status));
    expectKubeError(err, 'NotFound', 404, /ippools\.kubeovn\.io "no-such-pool" not found/);
    await api.kubectlOk(['delete', 'ippool', 'status-pool']); // the IPPool watch tests below start from none
  });

  it('emitPodEvent records an Event on the pod, with its UID', async () => {
    await createPod('evented');
    const pod = (await kube.getPod('default', 'evented')) as Json;
    const uid = pod.metadata['uid'] as string;
    await kube.emitPodEvent('default', 'evented', uid, { type: 'Warning', reason: 'NoAvailableAddress', message: 'subnet ovn-default is full' });
    const events = (await getJson('events', '--field-selector', 'involvedObject.name=evented')) as unknown as { items: Json[] };
    expect(events.items).toHaveLength(1);
    const e = events.items[0] as Json;
    expect(e.metadata.name.startsWith('evented.')).toBe(true);
    expect(e['involvedObject']).toEqual({ apiVersion: 'v1', kind: 'Pod', namespace: 'default', name: 'evented', uid });
    expect([e['type'], e['reason'], e['message'], e['count'], e['reportingComponent']])
      .toEqual(['Warning', 'NoAvailableAddress', 'subnet ovn-default is full', 1, 'kube-ovn-ipam']);
    expect(e['source']).toEqual({ component: 'kube-ovn-ipam' });
    expect(e['firstTimestamp']).toBe(e['lastTimestamp']);
  });

  it('emitSubnetEvent records an Event on the Subnet, in namespace default, with its UID', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: evented-subnet}\nspec: {cidrBlock: 10.21.0.0/24}\n' });
    const uid = (await getJson('subnet', 'evented-subnet')).metadata['uid'] as string;
    await kube.emitSubnetEvent('evented-subnet', uid, { type: 'Warning', reason: 'SubnetSpecCorrected', message: 'subnet evented-subnet: spec.protocol: corrected' });
    const events = (await getJson('events', '--field-selector', 'involvedObject.name=evented-subnet')) as unknown as { items: Json[] };
    expect(events.items).toHaveLength(1);
    const e = events.items[0] as Json;
    expect([e.metadata['namespace'], e['involvedObject']]).toEqual(['default', { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', name: 'evented-subnet', uid }]);
    expect([e['type'], e['reason'], e['message'], e['count']]).toEqual(['Warning', 'SubnetSpecCorrected', 'subnet evented-subnet: spec.protocol: corrected', 1]);
  });

  it('getPod reads one pod; a missing one is undefined', async () => {
    await createPod('readable');
    const pod = (await kube.getPod('default', 'readable')) as Json;
    expect([pod['kind'], pod.metadata.name, pod.metadata['namespace']]).toEqual(['Pod', 'readable', 'default']);
    await expect(kube.getPod('default', 'absent')).resolves.toBeUndefined();
  });

  it('Lease: create, get, renew, take over; a stale resourceVersion is a Conflict', async () => {
    await expect(kube.getLease('default', 'ipam-leader')).resolves.toBeUndefined();
    const t0 = '2026-11-29T21:00:00.123Z';
    const created = await kube.createLease('default', 'ipam-leader', 'controller-a', 15, t0);
    expect(created).toEqual({ holder: 'controller-a', renewTime: '2026-11-29T21:00:00.123000Z', leaseDurationSeconds: 15, resourceVersion: expect.any(String) });
    expect(await kube.getLease('default', 'ipam-leader')).toEqual(created);
    expectKubeError(await rejection(kube.createLease('default', 'ipam-leader', 'controller-b', 15, t0)), 'Conflict', 409, /already exists/);

    const renewed = await kube.updateLease('default', 'ipam-leader', 'controller-a', 15, '2026-11-29T21:00:05.000001Z', created.resourceVersion, false);
    expect(renewed).toEqual({ holder: 'controller-a', renewTime: '2026-11-29T21:00:05.000001Z', leaseDurationSeconds: 15, resourceVersion: expect.any(String) });
    expect(renewed.resourceVersion).not.toBe(created.resourceVersion);
    let spec = (await getJson('lease', 'ipam-leader'))['spec'];
    expect(spec).toEqual({ holderIdentity: 'controller-a', leaseDurationSeconds: 15, acquireTime: '2026-11-29T21:00:00.123000Z', renewTime: '2026-11-29T21:00:05.000001Z', leaseTransitions: 0 });

    const stale = await rejection(kube.updateLease('default', 'ipam-leader', 'controller-b', 15, '2026-11-29T21:00:06Z', created.resourceVersion, true));
    expectKubeError(stale, 'Conflict', 409, /the object has been modified/);

    const taken = await kube.updateLease('default', 'ipam-leader', 'controller-b', 20, '2026-11-29T22:00:21+01:00', renewed.resourceVersion, true);
    expect(taken).toEqual({ holder: 'controller-b', renewTime: '2026-11-29T21:00:21.000000Z', leaseDurationSeconds: 20, resourceVersion: expect.any(String) });
    spec = (await getJson('lease', 'ipam-leader'))['spec'];
    expect(spec).toEqual({ holderIdentity: 'controller-b', leaseDurationSeconds: 20, acquireTime: '2026-11-29T21:00:21.000000Z', renewTime: '2026-11-29T21:00:21.000000Z', leaseTransitions: 0 });

    const gone = await rejection(kube.updateLease('default', 'no-such-lease', 'controller-b', 20, t0, '1', true));
    expectKubeError(gone, 'NotFound', 404, /leases\.coordination\.k8s\.io "no-such-lease" not found/);
    expectKubeError(await rejection(kube.createLease('default', 'x', 'a', 1, 'yesterday')), 'Invalid', 0, /not an RFC 3339 time: "yesterday"/);
  });

  it.each([
    ['2026-11-29T21:00:00Z', '2026-11-29T21:00:00.000000Z'],
    ['2026-11-29T21:00:00.1Z', '2026-11-29T21:00:00.100000Z'],
    ['2026-11-29T21:00:00.123456789Z', '2026-11-29T21:00:00.123456Z'],
    ['2026-11-29T23:30:00.5+02:30', '2026-11-29T21:00:00.500000Z'],
  ])('microTime(%s) is %s', (input, expected) => {
    expect(microTime(input, 'op')).toBe(expected);
  });

  it('a rejected token is Forbidden 401', async () => {
    const path = `${api.dir}/bad-token.kubeconfig`;
    writeFileSync(path, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: api.url, 'certificate-authority': api.caPath } }],
      users: [{ name: 'u', user: { token: 'wrong' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }));
    const err = await rejection(makeKube(loadKubeConfig(path)).getPod('default', 'readable'));
    expectKubeError(err, 'Forbidden', 401, /Unauthorized/);
  });

  describe('with a server that does not answer', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    let silentConfig: KubeConfig;
    beforeAll(async () => {
      silent = createServer((s) => sockets.push(s));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const path = `${api.dir}/silent.kubeconfig`;
      writeFileSync(path, JSON.stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': 'c',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      }));
      silentConfig = loadKubeConfig(path);
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('times out as Unavailable with status 0', async () => {
      const err = await rejection(makeKube(silentConfig, { timeoutMs: 200 }).getIP('x'));
      expectKubeError(err, 'Unavailable', 0, /^GET \/apis\/kubeovn\.io\/v1\/ips\/x: no answer within 200 ms$/);
    });

    it('a refused connection is Unavailable with status 0', async () => {
      const refused = loadKubeConfig(api.kubeconfigPath);
      const cluster = refused.getCurrentCluster();
      if (cluster === null) throw new Error('no cluster');
      refused.clusters = [{ ...cluster, server: 'https://127.0.0.1:1' }];
      const err = await rejection(makeRest(refused)('GET', '/api/v1/pods'));
      expectKubeError(err, 'Unavailable', 0, /ECONNREFUSED/);
    });
  });
});

/** Collects a watch's events and errors; `until` waits for one that matches. */
function collect(kind: WatchedKind, watcher = makeWatcher(kc, { backoff: { initialMs: 50, maxMs: 200 } })) {
  const events: WatchEvent[] = [];
  const errors: KubeApiError[] = [];
  const handle = watcher.watch(kind, (e) => events.push(e), (e) => errors.push(e));
  const until = async <T>(what: string, find: () => T | undefined, timeoutMs = 10_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.map(summary))}; errors: ${errors.map((e) => e.message).join('; ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { events, errors, handle, until };
}

const nameOf = (o: unknown): string => ((o as Json).metadata?.name ?? '');
const summary = (e: WatchEvent): string => (e.type === 'RESET' ? `RESET ${e.objects.map(nameOf).join(',')}` : `${e.type} ${nameOf(e.object)}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('Watcher', () => {
  it('lists existing objects (every page) into one RESET, giving built-in items their apiVersion and kind, without managedFields', async () => {
    for (const name of ['page-1', 'page-2', 'page-3']) await createPod(name);
    const w = collect('pods', makeWatcher(kc, { pageSize: 2 }));
    const reset = await w.until('RESET', () => w.events.find((e) => e.type === 'RESET'));
    await w.handle.stop();
    if (reset.type !== 'RESET') throw new Error('not a RESET');
    const names = reset.objects.map(nameOf);
    expect(names).toEqual(expect.arrayContaining(['page-1', 'page-2', 'page-3', 'readable', 'evented']));
    expect(new Set(names).size).toBe(names.length);
    for (const o of reset.objects) expect([(o as Json)['apiVersion'], (o as Json)['kind']]).toEqual(['v1', 'Pod']);
    for (const o of reset.objects) expect(Object.keys((o as Json).metadata)).not.toContain('managedFields');
    expect(w.errors).toEqual([]);
  });

  it('delivers ADDED, MODIFIED and DELETED for kubectl changes, as plain JSON, in order', async () => {
    await apply(subnet('before-watch', '10.30.0.0/24'));
    const w = collect('subnets');
    await w.until('RESET', () => w.events.find((e) => e.type === 'RESET'));
    await apply(subnet('watched', '10.31.0.0/24'));
    await api.kubectlOk(['label', 'subnet', 'watched', 'color=blue']);
    await api.kubectlOk(['delete', 'subnet', 'watched']);
    await w.until('DELETED', () => w.events.find((e) => e.type === 'DELETED'));
    await w.handle.stop();
    expect(w.events.map(summary)).toEqual([
      expect.stringMatching(/^RESET (.*,)?before-watch(,.*)?$/),
      'ADDED watched',
      'MODIFIED watched',
      'DELETED watched',
    ]);
    const modified = w.events[2];
    if (modified?.type !== 'MODIFIED') throw new Error('not MODIFIED');
    const obj = modified.object as Json;
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(obj['apiVersion']).toBe('kubeovn.io/v1');
    expect(obj['kind']).toBe('Subnet');
    expect(obj.metadata['labels']).toEqual({ color: 'blue' });
    expect(typeof obj.metadata['creationTimestamp']).toBe('string');
    expect(Object.keys(obj.metadata)).not.toContain('managedFields');
    expect(obj['spec']).toEqual({ cidrBlock: '10.31.0.0/24', provider: 'ovn' });
    expect(w.errors).toEqual([]);
  });

  it('re-watches after the server closes the watch, without listing again', async () => {
    const w = collect('ippools', makeWatcher(kc, { timeoutSeconds: 1 }));
    await w.until('RESET', () => w.events.find((e) => e.type === 'RESET'));
    await sleep(2_500);
    await apply({ apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'late-pool' }, spec: { subnet: 'ovn-default', ips: ['10.16.0.100'] } });
    await w.until('ADDED late-pool', () => w.events.find((e) => e.type === 'ADDED'));
    await w.handle.stop();
    expect(w.events.map(summary)).toEqual(['RESET ', 'ADDED late-pool']);
    expect(w.errors).toEqual([]);
  });

  it('a watch from an expired resourceVersion (410) lists again and emits a second RESET', async () => {
    const rest = makeRest(kc);
    let lists = 0;
    // The first LIST claims resourceVersion 1, older than anything the API server still has.
    const request: typeof rest = async (method, path, options) => {
      const answer = await rest(method, path, options);
      lists++;
      return lists === 1 ? { ...(answer as Json), metadata: { ...(answer as Json).metadata, resourceVersion: '1' } } : answer;
    };
    const w = collect('subnets', makeWatcher(kc, { request }));
    await w.until('two RESETs', () => (w.events.filter((e) => e.type === 'RESET').length >= 2 ? true : undefined));
    await apply(subnet('after-gone', '10.32.0.0/24'));
    await w.until('ADDED after-gone', () => w.events.find((e) => e.type === 'ADDED'));
    await w.handle.stop();
    expect(lists).toBe(2);
    expect(w.events.map((e) => e.type)).toEqual(['RESET', 'RESET', 'ADDED']);
    expect(w.errors).toEqual([]);
  });

  it('stop() ends delivery: no event after it resolves', async () => {
    const w = collect('namespaces');
    await w.until('RESET', () => w.events.find((e) => e.type === 'RESET'));
    const started = Date.now();
    await w.handle.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    const count = w.events.length;
    await api.kubectlOk(['create', 'namespace', 'after-stop']);
    await sleep(1_000);
    expect(w.events).toHaveLength(count);
    await expect(w.handle.stop()).resolves.toBeUndefined();
  });

  it('a kind that is not served is an empty RESET, reported once, and stop() ends the wait', async () => {
    const watcher = makeWatcher(kc, { paths: { nads: '/apis/example.com/v1/nothings' }, missingRetryMs: 100 });
    const w = collect('nads', watcher);
    await w.until('RESET', () => w.events.find((e) => e.type === 'RESET'));
    await sleep(400);
    const started = Date.now();
    await w.handle.stop();
    expect(Date.now() - started).toBeLessThan(500);
    expect(w.events).toEqual([{ type: 'RESET', kind: 'nads', objects: [] }]);
    expect(w.errors).toHaveLength(1);
    expectKubeError(w.errors[0] as KubeApiError, 'NotFound', 404, /^GET \/apis\/example\.com\/v1\/nothings: 404 404 page not found$/);
  });

  it('a failing LIST is reported and retried with backoff; nothing is delivered', async () => {
    const watcher = makeWatcher(kc, { paths: { pods: '/api/v1/pods?fieldSelector=bogus%3Dx' }, backoff: { initialMs: 50, maxMs: 100 } });
    const w = collect('pods', watcher);
    await w.until('three errors', () => (w.errors.length >= 3 ? true : undefined));
    await w.handle.stop();
    expect(w.events).toEqual([]);
    expectKubeError(w.errors[0] as KubeApiError, 'Invalid', 400, /field label not supported: bogus/);
  });

  it('a throwing event handler is reported, not swallowed', async () => {
    const errors: KubeApiError[] = [];
    const handle = makeWatcher(kc).watch('statefulsets', () => {
      throw new Error('handler bug');
    }, (e) => errors.push(e));
    const deadline = Date.now() + 10_000;
    while (errors.length === 0 && Date.now() < deadline) await sleep(20);
    await handle.stop();
    expect(errors.map((e) => e.message)).toEqual(['watch statefulsets: the event handler threw: handler bug']);
  });
});
