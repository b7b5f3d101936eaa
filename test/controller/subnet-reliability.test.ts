// Issue 14, items 1 and 2, against the real API server with the controller in-process:
// - a Subnet whose content used to escape a parser as a throw (`cidrBlock: 10.0.0.0/024`) stops
//   nothing: it is read as Kube-OVN reads it (/24), a Subnet that is really invalid gets a failed
//   condition naming the field, pods on the good Subnets are allocated, and a controller restarted
//   with both present starts and allocates;
// - two OVN Subnets created in the same second, one overlapping the other, with a controller
//   restart in the middle: after the restart no two live pods hold one address, and the winner
//   the first controller acted on is still the winner.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { controllerFor, memoryLog } from '../harness/inProcess.js';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';

let api: ApiServer;
let controller: Controller | undefined;
const log = memoryLog();

const apply = async (yaml: string): Promise<void> => {
  await api.kubectlOk(['apply', '-f', '-'], { input: yaml });
};

const startController = async (): Promise<void> => {
  controller = controllerFor(loadKubeConfig(api.kubeconfigPath), { workers: 3 }, log);
  controller.start();
  await controller.ready;
};

const stopController = async (): Promise<void> => {
  await controller?.stop();
  controller = undefined;
};

const subnetYaml = (name: string, cidrBlock: string, extra = ''): string => `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ${name}}
spec: {cidrBlock: "${cidrBlock}", provider: ovn${extra}}
`;

const podYaml = (name: string, annotations: Record<string, string>): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
  annotations: ${JSON.stringify(annotations)}
spec:
  containers: [{name: c, image: alpine}]
`;

interface PodJson { metadata: { name: string; annotations?: Record<string, string>; deletionTimestamp?: string } }
interface EventJson { reason: string; message: string }
interface Condition { type: string; status: string; reason: string; message: string }
interface SubnetJson { metadata: { creationTimestamp: string }; status?: { conditions?: Condition[] } }

const waitFor = async <A>(what: string, probe: () => Promise<A | undefined>, ms = 15_000): Promise<A> => {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${log.lines.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const annotationsOf = async (pod: string): Promise<Record<string, string>> =>
  (JSON.parse(await api.kubectlOk(['get', 'pod', pod, '-o', 'json'])) as PodJson).metadata.annotations ?? {};

const eventsOf = async (pod: string): Promise<EventJson[]> =>
  (JSON.parse(await api.kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${pod}`, '-o', 'json'])) as { items: EventJson[] }).items;

const subnetOf = async (name: string): Promise<SubnetJson> => JSON.parse(await api.kubectlOk(['get', 'subnet', name, '-o', 'json'])) as SubnetJson;

const readyOf = async (name: string): Promise<Condition | undefined> => (await subnetOf(name)).status?.conditions?.find((c) => c.type === 'Ready');

/** The pod's address once allocated. */
const allocatedAddress = (pod: string): Promise<string> =>
  waitFor(`${pod} allocated`, async () => {
    const a = await annotationsOf(pod);
    return a['ovn.kubernetes.io/allocated'] === 'true' ? a['ovn.kubernetes.io/ip_address'] : undefined;
  });

/** How the controller settled the pod: its address, or the code of its first Event. */
const settled = (pod: string): Promise<string> =>
  waitFor(`${pod} allocated or refused`, async () => {
    const a = await annotationsOf(pod);
    if (a['ovn.kubernetes.io/allocated'] === 'true') return `allocated ${a['ovn.kubernetes.io/ip_address']}`;
    const e = (await eventsOf(pod))[0];
    return e === undefined ? undefined : `refused ${e.message.split(':')[0]}`;
  });

/** Every address held by more than one live pod (by its annotations), with the pods. */
const duplicates = async (): Promise<string[]> => {
  const pods = (JSON.parse(await api.kubectlOk(['get', 'pods', '-n', 'default', '-o', 'json'])) as { items: PodJson[] }).items;
  const holders = new Map<string, string[]>();
  for (const p of pods) {
    const a = p.metadata.annotations ?? {};
    if (p.metadata.deletionTimestamp !== undefined || a['ovn.kubernetes.io/allocated'] !== 'true') continue;
    const address = a['ovn.kubernetes.io/ip_address']!;
    holders.set(address, [...(holders.get(address) ?? []), p.metadata.name]);
  }
  return [...holders].filter(([, names]) => names.length > 1).map(([address, names]) => `${address}: ${names.sort().join(', ')}`);
};

