// Hand-written IP objects and corrected Subnets against the real API server, with the controller
// in-process (issue #13 items 4 and 5):
// - `plan --kubeconfig` with a minimal reservation (podName, namespace, subnet, ipAddress only)
//   and its pod plans what the controller then writes;
// - a reservation made while the controller runs holds its address until its pod comes; the pod
//   gets it (on OVN with a generated MAC, in the IP object and the pod annotation), and the IP
//   object gets the full record instead of a 409;
// - two reservations of one address: the earlier keeps it, the other pod gets a ClaimConflict
//   Event naming both, and no address is given twice;
// - a reservation of an address a live pod holds (issue #14 item 4): a ClaimConflict Event on
//   the IP object and on its pod, the holder keeps the address, also after a restart; the pod
//   gets it once the holder is gone;
// - a Subnet whose protocol disagrees with its CIDR works, and gets one Warning Event however
//   often its status is written.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { controllerFor } from '../harness/inProcess.js';
import { planLive, plannedGiven, writtenGiven } from '../harness/parity.js';

let api: ApiServer;
let controller: Controller | undefined;

const apply = async (yaml: string): Promise<void> => {
  await api.kubectlOk(['apply', '-f', '-'], { input: yaml });
};
const getJson = async <T>(args: readonly string[]): Promise<T> => JSON.parse(await api.kubectlOk([...args, '-o', 'json'])) as T;

/** A reservation as a person writes it: nothing but these four fields. */
const reservation = (name: string, podName: string, subnet: string, ipAddress: string): string => `
apiVersion: kubeovn.io/v1
kind: IP
metadata: {name: ${name}}
spec: {podName: ${podName}, namespace: default, subnet: ${subnet}, ipAddress: "${ipAddress}"}
---
`;
const podYaml = (name: string, networks?: string): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
  annotations: ${JSON.stringify(networks === undefined ? {} : { 'k8s.v1.cni.cncf.io/networks': networks })}
spec:
  containers: [{name: c, image: alpine}]
---
`;

interface IpJson { metadata: { labels?: Record<string, string> }; spec: Record<string, unknown> }
interface EventJson { type: string; reason: string; message: string; involvedObject: { kind: string; name: string } }
interface SubnetJson { status?: { v4usingIPs?: number; v4usingIPrange?: string; conditions?: { type: string; message?: string }[] } }

const annotationsOf = async (pod: string): Promise<Record<string, string>> =>
  (await getJson<{ metadata: { annotations?: Record<string, string> } }>(['get', 'pod', pod])).metadata.annotations ?? {};
const allocated = (pod: string, provider = 'ovn'): Promise<Record<string, string>> =>
  waitFor(`${pod} allocated (${provider})`, async () => {
    const a = await annotationsOf(pod);
    return a[`${provider}.kubernetes.io/allocated`] === 'true' ? a : undefined;
  }, { timeoutMs: 20_000 });
const eventsOf = async (name: string): Promise<EventJson[]> =>
  (await getJson<{ items: EventJson[] }>(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name}`])).items;
const subnetOf = (name: string): Promise<SubnetJson> => getJson<SubnetJson>(['get', 'subnet', name]);

beforeAll(async () => {
  api = await startApiServer();
  await apply(`
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ovn-default}
spec: {cidrBlock: 10.16.0.0/16, provider: ovn}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: macvlan}
spec: {cidrBlock: 172.17.0.0/24, provider: macvlan.default}
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: macvlan, namespace: default}
spec:
  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "ipam": {"type": "kube-ovn", "provider": "macvlan.default"}}'
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: wrong, namespace: default}
spec:
  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "ipam": {"type": "kube-ovn", "provider": "wrong.default"}}'
`);
}, 90_000);

afterAll(async () => {
  await controller?.stop();
  await api?.stop();
}, 60_000);

