// Who serves eth0 (Networks.ts): the default network, a pod's v1.multus-cni.io/default-network
// NAD, or another CNI (non-primary CNI mode); and hot-unplug (Unplug.ts): a live pod that drops
// an attachment gives up its claim, IP object, port and published annotations. Each case is
// planned both ways, by planAll (`plan`) and by the controller's incremental planner, which
// must agree.
import { describe, expect, it } from '@jest/globals';
import type { PlanOptions } from '../../../src/domain/ClusterPlanner.js';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../../../src/domain/IncrementalPlanner.js';
import type { Plan } from '../../../src/domain/Plan.js';
import type { RawDocument, Snapshot } from '../../../src/domain/Snapshot.js';
import { actionList, annotationsAfter, ip, nadObject, objects, pod, snapshotOf, subnetObject } from './snapshots.js';

const OVN_NAD = { cniVersion: '1.0.0', type: 'kube-ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock', provider: 'blue.default.ovn' };
const MACVLAN_NAD = (name: string) => ({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: `${name}.default`, server_socket: '/run/openvswitch/kube-ovn-daemon.sock' } });
const CALICO_NAD = { cniVersion: '0.3.1', type: 'calico' };

const world = (...more: RawDocument[][]): Snapshot => snapshotOf(
  objects('subnets.yaml',
    subnetObject('ovn-default', '10.16.0.0/24'),
    subnetObject('blue', '10.77.0.0/24', 'blue.default.ovn'),
    subnetObject('red', '172.18.0.0/24', 'red.default'),
    subnetObject('green', '172.19.0.0/24', 'green.default')),
  objects('nads.yaml', nadObject('blue', OVN_NAD), nadObject('red', MACVLAN_NAD('red')), nadObject('green', MACVLAN_NAD('green')), nadObject('calico', CALICO_NAD)),
  ...more,
);

/** The plan of pod `default/<name>` by planAll (its actions only) and by the incremental planner. */
const bothWays = (snapshot: Snapshot, name: string, options: Partial<PlanOptions> = {}): { readonly all: Plan; readonly incremental: Plan } => {
  const o: PlanOptions = { now: 0, ...options };
  const all = planAll(snapshot, o);
  const incremental = planPodWith(prepare(snapshot, o), snapshot, `default/${name}`, o).plan;
  const mine = (a: Plan['actions'][number]) => a.type !== 'UpdateSubnetStatus' && (a.target === `default/${name}` || a.target.startsWith(`${name}.default`));
  return { all: { ...all, actions: all.actions.filter(mine) }, incremental };
};

const given = (plan: Plan) => plan.allocations.map((a) => `${a.interface} ${a.provider} ${a.subnet} ${a.ipAddress}`);

describe('eth0 from v1.multus-cni.io/default-network', () => {
  it.each([
    ['default/blue', ['eth0 blue.default.ovn blue 10.77.0.2']],
    ['blue', ['eth0 blue.default.ovn blue 10.77.0.2']],
    ['[{"name":"blue","namespace":"default"}]', ['eth0 blue.default.ovn blue 10.77.0.2']],
    // Another CNI's NAD: that CNI serves eth0; nothing for us, no error.
    ['calico', []],
  ])('%s gives %j', (value, expected) => {
    const plan = planAll(world(pod('p', { uid: 'u', annotations: { 'v1.multus-cni.io/default-network': value } })), { now: 0 });
    expect({ given: given(plan), errors: plan.errors }).toEqual({ given: expected, errors: [] });
  });

  it('publishes eth0 under the NAD\'s provider, never ovn.kubernetes.io', () => {
    const s = world(pod('p', { uid: 'u', annotations: { 'v1.multus-cni.io/default-network': 'blue' } }));
    const { all, incremental } = bothWays(s, 'p');
    expect(actionList(all)).toEqual(['CreateIP p.default.blue.default.ovn', 'PatchPodAnnotations default/p']);
    expect(incremental.actions).toEqual(all.actions);
    const after = annotationsAfter(s, all, 'default/p');
    expect(Object.keys(after).filter((k) => k.startsWith('ovn.kubernetes.io/'))).toEqual([]);
    expect(after['blue.default.ovn.kubernetes.io/ip_address']).toBe('10.77.0.2');
    expect(after['blue.default.ovn.kubernetes.io/logical_switch']).toBe('blue');
  });

  it.each([
    ['missing', 'NetworkNotFound', 'pod default/p eth0 (missing.default): NetworkAttachmentDefinition default/missing does not exist'],
    ['a/b/c', 'InvalidAnnotation', 'pod default/p eth0: annotation v1.multus-cni.io/default-network: "a/b/c" has more than one "/" (expected [namespace/]name[@interface])'],
    ['blue,red', 'InvalidAnnotation', 'pod default/p eth0: annotation v1.multus-cni.io/default-network: names 2 networks; eth0 has exactly one'],
  ])('%s is an error of eth0 (%s), and nothing else is planned for it', (value, code, message) => {
    const plan = planAll(world(pod('p', { uid: 'u', annotations: { 'v1.multus-cni.io/default-network': value } })), { now: 0 });
    expect({ given: given(plan), errors: plan.errors.map((e) => `${e.code} ${e.message}`) }).toEqual({ given: [], errors: [`${code} ${message}`] });
  });

  it('the same NAD on eth0 and in the networks list: one claim per interface', () => {
    const s = world(pod('p', { uid: 'u', annotations: { 'v1.multus-cni.io/default-network': 'blue', 'k8s.v1.cni.cncf.io/networks': 'blue' } }));
    expect(given(planAll(s, { now: 0 }))).toEqual(['eth0 blue.default.ovn.eth0 blue 10.77.0.2', 'net1 blue.default.ovn.net1 blue 10.77.0.3']);
  });
});