beforeAll(async () => {
  api = await startApiServer();
  await apply(subnetYaml('ovn-default', '10.16.0.0/16'));
  await startController();
}, 120_000);

afterAll(async () => {
  await stopController();
  await api?.stop();
}, 60_000);

describe('one Subnet never halts allocation (item 1)', () => {
  it('10.0.0.0/024 is read as /24; a really bad Subnet gets a failed condition naming the field; every other pod is allocated', async () => {
    await apply(subnetYaml('zero', '10.0.0.0/024') + '---' + subnetYaml('bad', '10.1.0.0/033'));
    expect(await waitFor('bad Subnet condition', () => readyOf('bad'))).toEqual({
      type: 'Ready', status: 'False', reason: 'ValidationFailed',
      message: 'subnet bad is invalid: spec.cidrBlock: "10.1.0.0/033" has prefix length 33, more than the 32 bits of IPv4',
    });
    expect(await waitFor('zero Subnet condition', () => readyOf('zero'))).toEqual({ type: 'Ready', status: 'True', reason: 'Validated', message: '' });
    await apply(podYaml('on-zero', { 'ovn.kubernetes.io/logical_switch': 'zero' }) + '---' + podYaml('on-bad', { 'ovn.kubernetes.io/logical_switch': 'bad' }) + '---' + podYaml('on-default', {}));
    expect(await allocatedAddress('on-zero')).toBe('10.0.0.2');
    expect((await annotationsOf('on-zero'))['ovn.kubernetes.io/cidr']).toBe('10.0.0.0/24');
    expect(await allocatedAddress('on-default')).toBe('10.16.0.2');
    const refused = await waitFor('an Event on on-bad', async () => (await eventsOf('on-bad'))[0]);
    expect(refused.message).toBe('SubnetInvalid: pod default/on-bad eth0 (ovn): subnet bad is invalid: spec.cidrBlock: "10.1.0.0/033" has prefix length 33, more than the 32 bits of IPv4 (named by annotation ovn.kubernetes.io/logical_switch)');
  }, 60_000);

  it('a controller restarted with those Subnets present starts and allocates (no crash loop)', async () => {
    await stopController();
    await startController();
    await apply(podYaml('after-restart', {}) + '---' + podYaml('after-restart-zero', { 'ovn.kubernetes.io/logical_switch': 'zero' }));
    expect(await allocatedAddress('after-restart')).toBe('10.16.0.3');
    expect(await allocatedAddress('after-restart-zero')).toBe('10.0.0.3');
    expect(await allocatedAddress('on-zero')).toBe('10.0.0.2');
  }, 60_000);
});