describe('hand-written IP objects (reservations)', () => {
  it('plan --kubeconfig plans for a minimal reservation and its pod what the controller then writes', async () => {
    await apply(reservation('pa.default', 'pa', 'ovn-default', '10.16.0.77') + reservation('pa.default.macvlan.default', 'pa', 'macvlan', '172.17.0.50') + podYaml('pa', 'macvlan'));
    const { plan, result } = await planLive(api);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(plan!.errors).toEqual([]);
    expect(plan!.allocations.map((a) => `${a.pod} ${a.interface} ${a.ipAddress} ${a.source}`)).toEqual(['default/pa eth0 10.16.0.77 existing', 'default/pa net1 172.17.0.50 existing']);
    expect(plan!.actions.filter((a) => a.type === 'UpdateIP').map((a) => a.target)).toEqual(['pa.default', 'pa.default.macvlan.default']);

    controller = controllerFor(loadKubeConfig(api.kubeconfigPath));
    controller.start();
    await controller.ready;
    await allocated('pa', 'macvlan.default');
    expect(await writtenGiven(api)).toEqual(plannedGiven(plan!));
    const ip = await getJson<IpJson>(['get', 'ip', 'pa.default']);
    const mac = plan!.allocations[0]!.macAddress;
    expect(mac).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
    expect(ip.spec).toMatchObject({ podName: 'pa', namespace: 'default', subnet: 'ovn-default', ipAddress: '10.16.0.77', v4IpAddress: '10.16.0.77', v6IpAddress: '', macAddress: mac, containerID: '', podType: '' });
    expect(ip.metadata.labels?.['ovn.kubernetes.io/ip_reserved']).toBe('true');
  }, 180_000);

  it('made while the controller runs: held until its pod comes, which gets it with a generated MAC', async () => {
    await apply(reservation('pb.default', 'pb', 'ovn-default', '10.16.0.88'));
    await waitFor('the reservation counted in ovn-default', async () => ((await subnetOf('ovn-default')).status?.v4usingIPrange ?? '').split(',').includes('10.16.0.88') ? true : undefined, { timeoutMs: 20_000 });
    await apply(podYaml('pb'));
    const a = await allocated('pb');
    const mac = a['ovn.kubernetes.io/mac_address'];
    expect([a['ovn.kubernetes.io/ip_address'], mac]).toEqual(['10.16.0.88', expect.stringMatching(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/)]);
    const ip = await waitFor('the IP object with the full record', async () => {
      const o = await getJson<IpJson>(['get', 'ip', 'pb.default']);
      return o.spec.macAddress === mac ? o : undefined;
    }, { timeoutMs: 20_000 });
    expect(ip.spec).toMatchObject({ podName: 'pb', ipAddress: '10.16.0.88', v4IpAddress: '10.16.0.88', macAddress: mac });
    expect((await eventsOf('pb')).filter((e) => e.type === 'Warning')).toEqual([]);
  }, 60_000);

  it('two reservations of one address: the earlier keeps it, the other pod gets a ClaimConflict Event naming both', async () => {
    await apply(reservation('pc1.default', 'pc1', 'ovn-default', '10.16.0.99'));
    await apply(reservation('pc2.default', 'pc2', 'ovn-default', '10.16.0.99'));
    await apply(podYaml('pc1') + podYaml('pc2'));
    const a = await allocated('pc1');
    expect(a['ovn.kubernetes.io/ip_address']).toBe('10.16.0.99');
    const conflict = await waitFor('the ClaimConflict Event on pc2', async () => (await eventsOf('pc2')).find((e) => e.reason === 'ClaimConflict'), { timeoutMs: 20_000 });
    expect(conflict.message).toBe('ClaimConflict: pod default/pc2 eth0 (ovn): IP object pc2.default reserves 10.16.0.99 in subnet ovn-default for pod default/pc2, but 10.16.0.99 is already held by IP object pc1.default (pod default/pc1), which came first (by creation time, then name)');
    expect((await annotationsOf('pc2'))['ovn.kubernetes.io/ip_address']).toBeUndefined();
  }, 60_000);
});

describe('a Subnet whose protocol disagrees with its CIDR', () => {
  it('works, and gets one Warning Event however often its status is written; plan --kubeconfig says so first', async () => {
    await controller?.stop();
    await apply(`
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: wrong}
spec: {cidrBlock: 10.30.0.0/24, provider: wrong.default, protocol: IPv6}
`);
    await apply(podYaml('w1', 'wrong'));
    const { plan } = await planLive(api);
    const warning = 'spec.protocol: is IPv6 but cidrBlock "10.30.0.0/24" is IPv4; using IPv4';
    expect(plan!.actions.filter((a) => a.target === 'wrong').map((a) => [a.type, a.reason])).toEqual([
      ['UpdateSubnetStatus', 'IPv4 1 in use, 252 available'],
      ['EmitEvent', `subnet wrong: ${warning}`],
    ]);
    expect(plan!.allocations.filter((a) => a.pod === 'default/w1' && a.provider === 'wrong.default').map((a) => `${a.provider} ${a.subnet} ${a.ipAddress}`)).toEqual(['wrong.default wrong 10.30.0.2']);
    controller = controllerFor(loadKubeConfig(api.kubeconfigPath));
    controller.start();
    await controller.ready;
    expect((await allocated('w1', 'wrong.default'))['wrong.default.kubernetes.io/ip_address']).toBe('10.30.0.2');
    await apply(podYaml('w2', 'wrong'));
    await allocated('w2', 'wrong.default');
    await apply(podYaml('w3', 'wrong'));
    await allocated('w3', 'wrong.default');
    const status = await waitFor('three addresses counted', async () => {
      const s = (await subnetOf('wrong')).status;
      return s?.v4usingIPs === 3 ? s : undefined;
    }, { timeoutMs: 20_000 });
    expect(status.conditions?.filter((c) => c.type === 'SpecCorrected').map((c) => c.message)).toEqual([warning]);
    expect((await eventsOf('wrong')).map((e) => [e.type, e.reason, e.involvedObject.kind, e.message])).toEqual([
      ['Warning', 'SubnetSpecCorrected', 'Subnet', `subnet wrong: ${warning}`],
    ]);
  }, 60_000);
});

