// IP objects written by hand to reserve an address (issue #13 item 4, src/domain/Reservations.ts):
// a reservation with only the fields a person writes holds its address before its pod exists,
// its pod takes it (source existing) and the IP object gets the full record, an OVN reservation
// without a MAC gets a generated one, and two claims of one address are decided by creation
// time, then name: the later is a ClaimConflict naming both, on its pod and on the IP object
// itself; a reservation of an address a live pod holds loses, and holds it once that pod is gone.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { prepare, planPodWith, releasePodWith } from '../../../src/domain/IncrementalPlanner.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import { actionList, actionsOfType, nadObject, objects, pod, snapshotOf, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };

/** A reservation as a person writes it: the required-for-us fields and nothing else. */
const reservation = (name: string, podName: string, subnet: string, ipAddress: string, metadata: Record<string, unknown> = {}): RawDocument[] =>
  objects(`ip-${name}.yaml`, { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name, ...metadata }, spec: { podName, namespace: 'default', subnet, ipAddress } });

const macvlan = (): RawDocument[] => [
  ...objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('macvlan', '172.17.0.0/24', 'macvlan.default')),
  ...objects('nad.yaml', nadObject('macvlan', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } })),
];
const attached = { 'k8s.v1.cni.cncf.io/networks': 'macvlan' };

