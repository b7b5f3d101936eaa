// The controller's health, readiness, metrics and decision log (src/adapters/http.ts,
// src/adapters/metrics.ts, Controller.ts), with the built CLI against a real kube-apiserver:
// - /healthz answers 200 "ok" whether or not the API server answers;
// - /readyz answers 503 until the caches are synced (forced by freezing the API server while
//   the controller starts), then 200; a follower stands by and is ready too (http.ts header);
// - /metrics counts allocations by source and failures by code exactly, exports each Subnet's
//   used/available addresses (also from a restarted controller whose Subnets are already
//   right), the queue depths and the allocation latency histogram, each measured from the
//   pod's own first sighting;
// - each allocation decision is one JSON log line naming pod, interface, address and source.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess } from '../harness/controllerProcess.js';
import { sleep, waitFor } from '../harness/exec.js';

const EXAMPLES = new URL('../../examples/macvlan-ipam/', import.meta.url);
/** Addresses of ovn-default (10.16.0.0/16) for pods: all but network, broadcast and gateway. */
const OVN_DEFAULT_CAPACITY = 65_536 - 3;
const STATIC = '10.16.0.100';

let api: ApiServer;
const controllers: ControllerProcess[] = [];

const start = (identity: string, leaseName = 'kube-ovn-ipam-controller'): ControllerProcess => {
  const c = startController({
    name: identity,
    args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--identity', identity,
      '--lease-namespace', 'default', '--lease-name', leaseName, '--lease-duration', '4s'],
  });
  controllers.push(c);
  return c;
};

const get = async (listen: string, path: string): Promise<{ status: number; body: string }> => {
  const res = await fetch(`http://${listen}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
};

/** The value of the sample `name` whose labels are exactly `labels`, from Prometheus text. */
const sample = (text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined => {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]);
    if (JSON.stringify(got.sort()) === want) return Number(m[3]);
  }
  return undefined;
};

const podDoc = (name: string, annotations: Record<string, string> = {}): object =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations }, spec: { containers: [{ name: 'c', image: 'pause' }] } });

const createPods = (docs: readonly object[]): Promise<string> =>
  api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }) });

interface PodObj { readonly metadata: { readonly name: string; readonly uid: string; readonly annotations?: Readonly<Record<string, string>> } }

/** Waits until every named pod has its eth0 address; resolves with name → address. */
const allocated = (names: readonly string[], timeoutMs = 10_000): Promise<Record<string, string>> =>
  waitFor(`pods ${names.join(', ')} allocated`, async () => {
    const pods = (JSON.parse(await api.kubectlOk(['get', 'pods', '-o', 'json'])) as { items: PodObj[] }).items;
    const out: Record<string, string> = {};
    for (const name of names) {
      const a = pods.find((p) => p.metadata.name === name)?.metadata.annotations;
      if (a?.['ovn.kubernetes.io/allocated'] !== 'true') return undefined;
      out[name] = a['ovn.kubernetes.io/ip_address']!;
    }
    return out;
  }, { timeoutMs, intervalMs: 100 });

/** Polls /metrics until `name{labels}` equals `value`; resolves with the whole text. */
const metricsWhen = async (listen: string, name: string, labels: Readonly<Record<string, string>>, value: number, timeoutMs = 5_000): Promise<string> => {
  let last: number | undefined;
  try {
    return await waitFor(`${name}${JSON.stringify(labels)} = ${value}`, async () => {
      const text = (await get(listen, '/metrics')).body;
      last = sample(text, name, labels);
      return last === value ? text : undefined;
    }, { timeoutMs, intervalMs: 100 });
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; last value: ${last}`, { cause: e });
  }
};

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

beforeAll(async () => {
  await Promise.all([
    buildCli(),
    (async () => {
      api = await startApiServer();
    })(),
  ]);
  await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL('00-subnet-ovn-default.yaml', EXAMPLES), 'utf8') });
}, 120_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await api?.stop();
}, 60_000);