describe('non-primary CNI mode (another CNI owns eth0)', () => {
  const s = () => world(
    pod('p', { uid: 'u', annotations: { 'k8s.v1.cni.cncf.io/networks': 'red' } }),
    pod('q', { uid: 'v' }),
  );

  it('no eth0 claim, no ovn.kubernetes.io annotation, no error; attachments as always', () => {
    const plan = planAll(s(), { now: 0, defaultNetwork: 'none' });
    expect({ given: given(plan), errors: plan.errors, actions: actionList(plan) }).toEqual({
      given: ['net1 red.default red 172.18.0.2'],
      errors: [],
      actions: ['CreateIP p.default.red.default', 'PatchPodAnnotations default/p', ...['blue', 'green', 'ovn-default', 'red'].map((n) => `UpdateSubnetStatus ${n}`)],
    });
    expect(Object.keys(annotationsAfter(s(), plan, 'default/p')).filter((k) => k.startsWith('ovn.kubernetes.io/'))).toEqual([]);
  });

  it('without ovn-default no NoSubnet for eth0 (in the default mode there is one per pod)', () => {
    const noDefault = snapshotOf(objects('s.yaml', subnetObject('red', '172.18.0.0/24', 'red.default')), objects('n.yaml', nadObject('red', MACVLAN_NAD('red'))), pod('q', { uid: 'v' }));
    expect(planAll(noDefault, { now: 0, defaultNetwork: 'none' }).errors).toEqual([]);
    expect(planAll(noDefault, { now: 0 }).errors.map((e) => `${e.code} ${e.message}`)).toEqual(['NoSubnet pod default/q eth0 (ovn): subnet ovn-default (the default subnet) does not exist']);
  });

  it('a pod that names our NAD for eth0 still gets it', () => {
    const plan = planAll(world(pod('p', { uid: 'u', annotations: { 'v1.multus-cni.io/default-network': 'blue' } })), { now: 0, defaultNetwork: 'none' });
    expect(given(plan)).toEqual(['eth0 blue.default.ovn blue 10.77.0.2']);
  });

  it('an eth0 claim from before the switch is given up: IP object deleted, its annotations withdrawn', () => {
    const before = world(
      pod('p', { uid: 'u', annotations: { 'ovn.kubernetes.io/allocated': 'true', 'ovn.kubernetes.io/ip_address': '10.16.0.5', 'ovn.kubernetes.io/cidr': '10.16.0.0/24', 'ovn.kubernetes.io/gateway': '10.16.0.1', 'ovn.kubernetes.io/logical_switch': 'ovn-default', 'ovn.kubernetes.io/mac_address': '0a:00:00:00:00:05' } }),
      ip('p.default', 'p', 'ovn-default', '10.16.0.5', { podUid: 'u', mac: '0a:00:00:00:00:05' }),
    );
    const { all, incremental } = bothWays(before, 'p', { defaultNetwork: 'none' });
    expect(actionList(all)).toEqual(['DeleteIP p.default', 'PatchPodAnnotations default/p']);
    expect(incremental.actions).toEqual(all.actions);
    expect(all.actions[1]).toEqual({
      type: 'PatchPodAnnotations', target: 'default/p', reason: 'withdraw those of ovn (no longer attached)',
      annotations: { 'ovn.kubernetes.io/allocated': null, 'ovn.kubernetes.io/cidr': null, 'ovn.kubernetes.io/gateway': null, 'ovn.kubernetes.io/ip_address': null, 'ovn.kubernetes.io/logical_switch': null, 'ovn.kubernetes.io/mac_address': null },
    });
  });

  it('the default Subnet is the one --default-subnet names', () => {
    const plan = planAll(world(objects('s2.yaml', subnetObject('pods', '10.99.0.0/24')), pod('q', { uid: 'v' })), { now: 0, defaultSubnet: 'pods' });
    expect(given(plan)).toEqual(['eth0 ovn pods 10.99.0.2']);
  });
});

