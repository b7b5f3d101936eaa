// Bad input never stops the controller: each row gives its pod an Event with the error code
// and a message naming the field, while a well-formed pod created after it is allocated.
// Against the real API server, with the controller in-process.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeLog } from '../../src/adapters/log.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import { Controller } from '../../src/effects/Controller.js';

let api: ApiServer;
let controller: Controller;

const apply = async (yaml: string): Promise<void> => {
  await api.kubectlOk(['apply', '-f', '-'], { input: yaml });
};

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

interface PodJson { metadata: { annotations?: Record<string, string> } }
interface EventJson { reason: string; message: string; involvedObject: { name: string } }

const waitFor = async <A>(what: string, probe: () => Promise<A | undefined>, ms = 5000): Promise<A> => {
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

const annotationsOf = async (pod: string): Promise<Record<string, string>> =>
  (JSON.parse(await api.kubectlOk(['get', 'pod', pod, '-o', 'json'])) as PodJson).metadata.annotations ?? {};

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
spec: {cidrBlock: 172.17.0.0/29, provider: macvlan.default}
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: macvlan, namespace: default}
spec:
  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "ipam": {"type": "kube-ovn", "provider": "macvlan.default"}}'
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: broken, namespace: default}
spec:
  config: '{"cniVersion": "0.3.1", "type": "macvlan",'
