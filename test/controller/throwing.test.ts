// Nothing in one object can stop the controller (issue 14): a pod whose reconcile throws gets
// a Warning Event (ReconcileFailed, InternalError: …), one log line and its count in
// kube_ovn_ipam_reconcile_panics_total{queue="pods"}, while five pods created after it are
// allocated; once it stops throwing it is allocated too (the queue kept retrying it). A watch
// event whose handling throws is counted under queue "events" and its pod is still allocated.
// The throw comes from the test-only hook ControllerOptions.throwFor (the production wiring
// never sets it), standing for a planner or apply that meets a bug with one object.
// Against the real API server, with the controller in-process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics, type PromMetrics } from '../../src/adapters/metrics.js';
import { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import type { ReconcileSite } from '../../src/effects/ReconcileFailures.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';

let api: ApiServer;
let controller: Controller;
let metrics: PromMetrics;
/** Every log line, debug included: `<level> <msg> <fields as JSON>`. */
const lines: string[] = [];
/** The keys (site and key) the hook throws for, and how many times it threw for each. */
const throwing = new Set<string>();
const thrown = new Map<string, number>();

const log: Log = Object.fromEntries(['info', 'warn', 'error', 'debug'].map((level) => [level, (msg: string, fields?: Readonly<Record<string, unknown>>) => void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`)])) as unknown as Log;

const throwFor = (site: ReconcileSite, key: string): boolean => {
  const id = `${site} ${key}`;
  if (!throwing.has(id)) return false;
  thrown.set(id, (thrown.get(id) ?? 0) + 1);
  return true;
};

const podYaml = (names: readonly string[]): string => names.map((name) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default}
spec:
  containers: [{name: c, image: alpine}]
`).join('---');

interface EventJson { type: string; reason: string; message: string; count?: number; involvedObject: { name: string; uid?: string } }

const waitFor = async <A>(what: string, probe: () => Promise<A | undefined>, ms = 15_000): Promise<A> => {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const eventsOf = async (pod: string): Promise<EventJson[]> =>
  (JSON.parse(await api.kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${pod}`, '-o', 'json'])) as { items: EventJson[] }).items;

const podOf = async (pod: string): Promise<{ metadata: { uid: string; annotations?: Record<string, string> } }> =>
  JSON.parse(await api.kubectlOk(['get', 'pod', pod, '-o', 'json'])) as { metadata: { uid: string; annotations?: Record<string, string> } };

/** The pod's allocated address, once the controller wrote it. */
const addressOf = async (pod: string): Promise<string | undefined> => {
  const a = (await podOf(pod)).metadata.annotations ?? {};
  return a['ovn.kubernetes.io/allocated'] === 'true' ? a['ovn.kubernetes.io/ip_address'] : undefined;
};

/** kube_ovn_ipam_reconcile_panics_total as scraped from `from`, one `labels value` line per
 *  series. */
const panics = async (from: PromMetrics = metrics): Promise<string[]> =>
  (await from.registry.getSingleMetricAsString('kube_ovn_ipam_reconcile_panics_total')).split('\n').filter((l) => l.startsWith('kube_ovn_ipam_reconcile_panics_total{'));

/** An IP object written for a pod (its UID label) that does not exist: the sweep's to release. */
const orphanYaml = (pod: string, address: string): string => `
apiVersion: kubeovn.io/v1
kind: IP
metadata:
  name: ${pod}.default
  labels: {ovn.kubernetes.io/subnet: ovn-default, ipam.kube-ovn.io/pod-uid: "uid-of-${pod}"}
spec: {podName: ${pod}, namespace: default, subnet: ovn-default, nodeName: "", ipAddress: ${address}, v4IpAddress: ${address}, v6IpAddress: "", macAddress: "", containerID: "", podType: ""}
`;

const ipsNamed = async (names: readonly string[]): Promise<string[]> =>
  (JSON.parse(await api.kubectlOk(['get', 'ips', '-o', 'json'])) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name).filter((n) => names.includes(n)).sort();

const threwLines = (): string[] => lines.filter((l) => l.includes(' threw: '));

beforeAll(async () => {
  api = await startApiServer();
  await api.kubectlOk(['apply', '-f', '-'], { input: `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ovn-default}
spec: {cidrBlock: 10.16.0.0/16, provider: ovn}
` });
  const kc = loadKubeConfig(api.kubeconfigPath);
  metrics = makeMetrics();
  controller = new Controller(
    { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics, canWrite: () => true },
    { workers: 2, gcIntervalMs: 0, cooldownMs: 0, throwFor },
  );
  controller.start();
  await controller.ready;
}, 90_000);

afterAll(async () => {
  await controller?.stop();
  await api?.stop();
});

describe('a key that throws is reported and retried; the others go on', () => {
  it('a pod whose reconcile throws: Event, log line, metric; five pods after it are allocated; then it is too', async () => {
    throwing.add('pods default/bad');
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml(['bad']) });
    const uid = (await podOf('bad')).metadata.uid;
    // Thrown at least twice (the first try and a retry after backoff), so "once" means once.
    await waitFor('two throws', async () => ((thrown.get('pods default/bad') ?? 0) >= 2 ? true : undefined));
    const others = ['after-1', 'after-2', 'after-3', 'after-4', 'after-5'];
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml(others) });
    const addresses = await Promise.all(others.map((p) => waitFor(`${p} allocated`, () => addressOf(p))));
    expect(addresses.sort()).toEqual(['10.16.0.2', '10.16.0.3', '10.16.0.4', '10.16.0.5', '10.16.0.6']);
    expect(await addressOf('bad')).toBeUndefined();

    const message = 'injected fault (test hook throwFor) at pods default/bad';
    const events = await waitFor('the Event on bad', async () => {
      const e = await eventsOf('bad');
      return e.length > 0 ? e : undefined;
    });
    expect(events.map((e) => [e.type, e.reason, e.message, e.count ?? 1, e.involvedObject.uid])).toEqual([
      ['Warning', 'ReconcileFailed', `InternalError: reconciling this pod failed unexpectedly and is retried with backoff: ${message}`, 1, uid],
    ]);
    // Stop throwing; read the count at that moment (no throw can come after it).
    throwing.delete('pods default/bad');
    const times = thrown.get('pods default/bad')!;
    expect(await panics()).toEqual([`kube_ovn_ipam_reconcile_panics_total{queue="pods"} ${times}`]);
    const logged = threwLines();
    expect(logged.slice(0, 1)).toEqual([`warn reconcile threw: retrying with backoff ${JSON.stringify({ queue: 'pods', key: 'default/bad', error: message })}`]);
    expect(logged.slice(1).map((l) => l.replace(/\\n.*"\}$/, '"}'))).toEqual([`debug reconcile threw: retrying with backoff (stack) {"queue":"pods","key":"default/bad","stack":"Error: ${message}"}`]);

    // The queue kept retrying it: allocated once the hook stops throwing (after the others).
    expect(await waitFor('bad allocated', () => addressOf('bad'), 40_000)).toBe('10.16.0.7');
    expect(await panics()).toEqual([`kube_ovn_ipam_reconcile_panics_total{queue="pods"} ${times}`]);
    expect((await eventsOf('bad')).map((e) => e.reason)).toEqual(['ReconcileFailed']);
  }, 60_000);

  it('a watch event whose handling throws is counted under "events", and its pod is still allocated', async () => {
    throwing.add('events pods/default/odd');
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml(['odd', 'after-odd']) });
    const [odd, after] = await Promise.all([waitFor('odd allocated', () => addressOf('odd')), waitFor('after-odd allocated', () => addressOf('after-odd'))]);
    expect([odd, after].sort()).toEqual(['10.16.0.8', '10.16.0.9']);
    throwing.delete('events pods/default/odd');
    const times = thrown.get('events pods/default/odd')!;
    expect(times).toBeGreaterThan(0);
    expect((await panics()).sort()).toEqual([`kube_ovn_ipam_reconcile_panics_total{queue="events"} ${times}`, `kube_ovn_ipam_reconcile_panics_total{queue="pods"} ${thrown.get('pods default/bad')!}`]);
    const message = 'injected fault (test hook throwFor) at events pods/default/odd';
    expect(threwLines().filter((l) => l.startsWith('warn') && l.includes('"queue":"events"'))).toEqual(
      Array.from({ length: times }, () => `warn handling a watch event threw: planner state dropped, key queued ${JSON.stringify({ queue: 'events', key: 'pods/default/odd', error: message })}`),
    );
    expect(await eventsOf('odd')).toEqual([]);
  }, 60_000);
});

describe('a Subnet whose reconcile throws', () => {
  it('its status waits (counted under "subnets", logged once) while its pods are allocated; then the status is written', async () => {
    throwing.add('subnets sub-b');
    await api.kubectlOk(['apply', '-f', '-'], { input: `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: sub-b}
spec: {cidrBlock: 10.17.0.0/24, provider: ovn}
---
apiVersion: v1
kind: Pod
metadata: {name: in-b, namespace: default, annotations: {ovn.kubernetes.io/logical_switch: sub-b}}
spec:
  containers: [{name: c, image: alpine}]
` });
    expect(await waitFor('in-b allocated', () => addressOf('in-b'))).toBe('10.17.0.2');
    await waitFor('two throws', async () => ((thrown.get('subnets sub-b') ?? 0) >= 2 ? true : undefined));
    const usingOf = async (): Promise<number | undefined> =>
      (JSON.parse(await api.kubectlOk(['get', 'subnet', 'sub-b', '-o', 'json'])) as { status?: { v4usingIPs?: number } }).status?.v4usingIPs;
    expect(await usingOf()).toBeUndefined();
    throwing.delete('subnets sub-b');
    const times = thrown.get('subnets sub-b')!;
    expect((await panics()).filter((l) => l.includes('"subnets"'))).toEqual([`kube_ovn_ipam_reconcile_panics_total{queue="subnets"} ${times}`]);
    expect(threwLines().filter((l) => l.startsWith('warn') && l.includes('"queue":"subnets"'))).toEqual([
      `warn reconcile threw: retrying with backoff ${JSON.stringify({ queue: 'subnets', key: 'sub-b', error: 'injected fault (test hook throwFor) at subnets sub-b' })}`,
    ]);
    expect(await waitFor('sub-b status', async () => ((await usingOf()) === 1 ? 1 : undefined), 40_000)).toBe(1);
  }, 60_000);
});

describe('the sweep: one IP object whose release throws is skipped, the others are released', () => {
  it('a ghost whose release throws stays (counted under "sweep"), the other goes; the next sweep releases it', async () => {
    const ghosts = ['ghost-a.default', 'ghost-b.default'];
    await api.kubectlOk(['apply', '-f', '-'], { input: `${orphanYaml('ghost-a', '10.16.1.10')}---${orphanYaml('ghost-b', '10.16.1.11')}` });
    await waitFor('the ghosts in the cache', async () => (ghosts.every((g) => controller.live.snapshot.ips.has(g)) ? true : undefined));
    throwing.add('sweep ghost-a.default');
    await controller.sweep();
    expect(await ipsNamed(ghosts)).toEqual(['ghost-a.default']);
    expect(thrown.get('sweep ghost-a.default')).toBe(1);
    expect((await panics()).filter((l) => l.includes('"sweep"'))).toEqual(['kube_ovn_ipam_reconcile_panics_total{queue="sweep"} 1']);
    expect(threwLines().filter((l) => l.startsWith('warn') && l.includes('"queue":"sweep"'))).toEqual([
      `warn sweep threw: skipped until the next sweep ${JSON.stringify({ queue: 'sweep', key: 'ghost-a.default', error: 'injected fault (test hook throwFor) at sweep ghost-a.default' })}`,
    ]);
    throwing.delete('sweep ghost-a.default');
    await controller.sweep();
    expect(await ipsNamed(ghosts)).toEqual([]);
  }, 60_000);

  it('a sweep nobody awaits (at start-up) that throws is reported; the controller goes on allocating', async () => {
    // This controller takes over from the first (stopped: never two writing at once).
    await controller.stop();
    const own = makeMetrics();
    let sweeps = 0;
    const kc = loadKubeConfig(api.kubeconfigPath);
    const second = new Controller(
      { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: own, canWrite: () => true },
      { workers: 2, gcIntervalMs: 0, cooldownMs: 0, throwFor: (site, key) => site === 'sweep' && key === '*' && ++sweeps > 0 },
    );
    const before = lines.length;
    second.start();
    try {
      await second.ready;
      await waitFor('the start-up sweep', async () => ((await panics(own)).length > 0 ? true : undefined));
      await api.kubectlOk(['apply', '-f', '-'], { input: podYaml(['after-sweep']) });
      expect(await waitFor('after-sweep allocated', () => addressOf('after-sweep'))).toBe('10.16.0.10');
      expect([sweeps, await panics(own)]).toEqual([1, ['kube_ovn_ipam_reconcile_panics_total{queue="sweep"} 1']]);
      expect(lines.slice(before).filter((l) => l.startsWith('warn') && l.includes(' threw: '))).toEqual([
        `warn sweep threw: skipped until the next sweep ${JSON.stringify({ queue: 'sweep', key: '*', error: 'injected fault (test hook throwFor) at sweep *' })}`,
      ]);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