describe('hot-unplug and hot-plug', () => {
  const allocated = (provider: string, address: string, cidr: string) => ({
    [`${provider}.kubernetes.io/allocated`]: 'true', [`${provider}.kubernetes.io/ip_address`]: address,
    [`${provider}.kubernetes.io/cidr`]: cidr, [`${provider}.kubernetes.io/gateway`]: cidr.replace(/0\/24$/, '1'),
  });
  const eth0 = { ...allocated('ovn', '10.16.0.2', '10.16.0.0/24'), 'ovn.kubernetes.io/logical_switch': 'ovn-default', 'ovn.kubernetes.io/mac_address': '0a:00:00:00:00:02' };
  const ips = [
    ip('p.default', 'p', 'ovn-default', '10.16.0.2', { podUid: 'u', mac: '0a:00:00:00:00:02' }),
    ip('p.default.red.default', 'p', 'red', '172.18.0.2', { podUid: 'u' }),
    ip('p.default.green.default', 'p', 'green', '172.19.0.2', { podUid: 'u' }),
  ];
  const withNetworks = (networks: string, extra: Record<string, string> = {}) => world(
    pod('p', { uid: 'u', annotations: { ...eth0, ...allocated('red.default', '172.18.0.2', '172.18.0.0/24'), ...allocated('green.default', '172.19.0.2', '172.19.0.0/24'), 'k8s.v1.cni.cncf.io/networks': networks, ...extra } }),
    ...ips,
  );

  it('dropping net2 (green) releases its IP object and withdraws its annotations; net1 and eth0 are untouched', () => {
    const s = withNetworks('red');
    const { all, incremental } = bothWays(s, 'p');
    expect(actionList(all)).toEqual(['DeleteIP p.default.green.default', 'PatchPodAnnotations default/p']);
    expect(incremental.actions).toEqual(all.actions);
    expect(all.actions[0]?.reason).toBe('release its addresses: pod default/p no longer uses this network (or was recreated under a new UID)');
    const after = annotationsAfter(s, all, 'default/p');
    expect(Object.keys(after).filter((k) => k.startsWith('green.default.'))).toEqual([]);
    expect(after['red.default.kubernetes.io/ip_address']).toBe('172.18.0.2');
    expect(given(all)).toEqual(['eth0 ovn ovn-default 10.16.0.2', 'net1 red.default red 172.18.0.2']);
  });

  it('the released address goes to the next pod only after every never-used one (as any release)', () => {
    const s = withNetworks('red');
    const o = { now: 0 };
    const state = planPodWith(prepare(s, o), s, 'default/p', o).state;
    const next = world(pod('p', { uid: 'u', annotations: { ...eth0, ...allocated('red.default', '172.18.0.2', '172.18.0.0/24'), 'k8s.v1.cni.cncf.io/networks': 'red' } }), ips[0]!, ips[1]!,
      pod('n', { uid: 'n', annotations: { 'k8s.v1.cni.cncf.io/networks': 'green' } }));
    expect(given(planPodWith(state, next, 'default/n', o).plan)).toEqual(['eth0 ovn ovn-default 10.16.0.3', 'net1 green.default green 172.19.0.3']);
  });

  it('with OVN, the last attachment unplugged (the networks annotation left as []): its port goes before its IP object', () => {
    const s = world(
      pod('p', { uid: 'u', annotations: { ...eth0, ...allocated('blue.default.ovn', '10.77.0.2', '10.77.0.0/24'), 'blue.default.ovn.kubernetes.io/logical_switch': 'blue', 'blue.default.ovn.kubernetes.io/mac_address': '0a:00:00:00:00:07', 'k8s.v1.cni.cncf.io/networks': '[]' } }),
      ips[0]!, ip('p.default.blue.default.ovn', 'p', 'blue', '10.77.0.2', { podUid: 'u', mac: '0a:00:00:00:00:07' }),
    );
    const { all, incremental } = bothWays(s, 'p', { ovn: true });
    expect(actionList(all)).toEqual(['DeleteLogicalSwitchPort p.default.blue.default.ovn', 'DeleteIP p.default.blue.default.ovn', 'PatchPodAnnotations default/p']);
    expect(incremental.actions).toEqual(all.actions);
  });

  it('hot-plug of a new attachment allocates it', () => {
    const s = withNetworks('red,green,blue');
    const { all, incremental } = bothWays(s, 'p');
    expect(actionList(all)).toEqual(['CreateIP p.default.blue.default.ovn', 'PatchPodAnnotations default/p']);
    expect(incremental.actions).toEqual(all.actions);
    expect(all.actions[1]?.reason).toBe('publish the addresses of net3 (allocated: "true")');
  });

  it('while one element cannot be resolved (its NAD deleted), nothing is given up', () => {
    const s = withNetworks('red,gone');
    const { all, incremental } = bothWays(s, 'p');
    expect(actionList(all)).toEqual(['EmitEvent default/p']);
    expect(incremental.actions).toEqual(all.actions);
    expect(planAll(s, { now: 0 }).actions.filter((a) => a.type === 'DeleteIP')).toEqual([]);
  });

  it('annotations written ahead of a hot-plug (no allocated) are kept', () => {
    const s = withNetworks('red,green', { 'blue.default.ovn.kubernetes.io/ip_address': '10.77.0.9' });
    expect(bothWays(s, 'p').all.actions).toEqual([]);
  });
});