`);
  const kc = loadKubeConfig(api.kubeconfigPath);
  controller = new Controller(
    { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log: makeLog('warn'), metrics: makeMetrics(), canWrite: () => true },
    { workers: 3, gcIntervalMs: 0, cooldownMs: 0 },
  );
  controller.start();
  await controller.ready;
  await apply(podYaml('holder', { 'ovn.kubernetes.io/ip_address': '10.16.0.50' }));
  await waitFor('holder allocated', async () => ((await annotationsOf('holder'))['ovn.kubernetes.io/allocated'] === 'true' ? true : undefined));
}, 90_000);

afterAll(async () => {
  await controller?.stop();
  await api?.stop();
});

// `blocked`: the network that must stay unallocated (the others of the pod are still served).
const rows: readonly { name: string; annotations: Record<string, string>; reason: string; message: string; blocked?: string }[] = [
  { name: 'bad-networks', annotations: { 'k8s.v1.cni.cncf.io/networks': 'Mac_VLAN' }, reason: 'ValidatePodNetworkFailed', message: 'InvalidAnnotation: pod default/bad-networks: annotation k8s.v1.cni.cncf.io/networks:', blocked: 'macvlan.default' },
  { name: 'missing-nad', annotations: { 'k8s.v1.cni.cncf.io/networks': 'nope' }, reason: 'ValidatePodNetworkFailed', message: 'NetworkNotFound: pod default/missing-nad net1 (nope.default): NetworkAttachmentDefinition default/nope does not exist', blocked: 'nope.default' },
  { name: 'broken-nad', annotations: { 'k8s.v1.cni.cncf.io/networks': 'broken' }, reason: 'ValidatePodNetworkFailed', message: 'NetworkNotFound: pod default/broken-nad net1 (broken.default): NetworkAttachmentDefinition "default/broken": spec.config: invalid JSON', blocked: 'broken.default' },
  { name: 'taken', annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.50' }, reason: 'AcquireAddressFailed', message: 'AddressConflict: pod default/taken eth0 (ovn): 10.16.0.50 is already held by default/holder in subnet ovn-default (10.16.0.0/16)' },
  { name: 'outside', annotations: { 'ovn.kubernetes.io/ip_address': '10.99.0.5' }, reason: 'AcquireAddressFailed', message: 'AddressOutOfRange: pod default/outside eth0 (ovn): 10.99.0.5 is outside subnet ovn-default (10.16.0.0/16)' },
  { name: 'malformed-ip', annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.300' }, reason: 'ValidatePodNetworkFailed', message: 'InvalidAnnotation: pod default/malformed-ip eth0 (ovn): annotation ovn.kubernetes.io/ip_address: "10.16.0.300" is not an IP address' },
  { name: 'malformed-mac', annotations: { 'ovn.kubernetes.io/mac_address': '00:00:zz:53:6b:b6' }, reason: 'ValidatePodNetworkFailed', message: 'InvalidAnnotation: pod default/malformed-mac eth0 (ovn): annotation ovn.kubernetes.io/mac_address: "00:00:zz:53:6b:b6" is not a MAC address' },
  { name: 'pool-exhausted', annotations: { 'ovn.kubernetes.io/ip_pool': '10.16.0.50' }, reason: 'AcquireAddressFailed', message: 'NoAvailableAddress: pod default/pool-exhausted eth0 (ovn): no entry of ip_pool 10.16.0.50 is free: 10.16.0.50 is already held by default/holder in subnet ovn-default (10.16.0.0/16)' },
  { name: 'no-switch', annotations: { 'ovn.kubernetes.io/logical_switch': 'nowhere' }, reason: 'AcquireAddressFailed', message: 'NoSubnet: pod default/no-switch eth0 (ovn): subnet nowhere (named by annotation ovn.kubernetes.io/logical_switch) does not exist' },
  // Attachment interface names (issue 14 item 7): Linux's 15 bytes, never eth0, unique in the pod.
  { name: 'long-ifname', annotations: { 'k8s.v1.cni.cncf.io/networks': '[{"name":"macvlan","interface":"a-very-long-name-x"}]' }, reason: 'ValidatePodNetworkFailed', message: 'InvalidAnnotation: pod default/long-ifname a-very-long-name-x (macvlan.default): annotation k8s.v1.cni.cncf.io/networks: interface "a-very-long-name-x" of default/macvlan is longer than 15 bytes', blocked: 'macvlan.default' },
  { name: 'eth0-attachment', annotations: { 'k8s.v1.cni.cncf.io/networks': '[{"name":"macvlan","interface":"eth0"}]' }, reason: 'ValidatePodNetworkFailed', message: 'InvalidAnnotation: pod default/eth0-attachment eth0 (macvlan.default): annotation k8s.v1.cni.cncf.io/networks: interface "eth0" of default/macvlan is the default network\'s (eth0); an attachment needs another name', blocked: 'macvlan.default' },
  { name: 'same-ifname', annotations: { 'k8s.v1.cni.cncf.io/networks': '[{"name":"macvlan","interface":"net2"},{"name":"broken","interface":"net2"}]' }, reason: 'ValidatePodNetworkFailed', message: 'InvalidAnnotation: pod default/same-ifname net2 (broken.default): annotation k8s.v1.cni.cncf.io/networks: interface "net2" of default/broken is also the interface of default/macvlan', blocked: 'broken.default' },
];

describe('bad input: an Event with the code and the field, and other pods keep being allocated', () => {
  it.each(rows)('$name', async ({ name, annotations, reason, message, blocked }) => {
    await apply(podYaml(name, annotations));
    const event = await waitFor(`an event on ${name}`, async () => (await eventsOf(name))[0]);
    expect(event.reason).toBe(reason);
    expect(event.message.startsWith(message)).toBe(true);
    const written = await annotationsOf(name);
    expect(written[`${blocked ?? 'ovn'}.kubernetes.io/allocated`]).toBeUndefined();
    if (blocked !== undefined) expect(written['ovn.kubernetes.io/allocated']).toBe('true');
    const good = `good-after-${name}`;
    await apply(podYaml(good, {}));
    await waitFor(`${good} allocated`, async () => ((await annotationsOf(good))['ovn.kubernetes.io/allocated'] === 'true' ? true : undefined));
  }, 20_000);

  it('a pod naming 1,500 attachments: one Event, nothing written for it (no IP object, no annotation), the next pod allocated (issue 14 item 5)', async () => {
    const networks = Array.from({ length: 1500 }, (_, i) => `macvlan@n${i + 1}`).join(',');
    await apply(podYaml('wide', { 'k8s.v1.cni.cncf.io/networks': networks }));
    const event = await waitFor('an event on wide', async () => (await eventsOf('wide'))[0]);
    expect([event.reason, event.message]).toEqual(['ValidatePodNetworkFailed', 'InvalidAnnotation: pod default/wide: annotation k8s.v1.cni.cncf.io/networks: names 1500 attachments; a pod may have at most 128']);
    await apply(podYaml('after-wide', {}));
    await waitFor('after-wide allocated', async () => ((await annotationsOf('after-wide'))['ovn.kubernetes.io/allocated'] === 'true' ? true : undefined));
    expect(Object.keys(await annotationsOf('wide')).filter((k) => k.endsWith('/allocated'))).toEqual([]);
    const ips = JSON.parse(await api.kubectlOk(['get', 'ips', '-o', 'json'])) as { items: { spec: { podName: string } }[] };
    expect(ips.items.filter((i) => i.spec.podName === 'wide')).toEqual([]);
    expect(await eventsOf('wide')).toHaveLength(1);
  }, 30_000);

  it('a pod whose annotations our patch would take past 256 KiB: one Event, nothing written for it, the next pod allocated (issue 14 item 5)', async () => {
    // kubectl create, not apply: apply would keep a second copy in last-applied-configuration.
    const blob = 'example.com/blob';
    const networks = 'macvlan@m1,macvlan@m2';
    const room = 100; // bytes left under the limit: less than eth0's and two attachments' keys and values
    const value = 'x'.repeat(262_144 - room - blob.length - 'k8s.v1.cni.cncf.io/networks'.length - networks.length);
    await api.kubectlOk(['create', '-f', '-'], { input: podYaml('heavy', { [blob]: value, 'k8s.v1.cni.cncf.io/networks': networks }) });
    const event = await waitFor('an event on heavy', async () => (await eventsOf('heavy'))[0], 20_000);
    const size = /^InvalidAnnotation: pod default\/heavy: annotations: publishing its addresses would make the pod's annotations (\d+) bytes \(keys and values\), more than the API server's limit of 262144; nothing is written for it$/.exec(event.message);
    expect([event.reason, size !== null && Number(size[1]) > 262_144]).toEqual(['ValidatePodNetworkFailed', true]);
    await apply(podYaml('after-heavy', {}));
    await waitFor('after-heavy allocated', async () => ((await annotationsOf('after-heavy'))['ovn.kubernetes.io/allocated'] === 'true' ? true : undefined), 20_000);
    expect(Object.keys(await annotationsOf('heavy')).sort()).toEqual([blob, 'k8s.v1.cni.cncf.io/networks']);
    const ips = JSON.parse(await api.kubectlOk(['get', 'ips', '-o', 'json'])) as { items: { spec: { podName: string } }[] };
    expect(ips.items.filter((i) => i.spec.podName === 'heavy')).toEqual([]);
    expect(await eventsOf('heavy')).toHaveLength(1);
  }, 40_000);

  it('a pod with the most attachments (128) is allocated, then deleted: every one of its 129 IP objects goes, the addresses are free again (issue 14 item 5)', async () => {
    await apply(`
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: many}
spec: {cidrBlock: 172.19.0.0/24, provider: many.default}
---
apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata: {name: many, namespace: default}
spec:
  config: '{"cniVersion": "0.3.1", "type": "macvlan", "master": "eth0", "ipam": {"type": "kube-ovn", "provider": "many.default"}}'