describe('overlapping Subnets of the same second, a restart in the middle (item 2)', () => {
  /** Creates both Subnets in one apply, zz-first first, until they share a creation second. */
  const createInOneSecond = async (): Promise<string> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      await apply(subnetYaml('zz-first', '10.50.0.0/24') + '---' + subnetYaml('aa-second', '10.50.0.0/25'));
      const [zz, aa] = [await subnetOf('zz-first'), await subnetOf('aa-second')];
      if (zz.metadata.creationTimestamp === aa.metadata.creationTimestamp) return zz.metadata.creationTimestamp;
      await api.kubectlOk(['delete', 'subnet', 'zz-first', 'aa-second', '--wait']);
    }
    throw new Error('could not create the two Subnets within one second');
  };

  it('after the restart no two live pods hold one address, and the winner is the one acted on before it', async () => {
    await createInOneSecond();
    await apply(podYaml('in-zz', { 'ovn.kubernetes.io/logical_switch': 'zz-first' }));
    // Which one wins depends on when the controller saw them (zz-first alone first, or both):
    // either is right, as long as it stays. The pod follows it: allocated in zz-first when
    // zz-first won, refused when it lost.
    const before = await settled('in-zz');
    expect(['allocated 10.50.0.2', 'refused SubnetInvalid']).toContain(before);
    const winnerBefore = before === 'allocated 10.50.0.2' ? 'zz-first' : 'aa-second';
    const loserBefore = winnerBefore === 'zz-first' ? 'aa-second' : 'zz-first';
    await waitFor(`${winnerBefore} recorded Ready, ${loserBefore} not`, async () =>
      ((await readyOf(winnerBefore))?.status === 'True' && (await readyOf(loserBefore))?.status === 'False' ? true : undefined));

    await stopController();
    await apply(podYaml('in-aa', { 'ovn.kubernetes.io/logical_switch': 'aa-second' }));
    await startController();
    const inAa = await settled('in-aa');
    expect(await duplicates()).toEqual([]);
    expect(await settled('in-zz')).toBe(before);
    expect(inAa).toBe(winnerBefore === 'aa-second' ? 'allocated 10.50.0.2' : 'refused SubnetInvalid');
    expect((await readyOf('zz-first'))?.status).toBe(winnerBefore === 'zz-first' ? 'True' : 'False');
    expect(log.lines.filter((l) => l.includes('cannot be kept'))).toEqual([]);
  }, 90_000);

  it('a controller that starts on the state an earlier one left (in-zz holds 10.50.0.2 in zz-first) keeps it and refuses in-aa', async () => {
    // As the first controller left it, whoever won above: zz-first Ready and holding
    // in-zz's claim, aa-second not ready (the restarted controller re-lists them by name).
    // The running controller releases the pods' IP objects (they carry its finalizer).
    await api.kubectlOk(['delete', 'pod', 'in-zz', 'in-aa', '--ignore-not-found', '--wait']);
    await waitFor('the IP objects released', async () =>
      ((await api.kubectlOk(['get', 'ip', 'in-zz.default', 'in-aa.default', '--ignore-not-found', '-o', 'name'])).trim() === '' ? true : undefined));
    await stopController();
    await api.kubectlOk(['delete', 'subnet', 'zz-first', 'aa-second', '--wait']);
    await createInOneSecond();
    await apply(podYaml('in-zz', {
      'ovn.kubernetes.io/logical_switch': 'zz-first', 'ovn.kubernetes.io/ip_address': '10.50.0.2', 'ovn.kubernetes.io/cidr': '10.50.0.0/24',
      'ovn.kubernetes.io/gateway': '10.50.0.1', 'ovn.kubernetes.io/allocated': 'true',
    }));
    const uid = (JSON.parse(await api.kubectlOk(['get', 'pod', 'in-zz', '-o', 'json'])) as { metadata: { uid: string } }).metadata.uid;
    await apply(`
apiVersion: kubeovn.io/v1
kind: IP
metadata:
  name: in-zz.default
  labels: {ovn.kubernetes.io/subnet: zz-first, ipam.kube-ovn.io/pod-uid: "${uid}"}
spec: {podName: in-zz, namespace: default, subnet: zz-first, nodeName: "", ipAddress: 10.50.0.2, v4IpAddress: 10.50.0.2, v6IpAddress: "", macAddress: "", containerID: "", podType: ""}
`);
    await apply(podYaml('in-aa', { 'ovn.kubernetes.io/logical_switch': 'aa-second' }));
    await startController();
    expect(await settled('in-aa')).toBe('refused SubnetInvalid');
    expect(await duplicates()).toEqual([]);
    expect((await annotationsOf('in-zz'))['ovn.kubernetes.io/ip_address']).toBe('10.50.0.2');
    expect(await waitFor('zz-first Ready', async () => ((await readyOf('zz-first'))?.status === 'True' ? true : undefined))).toBe(true);
    expect((await readyOf('aa-second'))?.status).toBe('False');
    await apply(podYaml('more-zz', { 'ovn.kubernetes.io/logical_switch': 'zz-first' }));
    expect(await allocatedAddress('more-zz')).toBe('10.50.0.3');
    expect(log.lines.filter((l) => l.includes('cannot be kept'))).toEqual([]);
  }, 90_000);
});
