// KubeVirt VMs keep their addresses (src/domain/VirtualMachines.ts): a VM's launcher pods claim
// under the VM, across restarts (new pod, new UID) and live migration (two pods at once), until
// the VirtualMachine (or a standalone VMI) is gone; the incremental planner agrees with planAll.
import { describe, expect, it } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { vmHolds } from '../../../src/domain/ExistingClaims.js';
import { planPodWith, prepare, releasePodWith } from '../../../src/domain/IncrementalPlanner.js';
import type { Plan } from '../../../src/domain/Plan.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import type { RawDocument, Snapshot } from '../../../src/domain/Snapshot.js';
import { buildSnapshot } from '../../../src/domain/Snapshot.js';
import { validated } from '../admission/both.js';
import { requestFor } from '../admission/requests.js';
import { actionList, actionsOfType, annotationsAfter, ip, nadObject, objects, podObject, snapshotOf, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };
const MACNET = 'macnet.default';
const base = (): RawDocument[][] => [
  objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/24'), subnetObject('macnet', '192.168.10.0/24', MACNET)),
  objects('nad.yaml', nadObject('macnet', { cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: MACNET } })),
];
const vm = (name: string, extra: Record<string, unknown> = {}): RawDocument[] =>
  objects(`vm-${name}.yaml`, { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name, namespace: 'default', uid: `uid-vm-${name}`, ...extra }, spec: { runStrategy: 'Always' } });
const vmi = (name: string, extra: Record<string, unknown> = {}, owned = true): RawDocument[] =>
  objects(`vmi-${name}.yaml`, {
    apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'default', uid: `uid-vmi-${name}`, ...(owned ? { ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name, uid: `uid-vm-${name}` }] } : {}), ...extra },
    spec: {},
  });