describe('a reservation of an address a live pod holds (issue 14 item 4)', () => {
  it('the IP object and then its pod get a ClaimConflict Event, the holder keeps its address, also after a restart; once the holder is gone the pod gets it', async () => {
    await apply(podYaml('ph'));
    const held = (await allocated('ph'))['ovn.kubernetes.io/ip_address']!;
    await apply(reservation('pq.default', 'pq', 'ovn-default', held));
    const lost = `IP object pq.default reserves ${held} in subnet ovn-default for pod default/pq, but ${held} is already held by IP object ph.default (pod default/ph), which came first (by creation time, then name)`;
    const onIp = await waitFor('the ClaimConflict Event on the IP object', async () => (await eventsOf('pq.default')).find((e) => e.reason === 'ClaimConflict'), { timeoutMs: 20_000 });
    expect([onIp.type, onIp.involvedObject.kind, onIp.message]).toEqual(['Warning', 'IP', `ClaimConflict: ${lost}`]);

    await apply(podYaml('pq'));
    const onPod = await waitFor('the ClaimConflict Event on pq', async () => (await eventsOf('pq')).find((e) => e.reason === 'ClaimConflict'), { timeoutMs: 20_000 });
    expect(onPod.message).toBe(`ClaimConflict: pod default/pq eth0 (ovn): ${lost}`);
    const keeps = async () => {
      expect((await annotationsOf('ph'))['ovn.kubernetes.io/ip_address']).toBe(held);
      expect((await getJson<IpJson>(['get', 'ip', 'ph.default'])).spec.ipAddress).toBe(held);
      expect((await annotationsOf('pq'))['ovn.kubernetes.io/allocated']).toBeUndefined();
    };
    await keeps();

    await controller?.stop();
    const { plan } = await planLive(api);
    expect(plan!.allocations.filter((a) => a.ipAddress === held).map((a) => a.pod)).toEqual(['default/ph']);
    expect(plan!.errors.filter((e) => e.pod === 'default/pq').map((e) => `${e.code} ${e.message}`)).toEqual([`ClaimConflict pod default/pq eth0 (ovn): ${lost}`]);
    controller = controllerFor(loadKubeConfig(api.kubeconfigPath));
    controller.start();
    await controller.ready;
    // The restarted controller tells the IP object once more (a new process), and keeps to the rule.
    await waitFor('the restarted controller\'s Event on the IP object', async () => ((await eventsOf('pq.default')).length === 2 ? true : undefined), { timeoutMs: 20_000 });
    await controller.idle();
    await keeps();

    await api.kubectlOk(['delete', 'pod', 'ph', '--wait=false']);
    const a = await allocated('pq');
    expect(a['ovn.kubernetes.io/ip_address']).toBe(held);
    expect((await eventsOf('pq.default')).map((e) => e.reason)).toEqual(['ClaimConflict', 'ClaimConflict']);
  }, 120_000);

  it('a reservation naming a Subnet that does not exist: a ClaimConflict Event on the IP object', async () => {
    await apply(reservation('pn.default', 'pn', 'nowhere', '10.16.0.200'));
    const onIp = await waitFor('the ClaimConflict Event on the IP object', async () => (await eventsOf('pn.default')).find((e) => e.reason === 'ClaimConflict'), { timeoutMs: 20_000 });
    expect([onIp.type, onIp.involvedObject.kind, onIp.message]).toEqual(['Warning', 'IP', 'ClaimConflict: IP object pn.default reserves 10.16.0.200 in subnet nowhere for pod default/pn, but subnet nowhere does not exist or is invalid']);
  }, 60_000);
});
