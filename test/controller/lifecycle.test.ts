// Pod lifecycles against a real kube-apiserver + etcd + kube-controller-manager, with the
// controller in-process (DESIGN §3.4, §3.5): deleting a pod frees its addresses; a StatefulSet
// pod recreated by its StatefulSet keeps its addresses and IP objects, and scaling down frees
// them; a plain pod recreated under the same name is a new pod; a taken static address is an
// Event on the pod, not an annotation, and is allocated once the holder is gone.
//
// Each step waits for the state of the world (kubectl reads, an independent watch of the IP
// objects), never for the controller's internals. Steps share one cluster and run in order,
// but each asserts on its own pods and addresses, so one failing step does not hide the others.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Watch } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { sleep, waitFor } from '../harness/exec.js';
import { memoryLog } from '../harness/inProcess.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/macvlan-ipam/', import.meta.url));
const OVN = 'ovn.kubernetes.io';
const MACVLAN = 'macvlan.default.kubernetes.io';
const UID_LABEL = 'ipam.kube-ovn.io/pod-uid';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

interface Pod {
  readonly metadata: { readonly name: string; readonly uid: string; readonly annotations?: Record<string, string> };
}
interface Ip {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec: { readonly podName: string; readonly ipAddress: string; readonly macAddress: string; readonly subnet: string; readonly podType: string };
}
interface SubnetStatus { readonly v4usingIPs?: number; readonly v4availableIPs?: number; readonly v4usingIPrange?: string }

const podDoc = (name: string, annotations: Record<string, string>): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations },
  spec: { containers: [{ name: 'c', image: 'alpine' }] },
});

const STATEFULSET = JSON.stringify({
  apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 2, podManagementPolicy: 'Parallel', serviceName: 'web', selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: {
        labels: { app: 'web' },
        annotations: {
          'k8s.v1.cni.cncf.io/networks': 'macvlan',
          [`${OVN}/ip_pool`]: '10.16.0.50,10.16.0.51,10.16.0.52',
          [`${MACVLAN}/ip_pool`]: '172.17.0.50,172.17.0.51,172.17.0.52',
        },
      },
      spec: { containers: [{ name: 'c', image: 'alpine' }] },
    },
  },
});

const v4 = (text: string): number => text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
/** Does a status range text (`a-b,c`) hold `address`? */
const inRanges = (ranges: string | undefined, address: string): boolean =>
  (ranges ?? '').split(',').filter((r) => r !== '').some((r) => {
    const [start, end = start] = r.split('-') as [string, string?];
    return v4(start) <= v4(address) && v4(address) <= v4(end);
  });

/** The controller-written part of a pod's annotations for one provider prefix. */
const written = (pod: Pod, prefix: string): Record<string, string> =>
  Object.fromEntries(Object.entries(pod.metadata.annotations ?? {}).filter(([k]) => k.startsWith(`${prefix}/`) && !k.endsWith('/ip_pool')));