/** A virt-launcher pod as KubeVirt makes it: owned by the VMI, labelled with the domain. */
const launcherObject = (name: string, vmName: string, uid: string, annotations: Record<string, string> = {}, apiVersion = 'kubevirt.io/v1'): Pod => {
  const p = podObject(name, { uid, labels: { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/domain': vmName }, annotations: { 'k8s.v1.cni.cncf.io/networks': 'macnet', ...annotations } }) as Pod;
  return { ...p, metadata: { ...p.metadata, ownerReferences: [{ apiVersion, kind: 'VirtualMachineInstance', name: vmName, uid: `uid-vmi-${vmName}` }] } };
};
const launcher = (name: string, vmName: string, uid: string, annotations: Record<string, string> = {}): RawDocument[] => objects(`pod-${name}.yaml`, launcherObject(name, vmName, uid, annotations));

const VM_MAC = '8e:f0:e7:73:32:c2';
/** What the controller wrote for vm1's first pod: annotations, and the two IP objects. */
const allocated = (mac = VM_MAC): Record<string, string> => ({
  'ovn.kubernetes.io/allocated': 'true', 'ovn.kubernetes.io/ip_address': '10.16.0.2', 'ovn.kubernetes.io/mac_address': mac,
  'ovn.kubernetes.io/cidr': '10.16.0.0/24', 'ovn.kubernetes.io/gateway': '10.16.0.1', 'ovn.kubernetes.io/logical_switch': 'ovn-default',
  [`${MACNET}.kubernetes.io/allocated`]: 'true', [`${MACNET}.kubernetes.io/ip_address`]: '192.168.10.2',
  [`${MACNET}.kubernetes.io/cidr`]: '192.168.10.0/24', [`${MACNET}.kubernetes.io/gateway`]: '192.168.10.1',
  'ovn.kubernetes.io/virtualmachine': 'vm1',
});
const vmIps = (): RawDocument[][] => [
  ip('vm1.default', 'vm1', 'ovn-default', '10.16.0.2', { mac: VM_MAC, podType: 'VirtualMachine' }),
  ip(`vm1.default.${MACNET}`, 'vm1', 'macnet', '192.168.10.2', { podType: 'VirtualMachine' }),
];
const given = (plan: Plan): string[] => plan.allocations.map((a) => `${a.pod} ${a.provider} ${a.ipAddress} ${a.macAddress} ${a.source}`);
const without = (snapshot: Snapshot, key: string): Snapshot => ({ ...snapshot, pods: new Map([...snapshot.pods].filter(([k]) => k !== key)) });

describe('a VM pod claims under its VM', () => {
  it('IP objects <vm>.<ns>[.<provider>], podType VirtualMachine, no pod UID label; the pod is told its VM', () => {
    const snapshot = snapshotOf(...base(), vm('vm1'), vmi('vm1'), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1'));
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(actionList(plan)).toEqual(['CreateIP vm1.default', `CreateIP vm1.default.${MACNET}`, 'PatchPodAnnotations default/virt-launcher-vm1-abcde', 'UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
    expect(actionsOfType(plan, 'CreateIP').map((a) => [a.ip.name, a.ip.labels, a.ip.spec.podName, a.ip.spec.namespace, a.ip.spec.podType, a.ip.spec.ipAddress, a.ip.spec.macAddress])).toEqual([
      ['vm1.default', { 'ovn.kubernetes.io/subnet': 'ovn-default' }, 'vm1', 'default', 'VirtualMachine', '10.16.0.2', VM_MAC],
      [`vm1.default.${MACNET}`, { 'ovn.kubernetes.io/subnet': 'macnet' }, 'vm1', 'default', 'VirtualMachine', '192.168.10.2', ''],
    ]);
    expect(annotationsAfter(snapshot, plan, 'default/virt-launcher-vm1-abcde')).toEqual({ 'k8s.v1.cni.cncf.io/networks': 'macnet', ...allocated() });
  });

  it('a converged VM pod plans nothing; one allocated without the VM annotation is only told its VM', () => {
    const annotations = allocated();
    expect(actionList(planAll(snapshotOf(...base(), vm('vm1'), ...vmIps(), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', annotations)), OPTIONS))).toEqual(['UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
    const { 'ovn.kubernetes.io/virtualmachine': _vm, ...older } = annotations;
    const plan = planAll(snapshotOf(...base(), vm('vm1'), ...vmIps(), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', older)), OPTIONS);
    expect(actionsOfType(plan, 'PatchPodAnnotations')).toEqual([{
      type: 'PatchPodAnnotations', target: 'default/virt-launcher-vm1-abcde', reason: 'name the VM it runs (ovn.kubernetes.io/virtualmachine: vm1)', annotations: { 'ovn.kubernetes.io/virtualmachine': 'vm1' },
    }]);
  });

  it('with OVN: the logical switch port is named and owned as the VM (one port for all its pods)', () => {
    const snapshot = snapshotOf(...base(), vm('vm1'), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1'));
    const ports = actionsOfType(planAll(snapshot, { ...OPTIONS, ovn: true }), 'EnsureLogicalSwitchPort');
    expect(ports.map((a) => [a.target, a.port.externalIds])).toEqual([
      ['vm1.default', { pod: 'default/vm1', ls: 'ovn-default', vendor: 'kube-ovn', 'ipam.kube-ovn.io/pod-uid': 'vm:default/vm1' }],
    ]);
  });

  it.each<[string, string]>([
    ['an owner of kind VirtualMachineInstance from another API group', 'example.com/v1'],
  ])('a pod with %s is a normal pod: its own name, UID label and no VM annotation', (_what, apiVersion) => {
    const p = launcherObject('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', {}, apiVersion);
    const plan = planAll(snapshotOf(...base(), vm('vm1'), objects('p.yaml', p)), OPTIONS);
    expect(actionsOfType(plan, 'CreateIP').map((a) => [a.ip.name, a.ip.spec.podName, a.ip.spec.podType, a.ip.labels['ipam.kube-ovn.io/pod-uid']])).toEqual([
      ['virt-launcher-vm1-abcde.default', 'virt-launcher-vm1-abcde', '', 'uid-p1'],
      [`virt-launcher-vm1-abcde.default.${MACNET}`, 'virt-launcher-vm1-abcde', '', 'uid-p1'],
    ]);
    expect(actionsOfType(plan, 'PatchPodAnnotations')[0]!.annotations['ovn.kubernetes.io/virtualmachine']).toBeUndefined();
  });
});

describe('a VM restarted (its launcher pod replaced by one with a new UID) keeps every address and MAC', () => {
  const after = () => snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...vmIps(), launcher('virt-launcher-vm1-fghij', 'vm1', 'uid-p2'));

  it('planAll: the new pod is given what the IP objects hold; the IP objects stay as they are', () => {
    const plan = planAll(after(), OPTIONS);
    expect(given(plan)).toEqual([
      `default/virt-launcher-vm1-fghij ovn 10.16.0.2 ${VM_MAC} existing`,
      `default/virt-launcher-vm1-fghij ${MACNET} 192.168.10.2  existing`,
    ]);
    expect(actionList(plan)).toEqual(['PatchPodAnnotations default/virt-launcher-vm1-fghij', 'UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
  });

  it('incremental: the old pod\'s release keeps the claim (no DeleteIP), the new pod takes it, as planAll says', () => {
    const before = snapshotOf(...base(), vm('vm1'), ...vmIps(), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', allocated()));
    const old = before.pods.get('default/virt-launcher-vm1-abcde')!.object;
    const released = releasePodWith(prepare(before, OPTIONS), without(before, 'default/virt-launcher-vm1-abcde'), old, OPTIONS);
    expect(actionList(released.plan)).toEqual(['UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
    const next = snapshotOf(...base(), vm('vm1'), ...vmIps(), launcher('virt-launcher-vm1-fghij', 'vm1', 'uid-p2'));
    const plan = planPodWith(released.state, next, 'default/virt-launcher-vm1-fghij', OPTIONS).plan;
    expect(given(plan)).toEqual(given(planAll(next, OPTIONS)));
    expect(actionList(plan)).toEqual(['PatchPodAnnotations default/virt-launcher-vm1-fghij']);
  });

  it('incremental after a restart of the controller (the VM stopped: no pod, the VMI gone): the IP objects keep the addresses for the next pod', () => {
    const stopped = snapshotOf(...base(), vm('vm1'), ...vmIps());
    const state = prepare(stopped, OPTIONS);
    const next = snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...vmIps(), launcher('virt-launcher-vm1-fghij', 'vm1', 'uid-p2'));
    const plan = planPodWith(state, next, 'default/virt-launcher-vm1-fghij', OPTIONS).plan;
    expect(given(plan)).toEqual(given(planAll(next, OPTIONS)));
    expect(plan.allocations.map((a) => a.ipAddress)).toEqual(['10.16.0.2', '192.168.10.2']);
  });
});

describe('live migration: two launcher pods of one VM alive at once share its claim', () => {
  const source = () => launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', allocated());
  const target = () => launcher('virt-launcher-vm1-zzzzz', 'vm1', 'uid-p2');
  const both = () => snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...vmIps(), source(), target());

  it('planAll: the target pod gets the same addresses and MAC; no conflict, no error', () => {
    const plan = planAll(both(), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(given(plan)).toEqual([
      `default/virt-launcher-vm1-abcde ovn 10.16.0.2 ${VM_MAC} existing`,
      `default/virt-launcher-vm1-abcde ${MACNET} 192.168.10.2  existing`,
      `default/virt-launcher-vm1-zzzzz ovn 10.16.0.2 ${VM_MAC} existing`,
      `default/virt-launcher-vm1-zzzzz ${MACNET} 192.168.10.2  existing`,
    ]);
    expect(actionList(plan)).toEqual(['PatchPodAnnotations default/virt-launcher-vm1-zzzzz', 'UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
  });

  it('incremental: the target is planned as planAll says; the source\'s release then changes nothing', () => {
    const snapshot = both();
    const plan = planPodWith(prepare(snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...vmIps(), source()), OPTIONS), snapshot, 'default/virt-launcher-vm1-zzzzz', OPTIONS);
    expect(given(plan.plan)).toEqual(given(planAll(snapshot, OPTIONS)).slice(2));
    const gone = snapshot.pods.get('default/virt-launcher-vm1-abcde')!.object;
    const released = releasePodWith(plan.state, without(snapshot, 'default/virt-launcher-vm1-abcde'), gone, OPTIONS);
    expect(released.plan).toEqual({ allocations: [], actions: [], errors: [] });
    expect(released.state).toBe(plan.state);
  });

  it('a VM with a static address (its template\'s ip_address on both pods): the target shares it, no AddressConflict', () => {
    const fixed = { 'ovn.kubernetes.io/ip_address': '10.16.0.9' };
    const first = launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', { ...allocated(), ...fixed });
    const second = launcher('virt-launcher-vm1-zzzzz', 'vm1', 'uid-p2', fixed);
    const ips = [ip('vm1.default', 'vm1', 'ovn-default', '10.16.0.9', { mac: VM_MAC, podType: 'VirtualMachine' }), vmIps()[1]!];
    const snapshot = snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...ips, first, second);
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(given(plan).filter((g) => g.includes(' ovn '))).toEqual([
      `default/virt-launcher-vm1-abcde ovn 10.16.0.9 ${VM_MAC} existing`,
      `default/virt-launcher-vm1-zzzzz ovn 10.16.0.9 ${VM_MAC} existing`,
    ]);
    expect(actionList(plan)).toEqual(['PatchPodAnnotations default/virt-launcher-vm1-zzzzz', 'UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
    const first2 = prepare(snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...ips, first), OPTIONS);
    expect(given(planPodWith(first2, snapshot, 'default/virt-launcher-vm1-zzzzz', OPTIONS).plan)).toEqual(given(plan).slice(2));
  });
});

describe('the claim of a VM no pod runs goes only when the VirtualMachine (or a standalone VMI) goes', () => {
  const deleting = { deletionTimestamp: '2026-01-01T00:00:00Z' };
  it.each<[string, RawDocument[][], readonly string[]]>([
    ['the VM exists (stopped: no VMI)', [vm('vm1')], []],
    ['the VM and its VMI exist', [vm('vm1'), vmi('vm1')], []],
    ['the VMI is being deleted, the VM exists', [vm('vm1'), vmi('vm1', deleting)], []],
    ['a standalone VMI exists (no VM)', [vmi('vm1', {}, false)], []],
    ['the VM is deleted', [], ['DeleteIP vm1.default', `DeleteIP vm1.default.${MACNET}`]],
    ['the VM is being deleted, its VMI too', [vm('vm1', deleting), vmi('vm1', deleting)], ['DeleteIP vm1.default', `DeleteIP vm1.default.${MACNET}`]],
    ['a standalone VMI is being deleted', [vmi('vm1', deleting, false)], ['DeleteIP vm1.default', `DeleteIP vm1.default.${MACNET}`]],
  ])('%s', (_what, kubevirt, deletes) => {
    const plan = planAll(snapshotOf(...base(), ...kubevirt, ...vmIps()), OPTIONS);
    expect(actionList(plan).filter((a) => a.startsWith('DeleteIP'))).toEqual(deletes);
  });

  it('incremental: the last pod of a deleted VM releases its IP objects; planAll says the same', () => {
    const before = snapshotOf(...base(), vm('vm1'), ...vmIps(), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', allocated()));
    const gone = before.pods.get('default/virt-launcher-vm1-abcde')!.object;
    const after = snapshotOf(...base(), ...vmIps());
    const released = releasePodWith(prepare(before, OPTIONS), after, gone, OPTIONS);
    expect(actionList(released.plan)).toEqual(['DeleteIP vm1.default', `DeleteIP vm1.default.${MACNET}`, 'UpdateSubnetStatus macnet', 'UpdateSubnetStatus ovn-default']);
    expect(actionList(planAll(after, OPTIONS)).filter((a) => a.startsWith('DeleteIP'))).toEqual(['DeleteIP vm1.default', `DeleteIP vm1.default.${MACNET}`]);
  });

  it('a live pod of the VM without an attachment any more (hot-unplug): that attachment\'s IP object goes', () => {
    const p = launcherObject('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', allocated());
    const unplugged = { ...p, metadata: { ...p.metadata, annotations: Object.fromEntries(Object.entries(p.metadata.annotations ?? {}).filter(([k]) => k !== 'k8s.v1.cni.cncf.io/networks')) } };
    const plan = planAll(snapshotOf(...base(), vm('vm1'), ...vmIps(), objects('p.yaml', unplugged)), OPTIONS);
    expect(actionsOfType(plan, 'DeleteIP')).toEqual([
      { type: 'DeleteIP', target: `vm1.default.${MACNET}`, reason: 'release its addresses: the pods of VM default/vm1 no longer use this network' },
    ]);
  });
});

describe('the snapshot reads VirtualMachines and VirtualMachineInstances', () => {
  it('by namespace/name; a VM without metadata.name is reported, the rest is read', () => {
    const { snapshot, problems } = buildSnapshot([
      ...vm('vm1'), ...vmi('vm1'),
      ...objects('bad.yaml', { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { namespace: 'default' } }),
    ]);
    expect([...snapshot.virtualmachines.keys()]).toEqual(['default/vm1']);
    expect([...snapshot.virtualmachineinstances.keys()]).toEqual(['default/vm1']);
    expect(problems.map((p) => `${p.origin.file} ${p.kind}`)).toEqual(['bad.yaml VirtualMachine']);
  });
});

describe('the admission webhook', () => {
  it('allows a live migration\'s second pod that carries the VM\'s static address (the VM\'s own claim), and denies another pod that names it', () => {
    const fixed = { 'ovn.kubernetes.io/ip_address': '10.16.0.9' };
    const ips = [ip('vm1.default', 'vm1', 'ovn-default', '10.16.0.9', { mac: VM_MAC, podType: 'VirtualMachine' }), vmIps()[1]!];
    const snapshot = snapshotOf(...base(), vm('vm1'), vmi('vm1'), ...ips, launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', { ...allocated(), ...fixed }));
    expect(validated(snapshot, requestFor(launcherObject('virt-launcher-vm1-zzzzz', 'vm1', 'uid-p2', fixed)), OPTIONS)).toEqual({ allowed: true, warnings: [], patch: [] });
    const other = validated(snapshot, requestFor(podObject('other', { uid: 'uid-o', annotations: fixed })), OPTIONS);
    expect([other.allowed, other.message]).toEqual([false, 'annotation "ovn.kubernetes.io/ip_address": 10.16.0.9 is already held by default/vm1 in subnet ovn-default (10.16.0.0/24)']);
  });

  it.each<[string, RawDocument[][], boolean]>([
    ['a stopped VM (the VM exists, no pod)', [vm('vm1')], false],
    ['a deleted VM (its IP objects not yet released)', [], true],
  ])('a pod naming the address of %s: allowed %s', (_what, kubevirt, allowedToo) => {
    const snapshot = snapshotOf(...base(), ...kubevirt, ...vmIps());
    expect(validated(snapshot, requestFor(podObject('other', { uid: 'uid-o', annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.2' } })), OPTIONS).allowed).toBe(allowedToo);
  });
});

describe('vmHolds (the sweep\'s last look before it deletes a VM\'s IP object)', () => {
  const ipOf = (snapshot: Snapshot, name: string) => snapshot.ips.get(name)!.object;
  const { [`${MACNET}.kubernetes.io/allocated`]: _m, ...ovnOnly } = allocated();
  it.each<[string, RawDocument[][], string, boolean]>([
    ['no pod, the VM exists', [vm('vm1')], 'vm1.default', true],
    ['no pod, a standalone VMI exists', [vmi('vm1', {}, false)], 'vm1.default', true],
    ['no pod, no VM, no VMI', [], 'vm1.default', false],
    ['a live pod has the network allocated', [launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', allocated())], `vm1.default.${MACNET}`, true],
    ['a live pod runs without that network allocated', [vm('vm1'), launcher('virt-launcher-vm1-abcde', 'vm1', 'uid-p1', ovnOnly)], `vm1.default.${MACNET}`, false],
  ])('%s: %s holds %s', (_what, docs, name, holds) => {
    const snapshot = snapshotOf(...base(), ...docs, ...vmIps());
    expect(vmHolds(snapshot, ipOf(snapshot, name))).toBe(holds);
  });

  it('an IP object of a normal pod is not a VM\'s', () => {
    const snapshot = snapshotOf(...base(), vm('vm1'), ip('vm1.default', 'vm1', 'ovn-default', '10.16.0.2', { podUid: 'uid-x' }));
    expect(vmHolds(snapshot, ipOf(snapshot, 'vm1.default'))).toBe(false);
  });
});