describe('attachment interface names (issue 14 item 7)', () => {
  it.each([
    ['[{"name":"red","interface":"a-very-long-name-x"}]', 'a-very-long-name-x', 'interface "a-very-long-name-x" of default/red is longer than 15 bytes'],
    ['[{"name":"red","interface":"eth0"}]', 'eth0', 'interface "eth0" of default/red is the default network\'s (eth0); an attachment needs another name'],
    ['[{"name":"red","interface":"net2"},{"name":"green"}]', 'net2', 'interface "net2" of default/green is also the interface of default/red'],
    ['[{"name":"red","interface":"a:b"}]', 'a:b', 'interface "a:b" of default/red contains "/", ":" or white space'],
  ])('%s: that element is InvalidAnnotation, nothing is allocated for it', (networks, ifName, problem) => {
    const plan = planAll(world(pod('p', { uid: 'u', annotations: { 'k8s.v1.cni.cncf.io/networks': networks } })), { now: 0 });
    const provider = problem.includes('default/green') ? 'green.default' : 'red.default';
    expect(plan.errors).toEqual([{ pod: 'default/p', provider, interface: ifName, code: 'InvalidAnnotation', message: `pod default/p ${ifName} (${provider}): annotation k8s.v1.cni.cncf.io/networks: ${problem}` }]);
    expect(plan.allocations.filter((a) => a.interface === ifName && a.provider === provider)).toEqual([]);
  });
});

describe('the number of attachments (issue 14 item 5)', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `red@n${i + 1}`).join(',');

  it('128 attachments: all planned', () => {
    const s = snapshotOf(
      objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/24'), subnetObject('red', '172.18.0.0/22', 'red.default')),
      objects('nads.yaml', nadObject('red', MACVLAN_NAD('red'))),
      pod('p', { uid: 'u', annotations: { 'k8s.v1.cni.cncf.io/networks': many(128) } }),
    );
    const p = planAll(s, { now: 0 });
    expect({ errors: p.errors, allocations: p.allocations.length, ips: p.actions.filter((a) => a.type === 'CreateIP').length }).toEqual({ errors: [], allocations: 129, ips: 129 });
  });

  it('1,500 attachments: one error, nothing written for the pod (eth0 neither), the next pod allocated', () => {
    const s = world(pod('p', { uid: 'u', annotations: { 'k8s.v1.cni.cncf.io/networks': many(1500) } }), pod('q', { uid: 'v' }));
    const { all, incremental } = bothWays(s, 'p');
    expect(all.errors).toEqual([{
      pod: 'default/p', provider: '', code: 'InvalidAnnotation',
      message: 'pod default/p: annotation k8s.v1.cni.cncf.io/networks: names 1500 attachments; a pod may have at most 128',
    }]);
    expect(actionList(all)).toEqual(['EmitEvent default/p']);
    expect(incremental.actions).toEqual(all.actions);
    expect(given(planAll(s, { now: 0 }))).toEqual(['eth0 ovn ovn-default 10.16.0.2']);
  });
});