describe('controller health, readiness, metrics and decision log', () => {
  let ctl: ControllerProcess;
  let listen: string;
  const names = ['h-0', 'h-1', 'h-2', 'h-3', 'h-static'];
  let addresses: Record<string, string>;

  it('/healthz is 200 throughout; /readyz is 503 until the caches are synced, then 200', async () => {
    // Frozen, the API server accepts connections but answers nothing: nothing can sync.
    process.kill(api.pids.kubeApiserver, 'SIGSTOP');
    try {
      ctl = start('health-1');
      listen = await ctl.listen();
      expect(await get(listen, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect(await get(listen, '/readyz')).toEqual({ status: 503, body: 'not ready: caches not synced\n' });
      await sleep(300);
      expect(await get(listen, '/readyz')).toEqual({ status: 503, body: 'not ready: caches not synced\n' });
    } finally {
      process.kill(api.pids.kubeApiserver, 'SIGCONT');
    }
    await waitFor('/readyz 200', async () => ((await get(listen, '/readyz')).status === 200 ? true : undefined), { timeoutMs: 15_000 });
    expect(await get(listen, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
    await ctl.waitForLog((l) => l.msg.startsWith('caches synced'), { timeoutMs: 1_000 });
    expect(await get(listen, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(listen, '/nope')).toEqual({ status: 404, body: '' });
  }, 40_000);

  it('/metrics counts N allocations exactly, the subnet usage, queue depths and latency', async () => {
    await createPods([...names.slice(0, 4).map((n) => podDoc(n)), podDoc('h-static', { 'ovn.kubernetes.io/ip_address': STATIC })]);
    addresses = await allocated(names);
    expect(addresses['h-static']).toBe(STATIC);
    const text = await metricsWhen(listen, 'kube_ovn_ipam_subnet_used_addresses', { subnet: 'ovn-default', family: 'IPv4' }, 5);
    expect({
      dynamic: sample(text, 'kube_ovn_ipam_allocations_total', { source: 'dynamic' }),
      static: sample(text, 'kube_ovn_ipam_allocations_total', { source: 'static' }),
      available: sample(text, 'kube_ovn_ipam_subnet_available_addresses', { subnet: 'ovn-default', family: 'IPv4' }),
      podsQueue: sample(text, 'kube_ovn_ipam_queue_depth', { queue: 'pods' }),
      subnetsQueue: sample(text, 'kube_ovn_ipam_queue_depth', { queue: 'subnets' }),
      latencyCount: sample(text, 'kube_ovn_ipam_allocation_seconds_count'),
      latencyInf: sample(text, 'kube_ovn_ipam_allocation_seconds_bucket', { le: '+Inf' }),
      latencyUnder2_5s: sample(text, 'kube_ovn_ipam_allocation_seconds_bucket', { le: '2.5' }),
    }).toEqual({
      dynamic: 4, static: 1, available: OVN_DEFAULT_CAPACITY - 5, podsQueue: 0, subnetsQueue: 0,
      latencyCount: 5, latencyInf: 5, latencyUnder2_5s: 5,
    });
    expect(sample(text, 'kube_ovn_ipam_allocation_failures_total', { code: 'AddressConflict' })).toBeUndefined();
  }, 30_000);

  it('each allocation decision is one JSON log line with pod, interface, address and source', () => {
    const lines = ctl.lines.filter((l) => l.msg === 'allocated').map((l) => l.fields);
    expect(lines.map((f) => ({ pod: f['pod'], interface: f['interface'], provider: f['provider'], subnet: f['subnet'], address: f['address'], source: f['source'] }))
      .sort((a, b) => String(a.pod).localeCompare(String(b.pod)))).toEqual(names.map((n) => ({
      pod: `default/${n}`, interface: 'eth0', provider: 'ovn', subnet: 'ovn-default', address: addresses[n], source: n === 'h-static' ? 'static' : 'dynamic',
    })));
    for (const f of lines) expect(f['mac']).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  });

  it('a conflicting static address: one failure counted by code, one log line naming it', async () => {
    await createPods([podDoc('h-conflict', { 'ovn.kubernetes.io/ip_address': STATIC })]);
    const failed = await ctl.waitForLog((l) => l.msg === 'allocation failed' && l.fields['pod'] === 'default/h-conflict');
    expect({ ...failed.fields, reason: undefined }).toMatchObject({ pod: 'default/h-conflict', interface: 'eth0', provider: 'ovn', code: 'AddressConflict' });
    expect(String(failed.fields['reason'])).toContain(STATIC);
    const text = await metricsWhen(listen, 'kube_ovn_ipam_allocation_failures_total', { code: 'AddressConflict' }, 1);
    expect(sample(text, 'kube_ovn_ipam_allocations_total', { source: 'static' })).toBe(1);
  }, 20_000);

  it('the latency of a pod recreated under an old name counts from its own creation', async () => {
    await api.kubectlOk(['delete', 'pod', 'h-0']);
    await waitFor('h-0 released', async () => ((await api.kubectl(['get', 'ip.kubeovn.io', 'h-0.default'])).code !== 0 ? true : undefined));
    // Longer than the 2.5 s bucket: measured from the first h-0, it would land above it.
    await sleep(2_600);
    await createPods([podDoc('h-0')]);
    await allocated(['h-0']);
    const text = await metricsWhen(listen, 'kube_ovn_ipam_allocation_seconds_count', {}, 6);
    expect(sample(text, 'kube_ovn_ipam_allocation_seconds_bucket', { le: '2.5' })).toBe(6);
  }, 20_000);

  it('a conflict that nothing resolved is still one failure after unrelated allocations', async () => {
    // h-0 was released and allocated again meanwhile (two Subnet status changes); h-conflict's
    // interface is the one that could not be given an address, as before.
    const text = (await get(listen, '/metrics')).body;
    expect(sample(text, 'kube_ovn_ipam_allocation_failures_total', { code: 'AddressConflict' })).toBe(1);
  });

  it('a restarted controller exports the usage of Subnets whose status is already right', async () => {
    ctl.kill('SIGTERM');
    expect(await ctl.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(ctl.lines.some((l) => l.msg === 'shutting down' && l.fields['signal'] === 'SIGTERM')).toBe(true);
    // Same identity: it takes the Lease back at once.
    ctl = start('health-1');
    listen = await ctl.listen();
    await ctl.waitForLog((l) => l.msg.startsWith('caches synced'));
    const text = await metricsWhen(listen, 'kube_ovn_ipam_subnet_used_addresses', { subnet: 'ovn-default', family: 'IPv4' }, 5, 3_000);
    expect(sample(text, 'kube_ovn_ipam_subnet_available_addresses', { subnet: 'ovn-default', family: 'IPv4' })).toBe(OVN_DEFAULT_CAPACITY - 5);
  }, 30_000);

  it('a follower (another replica holds the Lease) stands by: /healthz and /readyz 200', async () => {
    const now = Date.now();
    await api.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'health-standby', namespace: 'default' },
        spec: { holderIdentity: 'someone-else', leaseDurationSeconds: 60, acquireTime: microTime(now), renewTime: microTime(now) },
      }),
    });
    const standby = start('health-standby', 'health-standby');
    const at = await standby.listen();
    // Its first look at the Lease has been answered.
    await sleep(1_000);
    expect(standby.lines.some((l) => l.msg === 'became the leader')).toBe(false);
    expect(await get(at, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(at, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
  }, 20_000);
});
