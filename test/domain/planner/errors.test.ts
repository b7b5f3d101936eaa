// Errors are data: each bad pod, network or Subnet gets an exact code and a message naming the
// pod, the interface (with its provider) and the cause; a real pod also gets a Warning Event
// with that message, a simulated pod none; and nothing else in the snapshot is held back.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import type { Plan, PlanError } from '../../../src/domain/Plan.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import {
  actionsOfType, deploymentObject, nadObject, objects, pod, podObject, seed, snapshotOf, statefulSetObject, subnetObject, warningFor,
} from './snapshots.js';

const OPTIONS = { now: 0 };

const base = (): RawDocument[] =>
  objects('base.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('macvlan', '172.17.0.0/16', 'macvlan.default', { gateway: '172.17.0.1', excludeIps: ['172.17.0.1..172.17.0.10'] }))
    .concat(seed('01-nad-macvlan.yaml'));

const MACVLAN = { 'k8s.v1.cni.cncf.io/networks': 'macvlan' };

/** `pod interface subnet address source`, real pods then simulated ones as planned. */
const allocationsOf = (plan: Plan): string[] =>
  plan.allocations.map((a) => `${a.pod} ${a.interface} ${a.subnet} ${a.ipAddress} ${a.source}${a.simulated ? ' (simulated)' : ''}`);

interface Case {
  readonly docs: () => RawDocument[];
  readonly errors: readonly PlanError[];
  /** The Event reason real pods get for these errors. */
  readonly event: string;
  readonly allocations: readonly string[];
}

const eth0 = (podName: string, code: PlanError['code'], cause: string): PlanError => ({
  pod: `default/${podName}`, provider: 'ovn', interface: 'eth0', code, message: `pod default/${podName} eth0 (ovn): ${cause}`,
});

const net1 = (podName: string, provider: string, code: PlanError['code'], cause: string): PlanError => ({
  pod: `default/${podName}`, provider, interface: 'net1', code, message: `pod default/${podName} net1 (${provider}): ${cause}`,
});

const simulated = (e: PlanError, workload: string): PlanError => ({
  ...e, simulated: true, message: e.message.replace(`(${e.provider}): `, `(${e.provider}) [simulated for ${workload}]: `),
});

const web = { name: 'web', uid: 'uid-web' };

const cases: readonly (readonly [string, Case])[] = [
  ['AddressConflict: two pods with the same static address (the first keeps it)', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.5' } }), ...pod('b', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.5' } })],
    errors: [eth0('b', 'AddressConflict', '10.16.0.5 is already held by default/a in subnet ovn-default (10.16.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.5 static'],
  }],
  ['AddressConflict: the earlier-created pod keeps the address, whatever the input order', {
    docs: () => [
      ...base(),
      ...pod('late', { creationTimestamp: '2024-05-01T10:00:01Z', annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/ip_address': '172.17.0.50' } }),
      ...pod('early', { creationTimestamp: '2024-05-01T10:00:00Z', annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/ip_address': '172.17.0.50' } }),
    ],
    errors: [net1('late', 'macvlan.default', 'AddressConflict', '172.17.0.50 is already held by default/early in subnet macvlan (172.17.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: ['default/early eth0 ovn-default 10.16.0.2 dynamic', 'default/early net1 macvlan 172.17.0.50 static', 'default/late eth0 ovn-default 10.16.0.3 dynamic'],
  }],
  ['AddressConflict: a static address equal to the gateway', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.1' } })],
    errors: [eth0('a', 'AddressConflict', '10.16.0.1 is the gateway of subnet ovn-default (10.16.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: [],
  }],
  ['AddressConflict: two pods with the same static MAC in one subnet', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/mac_address': '02:00:00:00:00:01' } }), ...pod('b', { annotations: { 'ovn.kubernetes.io/mac_address': '02:00:00:00:00:01' } })],
    errors: [eth0('b', 'AddressConflict', 'MAC 02:00:00:00:00:01 is already used by default/a in subnet ovn-default')],
    event: 'AcquireAddressFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['AddressOutOfRange: a static address outside the subnet (default network)', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.99.0.5' } })],
    errors: [eth0('a', 'AddressOutOfRange', '10.99.0.5 is outside subnet ovn-default (10.16.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: [],
  }],
  ['AddressOutOfRange: a static address outside the subnet (IPAM-only attachment), eth0 still allocated', {
    docs: () => [...base(), ...pod('a', { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/ip_address': '172.18.0.5' } })],
    errors: [net1('a', 'macvlan.default', 'AddressOutOfRange', '172.18.0.5 is outside subnet macvlan (172.17.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['AddressOutOfRange: the network address of the subnet', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.0' } })],
    errors: [eth0('a', 'AddressOutOfRange', '10.16.0.0 is not a host address of subnet ovn-default (10.16.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: [],
  }],
  ['NoAvailableAddress: a StatefulSet of 3 with an ip_pool of 2 (real pods): web-2 has no entry, web-0 and web-1 are allocated', {
    docs: () => [
      ...base(),
      ...objects('sts.yaml', statefulSetObject('web', 3, { 'ovn.kubernetes.io/ip_pool': '10.16.0.20,10.16.0.21' }, 'uid-web')),
      ...[0, 1, 2].flatMap((i) => pod(`web-${i}`, { uid: `uid-web-${i}`, statefulSet: web, annotations: { 'ovn.kubernetes.io/ip_pool': '10.16.0.20,10.16.0.21' } })),
    ],
    errors: [eth0('web-2', 'NoAvailableAddress', 'ip_pool has 2 entries, none for StatefulSet ordinal 2')],
    event: 'AcquireAddressFailed',
    allocations: ['default/web-0 eth0 ovn-default 10.16.0.20 pool', 'default/web-1 eth0 ovn-default 10.16.0.21 pool'],
  }],
  ['NoAvailableAddress: a StatefulSet of 3 with an ip_pool of 2 (simulated pods, no Event)', {
    docs: () => [...base(), ...objects('sts.yaml', statefulSetObject('web', 3, { 'ovn.kubernetes.io/ip_pool': '10.16.0.20,10.16.0.21' }, 'uid-web'))],
    errors: [simulated(eth0('web-2', 'NoAvailableAddress', 'ip_pool has 2 entries, none for StatefulSet ordinal 2'), 'StatefulSet default/web')],
    event: 'AcquireAddressFailed',
    allocations: ['default/web-0 eth0 ovn-default 10.16.0.20 pool (simulated)', 'default/web-1 eth0 ovn-default 10.16.0.21 pool (simulated)'],
  }],
  ['NoAvailableAddress: a Deployment of 3, strategy Recreate, with an ip_pool of 2 (simulated pods, no surge, no Event)', {
    docs: () => [...base(), ...objects('dep.yaml', deploymentObject('dep', 3, { 'ovn.kubernetes.io/ip_pool': '10.16.0.30,10.16.0.31' }, 'Recreate'))],
    errors: [simulated(eth0('dep-sim-3', 'NoAvailableAddress',
      'no entry of ip_pool 10.16.0.30,10.16.0.31 is free: 10.16.0.30 is already held by default/dep-sim-1 in subnet ovn-default (10.16.0.0/16); ' +
      '10.16.0.31 is already held by default/dep-sim-2 in subnet ovn-default (10.16.0.0/16)'), 'Deployment default/dep')],
    event: 'AcquireAddressFailed',
    allocations: ['default/dep-sim-1 eth0 ovn-default 10.16.0.30 pool (simulated)', 'default/dep-sim-2 eth0 ovn-default 10.16.0.31 pool (simulated)'],
  }],
  ['NoAvailableAddress: three real pods sharing an ip_pool of 2 (the IPAM-only network)', {
    docs: () => [...base(), ...['a', 'b', 'c'].flatMap((n) => pod(n, { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/ip_pool': '172.17.0.200,172.17.0.201' } }))],
    errors: [net1('c', 'macvlan.default', 'NoAvailableAddress',
      'no entry of ip_pool 172.17.0.200,172.17.0.201 is free: 172.17.0.200 is already held by default/a in subnet macvlan (172.17.0.0/16); ' +
      '172.17.0.201 is already held by default/b in subnet macvlan (172.17.0.0/16)')],
    event: 'AcquireAddressFailed',
    allocations: [
      'default/a eth0 ovn-default 10.16.0.2 dynamic', 'default/a net1 macvlan 172.17.0.200 pool',
      'default/b eth0 ovn-default 10.16.0.3 dynamic', 'default/b net1 macvlan 172.17.0.201 pool',
      'default/c eth0 ovn-default 10.16.0.4 dynamic',
    ],
  }],
  ['NoAvailableAddress: a subnet with one usable address and two pods', {
    docs: () => [
      ...base(),
      ...objects('tiny.yaml', subnetObject('tiny', '10.20.0.0/30')),
      ...['a', 'b'].flatMap((n) => pod(n, { annotations: { 'ovn.kubernetes.io/logical_switch': 'tiny' } })),
    ],
    errors: [eth0('b', 'NoAvailableAddress', 'subnet tiny has no free IPv4 address')],
    event: 'AcquireAddressFailed',
    allocations: ['default/a eth0 tiny 10.20.0.2 dynamic'],
  }],
  ['NoAvailableAddress: ip_pool names an IPPool that does not exist', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_pool': 'gold' } })],
    errors: [eth0('a', 'NoAvailableAddress', 'IPPool gold named by annotation ovn.kubernetes.io/ip_pool does not exist')],
    event: 'AcquireAddressFailed',
    allocations: [],
  }],
  ['NoSubnet: logical_switch names no subnet', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/logical_switch': 'nope' } })],
    errors: [eth0('a', 'NoSubnet', 'subnet nope (named by annotation ovn.kubernetes.io/logical_switch) does not exist')],
    event: 'AcquireAddressFailed',
    allocations: [],
  }],
  ['NoSubnet: an IPAM-only network naming a subnet of another provider', {
    docs: () => [...base(), ...pod('a', { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/logical_switch': 'ovn-default' } })],
    errors: [net1('a', 'macvlan.default', 'NoSubnet', 'subnet ovn-default (named by annotation macvlan.default.kubernetes.io/logical_switch) serves provider ovn, not macvlan.default')],
    event: 'AcquireAddressFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['NoSubnet: the default network naming an IPAM-only subnet', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/logical_switch': 'macvlan' } })],
    errors: [eth0('a', 'NoSubnet', 'subnet macvlan (named by annotation ovn.kubernetes.io/logical_switch) serves IPAM-only provider macvlan.default, not an OVN network')],
    event: 'AcquireAddressFailed',
    allocations: [],
  }],
  ['InvalidAnnotation: an unparsable address', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.300' } })],
    errors: [eth0('a', 'InvalidAnnotation', 'annotation ovn.kubernetes.io/ip_address: "10.16.0.300" is not an IP address')],
    event: 'ValidatePodNetworkFailed',
    allocations: [],
  }],
  ['InvalidAnnotation: an unparsable MAC on the IPAM-only network, eth0 still allocated', {
    docs: () => [...base(), ...pod('a', { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/mac_address': '00:00:00:53:6B' } })],
    errors: [net1('a', 'macvlan.default', 'InvalidAnnotation', 'annotation macvlan.default.kubernetes.io/mac_address: "00:00:00:53:6B" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)')],
    event: 'ValidatePodNetworkFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['InvalidAnnotation: a multicast MAC', {
    docs: () => [...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/mac_address': '01:00:5e:00:00:01' } })],
    errors: [eth0('a', 'InvalidAnnotation', 'annotation ovn.kubernetes.io/mac_address: "01:00:5e:00:00:01" is a multicast MAC address (the first octet must be even)')],
    event: 'ValidatePodNetworkFailed',
    allocations: [],
  }],
  ['InvalidAnnotation: an unparsable networks annotation (the pod-level error names no interface; eth0 still allocated)', {
    docs: () => [...base(), ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'Mac_Vlan' } })],
    errors: [{
      pod: 'default/a', provider: '', code: 'InvalidAnnotation',
      message: 'pod default/a: annotation k8s.v1.cni.cncf.io/networks: "Mac_Vlan": network name "Mac_Vlan" is not valid (lower case letters, digits and "-", starting and ending with a letter or digit)',
    }],
    event: 'ValidatePodNetworkFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['NetworkNotFound: a network naming no NAD', {
    docs: () => [...base(), ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/missing' } })],
    errors: [net1('a', 'missing.default', 'NetworkNotFound', 'NetworkAttachmentDefinition default/missing does not exist')],
    event: 'ValidatePodNetworkFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['ProviderMismatch: an IPAM-only NAD whose ipam.provider is not <name>.<namespace>', {
    docs: () => [
      ...base(),
      ...objects('nad.yaml', nadObject('wrong', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } })),
      ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'wrong' } }),
    ],
    errors: [net1('a', 'wrong.default', 'ProviderMismatch',
      'NetworkAttachmentDefinition default/wrong says provider "macvlan.default" but its provider is "wrong.default" (<name>.<namespace>); the CNI plugin would wait for annotations that never come')],
    event: 'ValidatePodNetworkFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['ProviderMismatch: an OVN NAD whose provider lacks the .ovn suffix', {
    docs: () => [
      ...base(),
      ...objects('nad.yaml', nadObject('attachnet', { cniVersion: '0.3.0', type: 'kube-ovn', provider: 'attachnet.default' })),
      ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'attachnet' } }),
    ],
    errors: [net1('a', 'attachnet.default.ovn', 'ProviderMismatch',
      'NetworkAttachmentDefinition default/attachnet says provider "attachnet.default" but its provider is "attachnet.default.ovn" (<name>.<namespace>.ovn); the CNI plugin would wait for annotations that never come')],
    event: 'ValidatePodNetworkFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['UnmanagedNetwork: a NAD that is not ours (host-local IPAM)', {
    docs: () => [
      ...base(),
      ...objects('nad.yaml', nadObject('other', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } })),
      ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'other' } }),
    ],
    errors: [net1('a', 'other.default', 'UnmanagedNetwork', 'NetworkAttachmentDefinition default/other (type macvlan) does not use kube-ovn as its plugin or IPAM, so no address is allocated for it')],
    event: 'ValidatePodNetworkFailed',
    allocations: ['default/a eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['SubnetInvalid: an invalid Subnet fails its pods; pods of other subnets are untouched', {
    docs: () => [
      ...base(),
      ...objects('bad.yaml', subnetObject('bad', '10.50.0.0/16', 'ovn', { gateway: '10.60.0.1' })),
      ...pod('a', { annotations: { 'ovn.kubernetes.io/logical_switch': 'bad' } }),
      ...pod('b', { annotations: MACVLAN }),
    ],
    errors: [eth0('a', 'SubnetInvalid', 'subnet bad is invalid: spec.gateway: 10.60.0.1 is outside 10.50.0.0/16 (named by annotation ovn.kubernetes.io/logical_switch)')],
    event: 'AcquireAddressFailed',
    allocations: ['default/b eth0 ovn-default 10.16.0.2 dynamic', 'default/b net1 macvlan 172.17.0.11 dynamic'],
  }],
  ['SubnetInvalid: overlapping OVN subnets without creation times (or of the same second): the name decides, not input order', {
    docs: () => [
      ...objects('second.yaml', subnetObject('second', '10.16.5.0/24')),
      ...base(),
      ...pod('a', { annotations: { 'ovn.kubernetes.io/logical_switch': 'second' } }),
      ...pod('b', {}),
    ],
    errors: [eth0('a', 'SubnetInvalid',
      'subnet second is invalid: spec.cidrBlock: 10.16.5.0/24 overlaps 10.16.0.0/16 of subnet ovn-default (both are OVN subnets) (named by annotation ovn.kubernetes.io/logical_switch)')],
    event: 'AcquireAddressFailed',
    allocations: ['default/b eth0 ovn-default 10.16.0.2 dynamic'],
  }],
  ['SubnetInvalid: overlapping subnets, "later" is by creation time, not input order', {
    docs: () => [
      ...objects('subnets.yaml',
        { ...(subnetObject('ovn-default', '10.16.0.0/16') as object), metadata: { name: 'ovn-default', creationTimestamp: '2024-02-01T00:00:00Z' } },
        { ...(subnetObject('old', '10.16.0.0/24') as object), metadata: { name: 'old', creationTimestamp: '2024-01-01T00:00:00Z' } }),
      ...pod('a', {}),
      ...pod('b', { annotations: { 'ovn.kubernetes.io/logical_switch': 'old' } }),
    ],
    errors: [eth0('a', 'SubnetInvalid',
      'subnet ovn-default is invalid: spec.cidrBlock: 10.16.0.0/16 overlaps 10.16.0.0/24 of subnet old (both are OVN subnets) (the default subnet)')],
    event: 'AcquireAddressFailed',
    allocations: ['default/b eth0 old 10.16.0.2 dynamic'],
  }],
];