`);
    const networks = Array.from({ length: 128 }, (_, i) => `many@w${i + 1}`).join(',');
    await apply(podYaml('most', { 'k8s.v1.cni.cncf.io/networks': networks }));
    interface SubnetJson { status?: { v4usingIPs?: number; v4usingIPrange?: string } }
    const usage = async () => (JSON.parse(await api.kubectlOk(['get', 'subnet', 'many', '-o', 'json'])) as SubnetJson).status;
    const ipsOf = async (pod: string) => (JSON.parse(await api.kubectlOk(['get', 'ips', '-o', 'json'])) as { items: { spec: { podName: string } }[] }).items.filter((i) => i.spec.podName === pod);
    await waitFor('most allocated on all 129 networks', async () => {
      const a = await annotationsOf('most');
      return Object.keys(a).filter((k) => k.endsWith('.kubernetes.io/allocated')).length === 129 ? true : undefined;
    }, 60_000);
    expect((await ipsOf('most')).length).toBe(129);
    expect(await waitFor('128 addresses counted', async () => ((await usage())?.v4usingIPs === 128 ? await usage() : undefined), 60_000))
      .toEqual(expect.objectContaining({ v4usingIPs: 128, v4usingIPrange: '172.19.0.2-172.19.0.129' }));

    await api.kubectlOk(['delete', 'pod', 'most', '--wait=false']);
    await waitFor('every IP object of most gone', async () => ((await ipsOf('most')).length === 0 ? true : undefined), 60_000);
    expect(await waitFor('the addresses free again', async () => ((await usage())?.v4usingIPs === 0 ? await usage() : undefined), 60_000))
      .toEqual(expect.objectContaining({ v4usingIPs: 0, v4usingIPrange: '' }));
  }, 180_000);

  it('an Event message is capped at 1 KiB, saying how much was left out (issue 14 item 7)', async () => {
    const value = '1'.repeat(100_000); // kubectl apply keeps a second copy: 2 x 100 kB fit in 256 kB
    await apply(podYaml('huge', { 'ovn.kubernetes.io/ip_address': value }));
    const event = await waitFor('an event on huge', async () => (await eventsOf('huge'))[0]);
    const full = `InvalidAnnotation: pod default/huge eth0 (ovn): annotation ovn.kubernetes.io/ip_address: "${value}" is not an IP address`;
    expect(event.message).toBe(`${full.slice(0, 984)}… and ${full.length - 984} more characters`);
    expect(event.message.length).toBeLessThanOrEqual(1024);
  }, 20_000);

  it('a Subnet with an invalid CIDR, and one that overlaps: each gets a failed condition; existing claims are untouched', async () => {
    await apply(`
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: bad-cidr}
spec: {cidrBlock: 10.50.0.0/33, provider: bad.default}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: overlapping}
spec: {cidrBlock: 10.16.5.0/24, provider: ovn}
`);
    interface SubnetJson { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }
    const condition = async (name: string) => (JSON.parse(await api.kubectlOk(['get', 'subnet', name, '-o', 'json'])) as SubnetJson).status?.conditions?.[0];
    expect(await waitFor('bad-cidr condition', () => condition('bad-cidr'))).toEqual({
      type: 'Ready', status: 'False', reason: 'ValidationFailed',
      message: 'subnet bad-cidr is invalid: spec.cidrBlock: "10.50.0.0/33" has prefix length 33, more than the 32 bits of IPv4',
    });
    expect(await waitFor('overlapping condition', () => condition('overlapping'))).toEqual({
      type: 'Ready', status: 'False', reason: 'ValidationFailed',
      message: 'subnet overlapping is invalid: spec.cidrBlock: 10.16.5.0/24 overlaps 10.16.0.0/16 of subnet ovn-default (both are OVN subnets)',
    });
    expect((await annotationsOf('holder'))['ovn.kubernetes.io/ip_address']).toBe('10.16.0.50');
    expect((JSON.parse(await api.kubectlOk(['get', 'ip', 'holder.default', '-o', 'json'])) as { spec: { ipAddress: string } }).spec.ipAddress).toBe('10.16.0.50');
    await apply(podYaml('good-after-subnets', {}));
    await waitFor('good-after-subnets allocated', async () => ((await annotationsOf('good-after-subnets'))['ovn.kubernetes.io/allocated'] === 'true' ? true : undefined));
  }, 30_000);
});
