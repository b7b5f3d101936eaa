// OVN in the plan (PlanOptions.ovn): a logical switch per OVN Subnet (with the router and the
// Subnet's router port: its gateway) and a logical switch port per written pod interface on
// it, after the IP object and before the pod's annotations
// (DESIGN §3.5); the port is deleted before its IP object on release. Off by default.
import { describe, it, expect } from '@jest/globals';
import { planAll, planPod } from '../../../src/domain/ClusterPlanner.js';
import { orphans, planPodWith, prepare, releaseOrphan, releasePodWith } from '../../../src/domain/IncrementalPlanner.js';
import { isAllocationAction, planJson } from '../../../src/domain/Plan.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';
import { applyActions } from './apply.js';
import { actionList, actionsOfType, ip, objects, pod, podObject, seed, snapshotOf, subnetObject } from './snapshots.js';

const OVN = { now: 0, ovn: true };
const UID = 'ipam.kube-ovn.io/pod-uid';
const subnets = () => objects('subnets.yaml',
  subnetObject('ovn-default', '10.16.0.0/24', 'ovn', { excludeIps: ['10.16.0.1', '10.16.0.200..10.16.0.210'] }),
  subnetObject('attach', '172.17.0.0/24', 'attachnet.default.ovn'),
  subnetObject('macvlan', '172.18.0.0/24', 'macvlan.default'));
const macvlanNad = () => objects('nad-macvlan.yaml', {
  apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan', namespace: 'default' },
  spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } }) },
});
const networks = 'default/attachnet, default/macvlan';
const docs = () => [subnets(), seed('06-nad-attachnet-ovn.yaml'), macvlanNad(), pod('a', { uid: 'uid-a', annotations: { 'k8s.v1.cni.cncf.io/networks': networks } })];
const without = (snapshot: Snapshot, key: string): Snapshot => ({ ...snapshot, pods: new Map([...snapshot.pods].filter(([k]) => k !== key)) });
const macOf = (plan: ReturnType<typeof planAll>, provider: string): string => plan.allocations.find((a) => a.provider === provider)!.macAddress;