describe('planAll reports each error with its code, a message naming pod, interface and cause, and an Event for real pods', () => {
  it.each(cases)('%s', (_name, c) => {
    const plan = planAll(snapshotOf(c.docs()), OPTIONS);
    expect(plan.errors).toEqual(c.errors);
    expect(actionsOfType(plan, 'EmitEvent')).toEqual(c.errors.filter((e) => e.simulated === undefined).map((e) => warningFor(e.pod, c.event, e.message, e.code)));
    expect(allocationsOf(plan)).toEqual(c.allocations);
  });
});

describe('what errors leave alone', () => {
  it('a pod that fails gets no IP object and no annotation patch; its neighbour is planned in full', () => {
    const plan = planAll(snapshotOf([...base(), ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.99.0.5' } }), ...pod('b', {})]), OPTIONS);
    expect(plan.actions.map((a) => `${a.type} ${a.target}`)).toEqual([
      'EmitEvent default/a',
      'CreateIP b.default',
      'PatchPodAnnotations default/b',
      'UpdateSubnetStatus macvlan',
      'UpdateSubnetStatus ovn-default',
    ]);
  });

  it('an invalid Subnet is marked not ready in its status and allocates nothing', () => {
    const plan = planAll(snapshotOf([...base(), ...objects('second.yaml', subnetObject('second', '10.16.5.0/24'))]), OPTIONS);
    const message = 'subnet second is invalid: spec.cidrBlock: 10.16.5.0/24 overlaps 10.16.0.0/16 of subnet ovn-default (both are OVN subnets)';
    expect(actionsOfType(plan, 'UpdateSubnetStatus').find((a) => a.target === 'second')).toEqual({
      type: 'UpdateSubnetStatus', target: 'second', reason: `mark it not ready: ${message}`,
      status: {
        v4availableIPs: 0, v4usingIPs: 0, v4availableIPrange: '', v4usingIPrange: '',
        v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '', v6usingIPrange: '',
        conditions: [{ type: 'Ready', status: 'False', reason: 'ValidationFailed', message }],
      },
    });
  });

  it('an attachment subnet of another provider may overlap an OVN subnet', () => {
    const plan = planAll(snapshotOf([
      ...base(),
      ...objects('overlap.yaml', subnetObject('macvlan2', '10.16.0.0/24', 'macvlan2.default')),
      ...objects('nad.yaml', nadObject('macvlan2', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan2.default' } })),
      ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan2' } }),
    ]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(allocationsOf(plan)).toEqual(['default/a eth0 ovn-default 10.16.0.2 dynamic', 'default/a net1 macvlan2 10.16.0.2 dynamic']);
  });

  it('host-network pods and finished pods are not planned', () => {
    const plan = planAll(snapshotOf([
      ...base(),
      ...objects('pods.yaml', { ...(podObject('host') as object), spec: { hostNetwork: true } }),
      ...pod('done', { phase: 'Succeeded' }),
      ...pod('leaving', { deletionTimestamp: '2024-01-01T00:00:00Z' }),
    ]), OPTIONS);
    expect(plan.allocations).toEqual([]);
    expect(plan.errors).toEqual([]);
  });
});