describe('pod lifecycles with the controller on a real API server', () => {
  let api: ApiServer;
  let controller: Controller;
  let kc: ReturnType<typeof loadKubeConfig>;
  let log = memoryLog();
  const ipEvents: { type: string; name: string; uid: string | undefined }[] = [];
  let stopIpWatch: AbortController | undefined;

  const getJson = async <T>(args: readonly string[]): Promise<T> => JSON.parse(await api.kubectlOk([...args, '-o', 'json'])) as T;
  const getPod = async (name: string): Promise<Pod | undefined> => {
    const r = await api.kubectl(['get', 'pod', name, '-o', 'json']);
    return r.code === 0 ? JSON.parse(r.stdout) as Pod : undefined;
  };
  const ips = async (): Promise<Ip[]> => (await getJson<{ items: Ip[] }>(['get', 'ips'])).items;
  const ipsOf = async (pod: string): Promise<Ip[]> => (await ips()).filter((ip) => ip.spec.podName === pod).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
  const status = async (subnet: string): Promise<SubnetStatus> => (await getJson<{ status?: SubnetStatus }>(['get', 'subnet', subnet])).status ?? {};
  /** Waits until the pod (optionally: the one with another UID than `notUid`) is allocated on every network it asks for. */
  const allocated = (name: string, { notUid, macvlan = true }: { notUid?: string; macvlan?: boolean } = {}): Promise<Pod> =>
    waitFor(`pod ${name} allocated`, async () => {
      const pod = await getPod(name);
      const a = pod?.metadata.annotations ?? {};
      const done = a[`${OVN}/allocated`] === 'true' && (!macvlan || a[`${MACVLAN}/allocated`] === 'true');
      return pod !== undefined && done && pod.metadata.uid !== notUid ? pod : undefined;
    }, { timeoutMs: 5_000 });
  const newController = (): Controller => {
    log = memoryLog({ debug: true });
    const c = new Controller(
      { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: makeMetrics(), canWrite: () => true },
      { workers: 2, gcIntervalMs: 0, cooldownMs: 0 },
    );
    c.start();
    return c;
  };

  beforeAll(async () => {
    api = await startApiServer({ controllerManager: true });
    kc = loadKubeConfig(api.kubeconfigPath);
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) await api.kubectlOk(['apply', '-f', `${EXAMPLES}${f}`]);
    // From resourceVersion 0: see seed.test.ts (a watch from a list's version may end in a 504).
    stopIpWatch = await new Watch(kc).watch('/apis/kubeovn.io/v1/ips', { resourceVersion: '0' }, (type, obj: Ip) => {
      ipEvents.push({ type, name: obj.metadata?.name, uid: obj.metadata?.labels?.[UID_LABEL] });
    }, () => undefined);
    controller = newController();
    await controller.ready;
    // The empty subnets' status is written once at start.
    await waitFor('initial Subnet status', async () => ((await status('ovn-default')).v4availableIPs === 65533 ? true : undefined), { timeoutMs: 5_000 });
  }, 90_000);

  afterAll(async () => {
    stopIpWatch?.abort();
    await controller?.stop();
    await api?.stop();
  }, 60_000);

  describe('deleting a pod', () => {
    it('allocates a dynamic pod: eth0 10.16.0.2, net1 172.17.0.11; Subnet status counts it', async () => {
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('alpha', { 'k8s.v1.cni.cncf.io/networks': 'macvlan' }) });
      const pod = await allocated('alpha');
      expect([pod.metadata.annotations?.[`${OVN}/ip_address`], pod.metadata.annotations?.[`${MACVLAN}/ip_address`]]).toEqual(['10.16.0.2', '172.17.0.11']);
      expect((await ipsOf('alpha')).map((ip) => ip.metadata.name)).toEqual(['alpha.default', 'alpha.default.macvlan.default']);
      await waitFor('status counts alpha', async () => ((await status('ovn-default')).v4usingIPs === 1 && (await status('macvlan')).v4usingIPs === 1 ? true : undefined), { timeoutMs: 5_000 });
      expect([await status('ovn-default'), await status('macvlan')].map((s) => [s.v4usingIPs, s.v4availableIPs, s.v4usingIPrange]))
        .toEqual([[1, 65532, '10.16.0.2'], [1, 65523, '172.17.0.11']]);
    });

    it('deletes its IP objects', async () => {
      expect(await api.kubectlOk(['delete', 'pod', 'alpha'])).toBe('pod "alpha" deleted from default namespace\n');
      await waitFor('alpha\'s IP objects deleted', async () => ((await ipsOf('alpha')).length === 0 ? true : undefined), { timeoutMs: 5_000 });
    });

    it('gives the addresses back in the Subnets\' status', async () => {
      const counts = async () => [await status('ovn-default'), await status('macvlan')].map((s) => [s.v4usingIPs, s.v4availableIPs, s.v4usingIPrange]);
      const want = [[0, 65533, ''], [0, 65524, '']];
      await waitFor('status back to empty', async () => (JSON.stringify(await counts()) === JSON.stringify(want) ? true : undefined), { timeoutMs: 5_000 }).catch(() => undefined);
      expect(await counts()).toEqual(want);
    });

    it('reuses a released address only when no never-used one is left (DESIGN §3.4): the next pod gets 10.16.0.3 and 172.17.0.12', async () => {
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('beta', { 'k8s.v1.cni.cncf.io/networks': 'macvlan' }) });
      const pod = await allocated('beta');
      expect([pod.metadata.annotations?.[`${OVN}/ip_address`], pod.metadata.annotations?.[`${MACVLAN}/ip_address`]]).toEqual(['10.16.0.3', '172.17.0.12']);
    });
  });

  describe('a StatefulSet (Parallel, 2 replicas, ip_pool on both networks)', () => {
    let web1: Pod;
    let web1Ips: Ip[];

    it('gives web-N the ip_pool entry at its ordinal, and IP objects of podType StatefulSet', async () => {
      expect(await api.kubectlOk(['apply', '-f', '-'], { input: STATEFULSET })).toBe('statefulset.apps/web created\n');
      const web0 = await allocated('web-0');
      web1 = await allocated('web-1');
      expect([web0, web1].map((p) => [p.metadata.annotations?.[`${OVN}/ip_address`], p.metadata.annotations?.[`${MACVLAN}/ip_address`]]))
        .toEqual([['10.16.0.50', '172.17.0.50'], ['10.16.0.51', '172.17.0.51']]);
      web1Ips = await ipsOf('web-1');
      expect(web1Ips.map((ip) => [ip.metadata.name, ip.spec.ipAddress, ip.spec.podType, ip.metadata.labels?.[UID_LABEL]])).toEqual([
        ['web-1.default', '10.16.0.51', 'StatefulSet', web1.metadata.uid],
        ['web-1.default.macvlan.default', '172.17.0.51', 'StatefulSet', web1.metadata.uid],
      ]);
    });

    it('web-1 deleted and recreated by the StatefulSet (new UID): same addresses and MAC, IP objects kept throughout', async () => {
      const mark = ipEvents.length;
      await api.kubectlOk(['delete', 'pod', 'web-1']);
      const again = await allocated('web-1', { notUid: web1.metadata.uid });
      expect(written(again, OVN)).toEqual(written(web1, OVN));
      expect(written(again, MACVLAN)).toEqual(written(web1, MACVLAN));
      const now = await waitFor('web-1\'s IP objects relabelled with the new UID', async () => {
        const found = await ipsOf('web-1');
        return found.every((ip) => ip.metadata.labels?.[UID_LABEL] === again.metadata.uid) ? found : undefined;
      }, { timeoutMs: 5_000 });
      expect(now.map((ip) => [ip.metadata.name, ip.spec.ipAddress, ip.spec.macAddress])).toEqual(web1Ips.map((ip) => [ip.metadata.name, ip.spec.ipAddress, ip.spec.macAddress]));
      expect(ipEvents.slice(mark).filter((e) => e.type === 'DELETED' && e.name.startsWith('web-1.'))).toEqual([]);
      web1 = again;
    });

    it('scaled down to 1: web-1\'s IP objects are deleted', async () => {
      expect(await api.kubectlOk(['scale', 'statefulset', 'web', '--replicas=1'])).toBe('statefulset.apps/web scaled\n');
      await waitFor('web-1 gone', async () => ((await getPod('web-1')) === undefined ? true : undefined), { timeoutMs: 5_000 });
      await waitFor('web-1\'s IP objects deleted', async () => ((await ipsOf('web-1')).length === 0 ? true : undefined), { timeoutMs: 5_000 })
        .catch(() => undefined);
      expect((await ipsOf('web-1')).map((ip) => ip.metadata.name)).toEqual([]);
      expect((await ipsOf('web-0')).map((ip) => ip.metadata.name)).toEqual(['web-0.default', 'web-0.default.macvlan.default']);
    });

    it('scaled down to 1: web-1\'s addresses leave the Subnets\' in-use ranges', async () => {
      const using = async () => [inRanges((await status('ovn-default')).v4usingIPrange, '10.16.0.51'), inRanges((await status('macvlan')).v4usingIPrange, '172.17.0.51')];
      await waitFor('.51 freed', async () => ((await using()).every((held) => !held) ? true : undefined), { timeoutMs: 5_000 }).catch(() => undefined);
      expect(await using()).toEqual([false, false]);
      // web-0's stay.
      expect([inRanges((await status('ovn-default')).v4usingIPrange, '10.16.0.50'), inRanges((await status('macvlan')).v4usingIPrange, '172.17.0.50')]).toEqual([true, true]);
    });
  });

  describe('a StatefulSet with dynamic addresses (no ip_pool)', () => {
    it('db-0 deleted and recreated (new UID) keeps its dynamic addresses and MAC', async () => {
      const sts = JSON.parse(STATEFULSET) as { metadata: { name: string }; spec: { replicas: number; selector: unknown; template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> } } } };
      sts.metadata.name = 'db';
      sts.spec.replicas = 1;
      sts.spec.selector = { matchLabels: { app: 'db' } };
      sts.spec.template.metadata = { labels: { app: 'db' }, annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } };
      await api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(sts) });
      const first = await allocated('db-0');
      const mark = ipEvents.length;
      await api.kubectlOk(['delete', 'pod', 'db-0']);
      const again = await allocated('db-0', { notUid: first.metadata.uid });
      expect([written(again, OVN), written(again, MACVLAN)]).toEqual([written(first, OVN), written(first, MACVLAN)]);
      expect(ipEvents.slice(mark).filter((e) => e.type === 'DELETED' && e.name.startsWith('db-0.'))).toEqual([]);
    });
  });

  describe('a plain pod deleted and recreated under the same name', () => {
    it('is a new pod: its IP objects are replaced and carry the new UID', async () => {
      const doc = podDoc('gamma', { 'k8s.v1.cni.cncf.io/networks': 'macvlan' });
      await api.kubectlOk(['apply', '-f', '-'], { input: doc });
      const first = await allocated('gamma');
      expect((await ipsOf('gamma')).map((ip) => ip.metadata.labels?.[UID_LABEL])).toEqual([first.metadata.uid, first.metadata.uid]);
      const mark = ipEvents.length;
      await api.kubectlOk(['replace', '--force', '-f', '-'], { input: doc });
      const second = await allocated('gamma', { notUid: first.metadata.uid });
      const relabelled = await waitFor('gamma\'s IP objects with the new UID', async () => {
        const found = await ipsOf('gamma');
        return found.length === 2 && found.every((ip) => ip.metadata.labels?.[UID_LABEL] === second.metadata.uid) ? found : undefined;
      }, { timeoutMs: 5_000 });
      expect(relabelled.map((ip) => [ip.metadata.name, ip.spec.ipAddress])).toEqual([
        ['gamma.default', second.metadata.annotations?.[`${OVN}/ip_address`]],
        ['gamma.default.macvlan.default', second.metadata.annotations?.[`${MACVLAN}/ip_address`]],
      ]);
      // The old pod's objects were deleted (released), the new ones created: never updated in place.
      const events = ipEvents.slice(mark).filter((e) => e.name === 'gamma.default');
      expect(events.filter((e) => e.type === 'DELETED').map((e) => e.uid)).toEqual([first.metadata.uid]);
      expect(events.filter((e) => e.uid === second.metadata.uid)[0]?.type).toBe('ADDED');
    });

    it('also when the controller was down meanwhile, without a storm of failed writes', async () => {
      const doc = podDoc('delta', {});
      await api.kubectlOk(['apply', '-f', '-'], { input: doc });
      const first = await allocated('delta', { macvlan: false });
      await controller.idle();
      await controller.stop();
      await api.kubectlOk(['replace', '--force', '-f', '-'], { input: doc });
      const recreated = await waitFor('delta recreated', async () => {
        const pod = await getPod('delta');
        return pod !== undefined && pod.metadata.uid !== first.metadata.uid ? pod : undefined;
      });
      controller = newController();
      await controller.ready;
      await allocated('delta', { notUid: first.metadata.uid, macvlan: false });
      await waitFor('delta\'s IP object with the new UID', async () => {
        const found = await ipsOf('delta');
        return found.length === 1 && found[0]?.metadata.labels?.[UID_LABEL] === recreated.metadata.uid ? true : undefined;
      }, { timeoutMs: 5_000 });
      await sleep(500);
      expect(log.lines.filter((l) => l.startsWith('warn write failed')).length).toBeLessThanOrEqual(2);
    });
  });

  describe('a static address already taken', () => {
    it('is an AcquireAddressFailed Event on the pod naming pod, interface and cause; no annotations written', async () => {
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('owner', { [`${OVN}/ip_address`]: '10.16.0.100' }) });
      await allocated('owner', { macvlan: false });
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('thief', { [`${OVN}/ip_address`]: '10.16.0.100' }) });
      type Event = { reason: string; type: string; message: string; involvedObject: { name: string; uid?: string } };
      const events = await waitFor('an Event on thief', async () => {
        const found = (await getJson<{ items: Event[] }>(['get', 'events', '--field-selector', 'involvedObject.name=thief'])).items;
        return found.length > 0 ? found : undefined;
      }, { timeoutMs: 5_000 });
      const thief = await getPod('thief');
      expect(events.map((e) => ({ reason: e.reason, type: e.type, message: e.message, uid: e.involvedObject.uid }))).toEqual([{
        reason: 'AcquireAddressFailed', type: 'Warning', uid: thief?.metadata.uid,
        message: 'AddressConflict: pod default/thief eth0 (ovn): 10.16.0.100 is already held by default/owner in subnet ovn-default (10.16.0.0/16)',
      }]);
      const annotations = Object.fromEntries(Object.entries(thief?.metadata.annotations ?? {}).filter(([k]) => k !== LAST_APPLIED));
      expect(annotations).toEqual({ [`${OVN}/ip_address`]: '10.16.0.100' });
      expect((await ipsOf('thief')).length).toBe(0);
    });

    it('a repeated failure does not pile up Events: one Event for thief, however often it is re-planned', async () => {
      // Another pod in ovn-default changes its status, which re-plans every unsettled pod.
      const before = (await status('ovn-default')).v4usingIPs;
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('bystander', {}) });
      await allocated('bystander', { macvlan: false });
      await waitFor('status counts bystander', async () => ((await status('ovn-default')).v4usingIPs !== before ? true : undefined), { timeoutMs: 5_000 });
      await controller.idle();
      type Event = { reason: string; message: string; count?: number };
      const events = (await getJson<{ items: Event[] }>(['get', 'events', '--field-selector', 'involvedObject.name=thief'])).items;
      // Kubernetes' own recorders raise `count` on one Event instead of adding another.
      expect(events.map((e) => ({ reason: e.reason, message: e.message }))).toEqual([{
        reason: 'AcquireAddressFailed',
        message: 'AddressConflict: pod default/thief eth0 (ovn): 10.16.0.100 is already held by default/owner in subnet ovn-default (10.16.0.0/16)',
      }]);
    });

    it('is allocated once the holder is deleted', async () => {
      await api.kubectlOk(['delete', 'pod', 'owner']);
      await waitFor('owner\'s IP object deleted', async () => ((await ipsOf('owner')).length === 0 ? true : undefined), { timeoutMs: 5_000 });
      const thief = await allocated('thief', { macvlan: false }).catch(() => undefined);
      expect(thief?.metadata.annotations?.[`${OVN}/ip_address`]).toBe('10.16.0.100');
      expect(thief?.metadata.annotations?.[`${OVN}/allocated`]).toBe('true');
    }, 10_000);
  });

  // The same two releases, for a holder whose IP object carries no finalizer (one the
  // controller did not create: a migration from Kube-OVN, a restore, a hand-made claim). The
  // controller then deletes it without a finalizer patch, so the only event it sees is DELETED.
  describe('a holder whose IP object has no finalizer', () => {
    it('deleting it frees its address in the Subnet\'s status', async () => {
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('owner2', { [`${OVN}/ip_address`]: '10.16.0.101' }) });
      await allocated('owner2', { macvlan: false });
      await waitFor('status counts 10.16.0.101', async () => (inRanges((await status('ovn-default')).v4usingIPrange, '10.16.0.101') ? true : undefined), { timeoutMs: 5_000 });
      await api.kubectlOk(['apply', '-f', '-'], { input: podDoc('thief2', { [`${OVN}/ip_address`]: '10.16.0.101' }) });
      await waitFor('an Event on thief2', async () => ((await api.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=thief2', '-o', 'name'])) !== '' ? true : undefined), { timeoutMs: 5_000 });
      expect(await api.kubectlOk(['patch', 'ip', 'owner2.default', '--type=merge', '-p', '{"metadata":{"finalizers":null}}'])).toBe('ip.kubeovn.io/owner2.default patched\n');
      await controller.idle();
      await api.kubectlOk(['delete', 'pod', 'owner2']);
      await waitFor('owner2\'s IP object deleted', async () => ((await ipsOf('owner2')).length === 0 ? true : undefined), { timeoutMs: 5_000 });
      const inUse = async () => inRanges((await status('ovn-default')).v4usingIPrange, '10.16.0.101');
      // thief2 is not allocated (see the next step), so nothing holds 10.16.0.101 now.
      await waitFor('10.16.0.101 out of the in-use range', async () => (!(await inUse()) ? true : undefined), { timeoutMs: 3_000 }).catch(() => undefined);
      const thief2 = await getPod('thief2');
      const held = thief2?.metadata.annotations?.[`${OVN}/allocated`] === 'true';
      // The status follows within its write interval: in use exactly when thief2 holds it.
      await waitFor('the status agrees with thief2', async () => ((await inUse()) === held ? true : undefined), { timeoutMs: 3_000 }).catch(() => undefined);
      expect({ inUse: await inUse(), heldByThief2: held }).toEqual({ inUse: held, heldByThief2: held });
    }, 20_000);

    it('the pod that wanted its static address is allocated', async () => {
      const thief2 = await allocated('thief2', { macvlan: false }).catch(() => undefined);
      expect(thief2?.metadata.annotations?.[`${OVN}/allocated`]).toBe('true');
    }, 10_000);
  });

  describe('a new pod is planned once', () => {
    it('the echoes of the controller\'s own writes (IP objects, the annotation patch) do not plan it again', async () => {
      const names = ['once-1', 'once-2', 'once-3', 'once-4', 'once-5'];
      await Promise.all(names.map((n) => api.kubectlOk(['apply', '-f', '-'], { input: podDoc(n, { 'k8s.v1.cni.cncf.io/networks': 'macvlan' }) })));
      for (const n of names) await allocated(n);
      // The controller's watch brings the echoes about when this file's own watch of IP objects does.
      await waitFor('the echoes of the IP objects', async () => (names.every((n) => ipEvents.some((e) => e.name === `${n}.default.macvlan.default`)) ? true : undefined), { timeoutMs: 5_000 });
      await sleep(500);
      await controller.idle();
      const planned = log.lines.filter((l) => l.startsWith('debug pod planned ')).map((l) => JSON.parse(l.slice('debug pod planned '.length)) as { pod: string; actions: number });
      expect(names.map((n) => planned.filter((p) => p.pod === `default/${n}`).map((p) => p.actions))).toEqual(names.map(() => [3]));
    });
  });
});