describe('OVN logical switches and ports in the plan', () => {
  it('off by default: no OVN action at all', () => {
    const plan = planAll(snapshotOf(...docs()), { now: 0 });
    expect(actionList(plan).filter((a) => a.includes('Logical'))).toEqual([]);
  });

  it('a pod with eth0 on ovn-default, net1 on an OVN attachment and net2 on macvlan: IP objects, switches, ports, then the patch', () => {
    const plan = planPod(snapshotOf(...docs()), 'default/a', OVN);
    expect(actionList(plan)).toEqual([
      'CreateIP a.default',
      'CreateIP a.default.attachnet.default.ovn',
      'CreateIP a.default.macvlan.default',
      'EnsureLogicalSwitch ovn-default',
      'EnsureLogicalSwitch attach',
      'EnsureLogicalRouter ovn-cluster',
      'EnsureLogicalRouterPort ovn-cluster-ovn-default',
      'EnsureLogicalRouterPort ovn-cluster-attach',
      'EnsureLogicalSwitchPort a.default',
      'EnsureLogicalSwitchPort a.default.attachnet.default.ovn',
      'PatchPodAnnotations default/a',
      'UpdateSubnetStatus attach',
      'UpdateSubnetStatus macvlan',
      'UpdateSubnetStatus ovn-default',
    ]);
    const eth0 = macOf(plan, 'ovn');
    const net1 = macOf(plan, 'attachnet.default.ovn');
    expect(actionsOfType(plan, 'EnsureLogicalSwitch')).toEqual([
      { type: 'EnsureLogicalSwitch', target: 'ovn-default', reason: 'the logical switch of OVN subnet ovn-default (10.16.0.0/24)', logicalSwitch: { cidr: '10.16.0.0/24', excludeIps: ['10.16.0.1', '10.16.0.200..10.16.0.210'] } },
      { type: 'EnsureLogicalSwitch', target: 'attach', reason: 'the logical switch of OVN subnet attach (172.17.0.0/24)', logicalSwitch: { cidr: '172.17.0.0/24', excludeIps: ['172.17.0.1'] } },
    ]);
    expect(actionsOfType(plan, 'EnsureLogicalSwitchPort')).toEqual([
      {
        type: 'EnsureLogicalSwitchPort', target: 'a.default', reason: 'plug eth0 of pod default/a: 10.16.0.2 in ovn-default into OVN',
        port: { logicalSwitch: 'ovn-default', addresses: `${eth0} 10.16.0.2`, externalIds: { pod: 'default/a', ls: 'ovn-default', vendor: 'kube-ovn', [UID]: 'uid-a' } },
      },
      {
        type: 'EnsureLogicalSwitchPort', target: 'a.default.attachnet.default.ovn', reason: 'plug net1 of pod default/a: 172.17.0.2 in attach into OVN',
        port: { logicalSwitch: 'attach', addresses: `${net1} 172.17.0.2`, externalIds: { pod: 'default/a', ls: 'attach', vendor: 'kube-ovn', [UID]: 'uid-a' } },
      },
    ]);
    expect([eth0, net1]).toEqual(['36:e1:f2:28:cc:ab', '46:02:de:fd:f9:80']);
  });

  it('the plan JSON keeps its shape: type, target and reason only', () => {
    const json = planJson(planPod(snapshotOf(...docs()), 'default/a', OVN)) as { actions: Record<string, unknown>[] };
    expect(json.actions.filter((a) => a['type'] === 'EnsureLogicalSwitchPort').map((a) => Object.keys(a))).toEqual([['type', 'target', 'reason'], ['type', 'target', 'reason']]);
  });

  it('a dual-stack OVN subnet: the port carries the MAC and both addresses', () => {
    const snapshot = snapshotOf(objects('s.yaml', subnetObject('ovn-default', '10.16.0.0/24,fd00:10:16::/120', 'ovn', { protocol: 'Dual' })), pod('d', { uid: 'uid-d' }));
    const plan = planAll(snapshot, OVN);
    expect(actionsOfType(plan, 'EnsureLogicalSwitch').map((a) => a.logicalSwitch)).toEqual([{ cidr: '10.16.0.0/24,fd00:10:16::/120', excludeIps: ['10.16.0.1', 'fd00:10:16::1'] }]);
    expect(actionsOfType(plan, 'EnsureLogicalSwitchPort').map((a) => a.port.addresses)).toEqual([`${macOf(plan, 'ovn')} 10.16.0.2 fd00:10:16::2`]);
  });

  it('converges: after applying the plan, planning again gives no allocation action (OVN ones included)', () => {
    const snapshot = snapshotOf(...docs());
    const first = planAll(snapshot, OVN);
    const second = planAll(applyActions(snapshot, first.actions), OVN);
    expect(second.actions.filter(isAllocationAction)).toEqual([]);
  });

  it('a pod whose IP object exists but whose annotations were never patched (a crash in between): the port is ensured again', () => {
    const snapshot = snapshotOf(subnets(), pod('b', { uid: 'uid-b' }), ip('b.default', 'b', 'ovn-default', '10.16.0.9', { podUid: 'uid-b', mac: '00:00:00:aa:bb:cc' }));
    const plan = planAll(snapshot, OVN);
    expect(actionList(plan).slice(0, 5)).toEqual(['EnsureLogicalSwitch ovn-default', 'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-ovn-default', 'EnsureLogicalSwitchPort b.default', 'PatchPodAnnotations default/b']);
    expect(actionsOfType(plan, 'EnsureLogicalSwitchPort')[0]!.port.addresses).toEqual('00:00:00:aa:bb:cc 10.16.0.9');
  });

  it('a deleted pod: its OVN ports go first (one transaction), then its IP objects; an IPAM-only network has no port', () => {
    const before = snapshotOf(...docs());
    const applied = applyActions(before, planAll(before, OVN).actions);
    const state = prepare(applied, OVN);
    const released = releasePodWith(state, without(applied, 'default/a'), podObject('a', { uid: 'uid-a' }) as Pod, OVN);
    expect(actionList(released.plan).filter((a) => !a.startsWith('UpdateSubnetStatus'))).toEqual([
      'DeleteLogicalSwitchPort a.default',
      'DeleteLogicalSwitchPort a.default.attachnet.default.ovn',
      'DeleteIP a.default',
      'DeleteIP a.default.attachnet.default.ovn',
      'DeleteIP a.default.macvlan.default',
    ]);
    expect(actionsOfType(released.plan, 'DeleteLogicalSwitchPort')[0]!.reason).toEqual('unplug it from OVN: pod default/a is gone');
    const off = releasePodWith(prepare(applied, { now: 0 }), without(applied, 'default/a'), podObject('a', { uid: 'uid-a' }) as Pod, { now: 0 });
    expect(actionList(off.plan).filter((a) => a.includes('Logical'))).toEqual([]);
  });

  it('an orphan IP object (no pod) in a full plan: its port is deleted first, even when its Subnet is gone', () => {
    const snapshot = snapshotOf(objects('s.yaml', subnetObject('attach', '172.17.0.0/24', 'attachnet.default.ovn')),
      ip('x.default', 'x', 'ovn-default', '10.16.0.5'), ip('x.default.attachnet.default.ovn', 'x', 'attach', '172.17.0.5'), ip('x.default.macvlan.default', 'x', 'gone', '172.18.0.5'));
    expect(actionList(planAll(snapshot, OVN)).filter((a) => !a.startsWith('UpdateSubnetStatus'))).toEqual([
      'DeleteLogicalSwitchPort x.default',
      'DeleteIP x.default',
      'DeleteLogicalSwitchPort x.default.attachnet.default.ovn',
      'DeleteIP x.default.attachnet.default.ovn',
      'DeleteIP x.default.macvlan.default',
    ]);
  });

  it('the sweep of an orphan IP object: its port, then the IP object (and only the IP object when off)', () => {
    const snapshot = snapshotOf(subnets(), ip('x.default', 'x', 'ovn-default', '10.16.0.5'), ip('x.default.macvlan.default', 'x', 'macvlan', '172.18.0.5'));
    const state = prepare(snapshot, OVN);
    const sweep = (options: typeof OVN | { now: number }) => [...orphans(state)].map(([name, reason]) => releaseOrphan(state, snapshot, name, reason, options).map((a) => `${a.type} ${a.target}`));
    expect(sweep(OVN)).toEqual([['DeleteLogicalSwitchPort x.default', 'DeleteIP x.default'], ['DeleteIP x.default.macvlan.default']]);
    expect(sweep({ now: 0 })).toEqual([['DeleteIP x.default'], ['DeleteIP x.default.macvlan.default']]);
  });

  it('a claim that moves to another OVN switch (its logical_switch changed): the port is deleted and made again on the new switch, in one OVN step', () => {
    const snapshot = snapshotOf(
      objects('s.yaml', subnetObject('ovn-default', '10.16.0.0/24', 'ovn'), subnetObject('other', '10.17.0.0/24', 'ovn')),
      pod('m', { uid: 'uid-m', annotations: { 'ovn.kubernetes.io/logical_switch': 'other' } }),
      ip('m.default', 'm', 'ovn-default', '10.16.0.9', { podUid: 'uid-m', mac: '00:00:00:aa:bb:cc' }));
    const plan = planAll(snapshot, OVN);
    expect(actionList(plan).filter((a) => !a.startsWith('UpdateSubnetStatus'))).toEqual([
      'UpdateIP m.default', 'EnsureLogicalSwitch other', 'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-other', 'DeleteLogicalSwitchPort m.default', 'EnsureLogicalSwitchPort m.default', 'PatchPodAnnotations default/m',
    ]);
    expect(actionsOfType(plan, 'DeleteLogicalSwitchPort')[0]!.reason).toEqual('move it from ovn-default to other');
    expect(actionsOfType(plan, 'EnsureLogicalSwitchPort')[0]!.port.logicalSwitch).toEqual('other');
  });

  it('a pod recreated under its name (new UID) while no controller ran: its claim is written over the old IP object and port, in place', () => {
    const snapshot = snapshotOf(subnets(), pod('r', { uid: 'uid-new', nodeName: 'node2' }),
      ip('r.default', 'r', 'ovn-default', '10.16.0.9', { podUid: 'uid-old', mac: '00:00:00:aa:bb:cc', nodeName: 'node1' }));
    const state = prepare(snapshot, OVN);
    expect([...orphans(state).keys()]).toEqual(['r.default']);
    const planned = planPodWith(state, snapshot, 'default/r', OVN);
    const expected = ['UpdateIP r.default', 'EnsureLogicalSwitch ovn-default', 'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-ovn-default', 'EnsureLogicalSwitchPort r.default', 'PatchPodAnnotations default/r'];
    expect(actionList(planned.plan)).toEqual(expected);
    // Nothing of the old pod is carried over: its address (released, in cooldown), node and MAC.
    const written = actionsOfType(planned.plan, 'UpdateIP')[0]!.ip;
    expect([written.spec.ipAddress, written.spec.nodeName, written.labels[UID]]).toEqual(['10.16.0.2', 'node2', 'uid-new']);
    expect(written.spec.macAddress).not.toEqual('00:00:00:aa:bb:cc');
    const port = actionsOfType(planned.plan, 'EnsureLogicalSwitchPort')[0]!.port;
    expect(port.addresses).toEqual(`${written.spec.macAddress} 10.16.0.2`);
    // Not an orphan any more: the sweep leaves the name to the new pod.
    expect([...orphans(planned.state).keys()]).toEqual([]);
    // The full plan says the same, and deletes nothing.
    expect(actionList(planAll(snapshot, OVN)).filter((a) => !a.startsWith('UpdateSubnetStatus'))).toEqual(expected);
    expect(actionList(planPod(snapshot, 'default/r', OVN)).filter((a) => !a.startsWith('UpdateSubnetStatus'))).toEqual(expected);
  });

  it('the same when the old IP object lies on another OVN switch: the old port goes, the new one is made on the pod\'s switch', () => {
    const snapshot = snapshotOf(
      objects('s.yaml', subnetObject('ovn-default', '10.16.0.0/24', 'ovn'), subnetObject('other', '10.17.0.0/24', 'ovn')),
      pod('r', { uid: 'uid-new' }),
      ip('r.default', 'r', 'other', '10.17.0.9', { podUid: 'uid-old', mac: '00:00:00:aa:bb:cc' }));
    expect(actionList(planPodWith(prepare(snapshot, OVN), snapshot, 'default/r', OVN).plan)).toEqual([
      'UpdateIP r.default', 'EnsureLogicalSwitch ovn-default', 'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-ovn-default',
      'DeleteLogicalSwitchPort r.default', 'EnsureLogicalSwitchPort r.default', 'PatchPodAnnotations default/r',
    ]);
  });

  it('the incremental planner plans the same OVN actions as the full one', () => {
    const snapshot = snapshotOf(...docs());
    const incremental = planPodWith(prepare(snapshot, OVN), snapshot, 'default/a', OVN).plan;
    expect(actionList(incremental)).toEqual(actionList(planPod(snapshot, 'default/a', OVN)).filter((a) => !a.startsWith('UpdateSubnetStatus')));
  });
});