describe('a reservation before its pod exists', () => {
  it('holds its address (counted in the Subnet status) and is not released', () => {
    const plan = planAll(snapshotOf([...macvlan(), ...reservation('p.default.macvlan.default', 'p', 'macvlan', '172.17.0.50')]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(actionList(plan)).toEqual(['UpdateSubnetStatus macvlan', 'UpdateSubnetStatus ovn-default']);
    expect(actionsOfType(plan, 'UpdateSubnetStatus')[0]!.status.v4usingIPrange).toBe('172.17.0.50');
  });

  it('keeps other pods off its address', () => {
    const plan = planAll(snapshotOf([...macvlan(), ...reservation('p.default.macvlan.default', 'p', 'macvlan', '172.17.0.2'), ...pod('q', { uid: 'uid-q', annotations: attached })]), OPTIONS);
    expect(plan.allocations.filter((a) => a.provider !== 'ovn').map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/q 172.17.0.3 dynamic']);
  });

  it('not named for its pod (<podName>.<namespace>[.<provider>]): left alone, neither held nor released', () => {
    const plan = planAll(snapshotOf([...macvlan(), ...reservation('mine', 'p', 'macvlan', '172.17.0.50')]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(actionList(plan)).toEqual(['UpdateSubnetStatus macvlan', 'UpdateSubnetStatus ovn-default']);
    expect(actionsOfType(plan, 'UpdateSubnetStatus')[0]!.status.v4usingIPrange).toBe('');
  });

  it('labelled ip_reserved: "false" it is no reservation: with no pod it is released', () => {
    const plan = planAll(snapshotOf([...macvlan(), ...reservation('p.default.macvlan.default', 'p', 'macvlan', '172.17.0.50', { labels: { 'ovn.kubernetes.io/ip_reserved': 'false' } })]), OPTIONS);
    expect(actionList(plan)).toEqual(['DeleteIP p.default.macvlan.default', 'UpdateSubnetStatus macvlan', 'UpdateSubnetStatus ovn-default']);
  });
});

describe('the pod of a reservation', () => {
  it('gets the reserved address and the IP object gets the full record', () => {
    const plan = planAll(snapshotOf([...macvlan(), ...reservation('p.default.macvlan.default', 'p', 'macvlan', '172.17.0.50'), ...pod('p', { uid: 'uid-p', nodeName: 'node1', annotations: attached })]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations.filter((a) => a.provider !== 'ovn')).toEqual([
      { pod: 'default/p', provider: 'macvlan.default', interface: 'net1', subnet: 'macvlan', ipAddress: '172.17.0.50', macAddress: '', cidr: '172.17.0.0/24', gateway: '172.17.0.1', source: 'existing' },
    ]);
    const update = actionsOfType(plan, 'UpdateIP');
    expect(update).toEqual([{
      type: 'UpdateIP', target: 'p.default.macvlan.default', reason: 'bring the IP object in line with net1 of pod default/p: 172.17.0.50 in macvlan',
      ip: {
        name: 'p.default.macvlan.default',
        labels: { 'ovn.kubernetes.io/subnet': 'macvlan', 'ovn.kubernetes.io/node-name': 'node1', 'ipam.kube-ovn.io/pod-uid': 'uid-p', 'ovn.kubernetes.io/ip_reserved': 'true' },
        spec: {
          podName: 'p', namespace: 'default', subnet: 'macvlan', nodeName: 'node1', ipAddress: '172.17.0.50', v4IpAddress: '172.17.0.50', v6IpAddress: '',
          macAddress: '', containerID: '', podType: '', attachIps: [], attachMacs: [], attachSubnets: [],
        },
      },
    }]);
    expect(actionList(plan)).toEqual(['CreateIP p.default', 'UpdateIP p.default.macvlan.default', 'PatchPodAnnotations default/p', 'UpdateSubnetStatus macvlan', 'UpdateSubnetStatus ovn-default']);
  });

  it('on an OVN Subnet without a MAC: a generated MAC, in the IP object and the pod annotation', () => {
    const plan = planAll(snapshotOf([...macvlan(), ...reservation('p.default', 'p', 'ovn-default', '10.16.0.77'), ...pod('p', { uid: 'uid-p', nodeName: 'node1' })]), OPTIONS);
    const mac = plan.allocations[0]!.macAddress;
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/p 10.16.0.77 existing']);
    expect(mac).toBe('aa:4a:b0:40:5d:dc');
    expect(actionsOfType(plan, 'UpdateIP')[0]!.ip.spec.macAddress).toBe(mac);
    expect(actionsOfType(plan, 'PatchPodAnnotations')[0]!.annotations['ovn.kubernetes.io/mac_address']).toBe(mac);
  });

  it('the controller: prepared before the pod came, the pod adopts the reservation; deleted, the reservation stays for the next pod of the name', () => {
    const before = snapshotOf([...macvlan(), ...reservation('p.default', 'p', 'ovn-default', '10.16.0.77')]);
    const withPod = snapshotOf([...macvlan(), ...reservation('p.default', 'p', 'ovn-default', '10.16.0.77'), ...pod('p', { uid: 'uid-p', nodeName: 'node1' })]);
    const { plan, state } = planPodWith(prepare(before, OPTIONS), withPod, 'default/p', OPTIONS);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.macAddress} ${a.source}`)).toEqual([`default/p 10.16.0.77 ${planAll(withPod, OPTIONS).allocations[0]!.macAddress} existing`]);
    const gone = releasePodWith(state, before, withPod.pods.get('default/p')!.object, OPTIONS);
    expect(actionList(gone.plan)).toEqual(['UpdateSubnetStatus ovn-default']);
    const next = snapshotOf([...macvlan(), ...reservation('p.default', 'p', 'ovn-default', '10.16.0.77'), ...pod('p', { uid: 'uid-p2', nodeName: 'node2' })]);
    expect(planPodWith(gone.state, next, 'default/p', OPTIONS).plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.macAddress} ${a.source}`))
      .toEqual(['default/p 10.16.0.77 aa:4a:b0:40:5d:dc existing']);
  });
});

describe('two claims of one address: the earlier (creation time, then name) keeps it', () => {
  const two = (aTime: string | undefined, bTime: string | undefined): RawDocument[] => [
    ...macvlan(),
    ...reservation('a.default.macvlan.default', 'a', 'macvlan', '172.17.0.50', aTime === undefined ? {} : { creationTimestamp: aTime }),
    ...reservation('b.default.macvlan.default', 'b', 'macvlan', '172.17.0.50', bTime === undefined ? {} : { creationTimestamp: bTime }),
    ...pod('a', { uid: 'uid-a', annotations: attached }),
    ...pod('b', { uid: 'uid-b', annotations: attached }),
  ];
  it.each([
    ['a created first', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 'a', 'b'],
    ['b created first', '2026-01-01T00:00:01Z', '2026-01-01T00:00:00Z', 'b', 'a'],
    ['the same second: the name decides', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'a', 'b'],
  ])('%s', (_name, aTime, bTime, winner, loser) => {
    const plan = planAll(snapshotOf(two(aTime, bTime)), OPTIONS);
    expect(plan.allocations.filter((a) => a.provider !== 'ovn').map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual([`default/${winner} 172.17.0.50 existing`]);
    const message = `pod default/${loser} net1 (macvlan.default): IP object ${loser}.default.macvlan.default reserves 172.17.0.50 in subnet macvlan for pod default/${loser}, but 172.17.0.50 is already held by IP object ${winner}.default.macvlan.default (pod default/${winner}), which came first (by creation time, then name)`;
    expect(plan.errors).toEqual([{ pod: `default/${loser}`, provider: 'macvlan.default', interface: 'net1', code: 'ClaimConflict', message }]);
    const onIp = message.slice(`pod default/${loser} net1 (macvlan.default): `.length);
    expect(actionsOfType(plan, 'EmitEvent')).toEqual([
      { type: 'EmitEvent', target: `default/${loser}`, reason: message, event: { type: 'Warning', reason: 'ClaimConflict', message: `ClaimConflict: ${message}` } },
      { type: 'EmitEvent', kind: 'IP', target: `${loser}.default.macvlan.default`, reason: onIp, event: { type: 'Warning', reason: 'ClaimConflict', message: `ClaimConflict: ${onIp}` } },
    ]);
  });

  it('a reservation of an address a running pod holds (its annotations) loses', () => {
    const plan = planAll(snapshotOf([
      ...macvlan(),
      ...reservation('b.default.macvlan.default', 'b', 'macvlan', '172.17.0.50', { creationTimestamp: '2020-01-01T00:00:00Z' }),
      ...pod('a', { uid: 'uid-a', annotations: { ...attached, 'macvlan.default.kubernetes.io/ip_address': '172.17.0.50', 'macvlan.default.kubernetes.io/allocated': 'true', 'macvlan.default.kubernetes.io/logical_switch': 'macvlan' } }),
      ...pod('b', { uid: 'uid-b', annotations: attached }),
    ]), OPTIONS);
    expect(plan.errors.map((e) => `${e.pod} ${e.code} ${e.message}`)).toEqual([
      'default/b ClaimConflict pod default/b net1 (macvlan.default): IP object b.default.macvlan.default reserves 172.17.0.50 in subnet macvlan for pod default/b, but 172.17.0.50 is already held by pod default/a, which came first (by creation time, then name)',
    ]);
  });
});

describe('a reservation of an address a live pod holds (issue 14 item 4)', () => {
  const holder = pod('a', { uid: 'uid-a', annotations: { ...attached, 'macvlan.default.kubernetes.io/ip_address': '172.17.0.50', 'macvlan.default.kubernetes.io/allocated': 'true', 'macvlan.default.kubernetes.io/logical_switch': 'macvlan' } });
  const reserved = reservation('b.default.macvlan.default', 'b', 'macvlan', '172.17.0.50', { creationTimestamp: '2026-01-01T00:00:00Z' });
  const lost = 'IP object b.default.macvlan.default reserves 172.17.0.50 in subnet macvlan for pod default/b, but 172.17.0.50 is already held by pod default/a, which came first (by creation time, then name)';
  const ipEvent = { type: 'EmitEvent', kind: 'IP', target: 'b.default.macvlan.default', reason: lost, event: { type: 'Warning', reason: 'ClaimConflict', message: `ClaimConflict: ${lost}` } };
  const podB = pod('b', { uid: 'uid-b', annotations: attached });

  it.each([
    ['before its pod exists: the IP object gets a Warning Event, the holder keeps the address', [], [], [ipEvent]],
    ['its pod: a ClaimConflict and no address; the IP object its Event too', podB, [`default/b ClaimConflict pod default/b net1 (macvlan.default): ${lost}`], [
      { type: 'EmitEvent', target: 'default/b', reason: `pod default/b net1 (macvlan.default): ${lost}`, event: { type: 'Warning', reason: 'ClaimConflict', message: `ClaimConflict: pod default/b net1 (macvlan.default): ${lost}` } },
      ipEvent,
    ]],
  ])('%s', (_name, more, errors, events) => {
    const plan = planAll(snapshotOf([...macvlan(), ...reserved, ...holder, ...more]), OPTIONS);
    expect(plan.allocations.filter((a) => a.provider !== 'ovn').map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/a 172.17.0.50 existing']);
    expect(plan.errors.map((e) => `${e.pod} ${e.code} ${e.message}`)).toEqual(errors);
    expect(actionsOfType(plan, 'EmitEvent')).toEqual(events);
    expect(actionList(plan).filter((a) => a.includes('IP '))).toEqual(['CreateIP a.default', 'CreateIP a.default.macvlan.default', ...(more.length === 0 ? [] : ['CreateIP b.default'])]);
  });

  it('the controller: the pod waits with its ClaimConflict; once the holder is gone it gets the address, as plan then says', () => {
    const all = snapshotOf([...macvlan(), ...reserved, ...holder, ...podB]);
    const first = planPodWith(prepare(all, OPTIONS), all, 'default/b', OPTIONS);
    expect(first.plan.errors.map((e) => e.code)).toEqual(['ClaimConflict']);
    const without = snapshotOf([...macvlan(), ...reserved, ...podB]);
    const gone = releasePodWith(first.state, without, all.pods.get('default/a')!.object, OPTIONS);
    expect(actionList(gone.plan)).toEqual(['UpdateSubnetStatus macvlan']);
    expect(gone.state.loaded.reservations.size).toBe(0);
    const next = planPodWith(gone.state, without, 'default/b', OPTIONS).plan;
    expect(next.errors).toEqual([]);
    expect(next.allocations.filter((a) => a.provider !== 'ovn').map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/b 172.17.0.50 existing']);
    expect(planAll(without, OPTIONS).allocations.filter((a) => a.provider !== 'ovn').map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/b 172.17.0.50 existing']);
  });
});

describe('a reservation that names no address', () => {
  it('reserves only the name: its pod gets the lowest free address, written over it', () => {
    const docs = objects('ip.yaml', { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: 'p.default' }, spec: { podName: 'p', namespace: 'default', subnet: 'ovn-default' } });
    const plan = planAll(snapshotOf([...macvlan(), ...docs, ...pod('p', { uid: 'uid-p' })]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/p 10.16.0.2 dynamic']);
    expect(actionsOfType(plan, 'UpdateIP').map((a) => [a.ip.spec.ipAddress, a.ip.labels['ovn.kubernetes.io/ip_reserved']])).toEqual([['10.16.0.2', 'true']]);
  });
});
