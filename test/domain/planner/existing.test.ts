// Existing allocations (DESIGN §3.4-§3.5): claims are rebuilt from pod annotations and IP
// objects before anything is allocated; a claim whose pod is gone is released (DeleteIP) unless
// its StatefulSet still wants the ordinal; identity is the pod UID, never the name alone.
// Also planPod (one pod's actions) and planPodDeleted (a deleted pod's release).
import { describe, it, expect } from '@jest/globals';
import { planAll, planPod, planPodDeleted } from '../../../src/domain/ClusterPlanner.js';
import type { IpObject } from '../../../src/domain/Plan.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import { actionList, actionsOfType, ip, objects, pod, snapshotOf, statefulSetObject, subnetObject, warningFor } from './snapshots.js';

const OPTIONS = { now: 0 };

const subnets = (): RawDocument[] => objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('tiny', '10.20.0.0/30'));

/** What the controller wrote for an eth0 in ovn-default. */
const allocated = (address: string, mac: string): Record<string, string> => ({
  'ovn.kubernetes.io/ip_address': address,
  'ovn.kubernetes.io/mac_address': mac,
  'ovn.kubernetes.io/cidr': '10.16.0.0/16',
  'ovn.kubernetes.io/gateway': '10.16.0.1',
  'ovn.kubernetes.io/logical_switch': 'ovn-default',
  'ovn.kubernetes.io/allocated': 'true',
});

const expectedIp = (name: string, podName: string, address: string, mac: string, uid: string, podType = ''): IpObject => ({
  name,
  labels: { 'ovn.kubernetes.io/subnet': 'ovn-default', 'ovn.kubernetes.io/node-name': 'node1', 'ipam.kube-ovn.io/pod-uid': uid },
  spec: {
    podName, namespace: 'default', subnet: 'ovn-default', nodeName: 'node1', ipAddress: address, v4IpAddress: address, v6IpAddress: '',
    macAddress: mac, containerID: '', podType, attachIps: [], attachMacs: [], attachSubnets: [],
  },
});

const web = { name: 'web', uid: 'uid-web' };
const sts = (replicas: number, extra: Record<string, unknown> = {}): RawDocument[] => {
  const o = statefulSetObject('web', replicas, {}, 'uid-web') as { metadata: Record<string, unknown> };
  return objects('sts.yaml', { ...o, metadata: { ...o.metadata, ...extra } });
};
const webIp = (ordinal: number, address: string, uid: string): RawDocument[] =>
  ip(`web-${ordinal}.default`, `web-${ordinal}`, 'ovn-default', address, { podUid: uid, mac: `02:00:00:00:01:0${ordinal}`, nodeName: 'node1', podType: 'StatefulSet' });

describe('a pod whose allocation already exists', () => {
  const docs = (): RawDocument[] => [
    ...subnets(),
    ...pod('a', { uid: 'uid-a', nodeName: 'node1', annotations: allocated('10.16.0.2', '02:00:00:00:00:0a') }),
    ...ip('a.default', 'a', 'ovn-default', '10.16.0.2', { podUid: 'uid-a', mac: '02:00:00:00:00:0a', nodeName: 'node1' }),
    ...pod('b', { uid: 'uid-b', nodeName: 'node1' }),
  ];

  it('keeps its addresses (source existing) and gets no action; a new pod takes the next address', () => {
    const plan = planAll(snapshotOf(docs()), OPTIONS);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.macAddress} ${a.source}`)).toEqual([
      'default/a 10.16.0.2 02:00:00:00:00:0a existing',
      'default/b 10.16.0.3 12:5e:59:86:b7:d4 dynamic',
    ]);
    expect(actionList(plan)).toEqual(['CreateIP b.default', 'PatchPodAnnotations default/b', 'UpdateSubnetStatus ovn-default', 'UpdateSubnetStatus tiny']);
    expect(actionsOfType(plan, 'UpdateSubnetStatus')[0]!.status.v4usingIPrange).toBe('10.16.0.2-10.16.0.3');
  });

  it('without its IP object: the IP object is created again from the annotations, and the pod is not patched', () => {
    const plan = planAll(snapshotOf([...subnets(), ...pod('a', { uid: 'uid-a', nodeName: 'node1', annotations: allocated('10.16.0.9', '02:00:00:00:00:0a') })]), OPTIONS);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/a 10.16.0.9 existing']);
    expect(plan.actions.filter((a) => a.type !== 'UpdateSubnetStatus')).toEqual([
      { type: 'CreateIP', target: 'a.default', reason: 'record the claim of eth0 of pod default/a: 10.16.0.9 in ovn-default', ip: expectedIp('a.default', 'a', '10.16.0.9', '02:00:00:00:00:0a', 'uid-a') },
    ]);
  });

  it('when annotations and IP object disagree, the annotations win, the IP object is corrected and an Event says so', () => {
    const plan = planAll(snapshotOf([
      ...subnets(),
      ...pod('a', { uid: 'uid-a', nodeName: 'node1', annotations: allocated('10.16.0.9', '02:00:00:00:00:0a') }),
      ...ip('a.default', 'a', 'ovn-default', '10.16.0.8', { podUid: 'uid-a', mac: '02:00:00:00:00:0a', nodeName: 'node1' }),
    ]), OPTIONS);
    const message = 'pod annotations say 10.16.0.9 in ovn-default but IP object a.default says 10.16.0.8 in ovn-default; keeping the annotations (what the pod uses) and correcting the IP object';
    expect(plan.actions.filter((a) => a.type !== 'UpdateSubnetStatus')).toEqual([
      { type: 'EmitEvent', target: 'default/a', reason: message, event: { type: 'Warning', reason: 'ClaimDisagreement', message } },
      { type: 'UpdateIP', target: 'a.default', reason: 'bring the IP object in line with eth0 of pod default/a: 10.16.0.9 in ovn-default', ip: expectedIp('a.default', 'a', '10.16.0.9', '02:00:00:00:00:0a', 'uid-a') },
    ]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/a 10.16.0.9 existing']);
  });

  it('two pods whose annotations claim the same address: the first keeps it, the second gets ClaimConflict', () => {
    const plan = planAll(snapshotOf([
      ...subnets(),
      ...pod('a', { uid: 'uid-a', nodeName: 'node1', annotations: allocated('10.16.0.9', '02:00:00:00:00:0a'), creationTimestamp: '2024-01-01T00:00:00Z' }),
      ...pod('b', { uid: 'uid-b', nodeName: 'node1', annotations: allocated('10.16.0.9', '02:00:00:00:00:0b'), creationTimestamp: '2024-01-01T00:00:01Z' }),
    ]), OPTIONS);
    const message = 'pod default/b eth0 (ovn): existing allocation 10.16.0.9 in subnet ovn-default cannot be kept: 10.16.0.9 is already held by default/a in subnet ovn-default';
    expect(plan.errors).toEqual([{ pod: 'default/b', provider: 'ovn', interface: 'eth0', code: 'ClaimConflict', message }]);
    expect(actionsOfType(plan, 'EmitEvent')).toEqual([warningFor('default/b', 'ClaimConflict', message, 'ClaimConflict')]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/a 10.16.0.9 existing']);
  });
});

describe('an IP object without annotations (a crash between the IP object and the pod patch)', () => {
  it('is reused: the pod is patched with its address and MAC, no IP object is created or changed', () => {
    const snapshot = snapshotOf([
      ...subnets(),
      ...pod('a', { uid: 'uid-a', nodeName: 'node1' }),
      ...ip('a.default', 'a', 'ovn-default', '10.16.0.9', { podUid: 'uid-a', mac: '02:00:00:00:00:0a', nodeName: 'node1' }),
    ]);
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.allocations).toEqual([
      { pod: 'default/a', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.9', macAddress: '02:00:00:00:00:0a', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'existing' },
    ]);
    expect(plan.actions.filter((a) => a.type !== 'UpdateSubnetStatus')).toEqual([
      { type: 'PatchPodAnnotations', target: 'default/a', reason: 'publish the addresses of eth0 (allocated: "true")', annotations: allocated('10.16.0.9', '02:00:00:00:00:0a') },
    ]);
  });
});

describe('an IP object whose pod is gone', () => {
  it('is deleted, and its address is free again in the same plan', () => {
    const plan = planAll(snapshotOf([
      ...subnets(),
      ...ip('x.default', 'x', 'tiny', '10.20.0.2', { podUid: 'uid-x', mac: '02:00:00:00:00:0f', nodeName: 'node1' }),
      ...pod('b', { uid: 'uid-b', nodeName: 'node1', annotations: { 'ovn.kubernetes.io/logical_switch': 'tiny' } }),
    ]), OPTIONS);
    expect(plan.actions[0]).toEqual({ type: 'DeleteIP', target: 'x.default', reason: 'release its addresses: pod default/x is gone' });
    expect(plan.errors).toEqual([]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress} ${a.source}`)).toEqual(['default/b tiny 10.20.0.2 dynamic']);
  });

  it('a finished pod (phase Succeeded) releases its IP object too', () => {
    const plan = planAll(snapshotOf([
      ...subnets(),
      ...pod('job', { uid: 'uid-job', phase: 'Succeeded', annotations: allocated('10.16.0.2', '02:00:00:00:00:0a') }),
      ...ip('job.default', 'job', 'ovn-default', '10.16.0.2', { podUid: 'uid-job', mac: '02:00:00:00:00:0a' }),
    ]), OPTIONS);
    expect(actionList(plan)).toEqual(['DeleteIP job.default', 'UpdateSubnetStatus ovn-default', 'UpdateSubnetStatus tiny']);
    expect(actionsOfType(plan, 'DeleteIP')[0]!.reason).toBe('release its addresses: pod default/job no longer uses this network (or was recreated under a new UID)');
  });
});

describe('a StatefulSet pod', () => {
  it('keeps its IP object while the StatefulSet still wants the ordinal (pod absent); its address stays taken', () => {
    const plan = planAll(snapshotOf([...subnets(), ...sts(2), ...pod('web-0', { uid: 'uid-web-0', nodeName: 'node1', statefulSet: web }), ...webIp(1, '10.16.0.2', 'old-web-1')]), OPTIONS);
    expect(actionsOfType(plan, 'DeleteIP')).toEqual([]);
    expect(plan.allocations.filter((a) => a.simulated === undefined).map((a) => `${a.pod} ${a.ipAddress}`)).toEqual(['default/web-0 10.16.0.3']);
    expect(actionsOfType(plan, 'CreateIP')[0]!.ip).toEqual(expectedIp('web-0.default', 'web-0', '10.16.0.3', '66:f1:1c:4f:06:43', 'uid-web-0', 'StatefulSet'));
  });

  it('recreated under a new UID, gets the same address and MAC from its IP object (which now names the new UID)', () => {
    const plan = planAll(snapshotOf([...subnets(), ...sts(2), ...pod('web-1', { uid: 'new-web-1', nodeName: 'node1', statefulSet: web }), ...webIp(1, '10.16.0.7', 'old-web-1')]), OPTIONS);
    expect(plan.allocations.filter((a) => a.simulated === undefined)).toEqual([
      { pod: 'default/web-1', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.7', macAddress: '02:00:00:00:01:01', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'existing' },
    ]);
    expect(actionsOfType(plan, 'DeleteIP')).toEqual([]);
    expect(actionsOfType(plan, 'CreateIP')).toEqual([]);
    expect(actionsOfType(plan, 'UpdateIP').map((a) => a.ip)).toEqual([expectedIp('web-1.default', 'web-1', '10.16.0.7', '02:00:00:00:01:01', 'new-web-1', 'StatefulSet')]);
    expect(actionsOfType(plan, 'PatchPodAnnotations').map((a) => a.annotations)).toEqual([allocated('10.16.0.7', '02:00:00:00:01:01')]);
  });

  it.each([
    ['scaled down (ordinal >= replicas)', sts(1)],
    ['the StatefulSet is gone', []],
    ['the StatefulSet is being deleted', sts(2, { deletionTimestamp: '2024-01-01T00:00:00Z' })],
  ])('releases its IP object when %s', (_name, owner) => {
    const plan = planAll(snapshotOf([...subnets(), ...owner, ...webIp(1, '10.16.0.2', 'old-web-1')]), OPTIONS);
    expect(actionsOfType(plan, 'DeleteIP')).toEqual([{ type: 'DeleteIP', target: 'web-1.default', reason: 'release its addresses: pod default/web-1 is gone' }]);
  });
});

describe('a pod recreated under the same name with a new UID (not a StatefulSet)', () => {
  it('is new: the pod gets a new claim, written over the old IP object in one update (under its new UID)', () => {
    const plan = planAll(snapshotOf([
      ...subnets(),
      ...pod('a', { uid: 'uid-new', nodeName: 'node1' }),
      ...ip('a.default', 'a', 'ovn-default', '10.16.0.9', { podUid: 'uid-old', mac: '02:00:00:00:00:0a', nodeName: 'node1' }),
    ]), OPTIONS);
    expect(actionList(plan)).toEqual(['UpdateIP a.default', 'PatchPodAnnotations default/a', 'UpdateSubnetStatus ovn-default', 'UpdateSubnetStatus tiny']);
    expect(actionsOfType(plan, 'UpdateIP')[0]!.reason).toBe(
      "record the claim of eth0 of pod default/a: 10.16.0.2 in ovn-default over the earlier pod's (pod default/a no longer uses this network (or was recreated under a new UID))");
    expect(actionsOfType(plan, 'UpdateIP')[0]!.ip).toEqual(expectedIp('a.default', 'a', '10.16.0.2', '8a:a6:ca:e7:5a:60', 'uid-new'));
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/a 10.16.0.2 dynamic']);
  });
});

describe('planPod', () => {
  it("plans one pod: its own actions and its subnet's status, given the other pods' existing claims", () => {
    const snapshot = snapshotOf([
      ...subnets(),
      ...pod('a', { uid: 'uid-a', nodeName: 'node1', annotations: allocated('10.16.0.2', '02:00:00:00:00:0a') }),
      ...ip('a.default', 'a', 'ovn-default', '10.16.0.2', { podUid: 'uid-a', mac: '02:00:00:00:00:0a', nodeName: 'node1' }),
      ...pod('b', { uid: 'uid-b', nodeName: 'node1' }),
      ...pod('c', { uid: 'uid-c', nodeName: 'node1' }),
      ...ip('gone.default', 'gone', 'ovn-default', '10.16.0.5', { podUid: 'uid-gone' }),
    ]);
    const plan = planPod(snapshot, 'default/c', OPTIONS);
    expect(plan).toEqual({
      allocations: [
        { pod: 'default/c', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.3', macAddress: 'ae:a3:db:9a:b0:29', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic' },
      ],
      actions: [
        { type: 'CreateIP', target: 'c.default', reason: 'record the claim of eth0 of pod default/c: 10.16.0.3 in ovn-default', ip: expectedIp('c.default', 'c', '10.16.0.3', 'ae:a3:db:9a:b0:29', 'uid-c') },
        { type: 'PatchPodAnnotations', target: 'default/c', reason: 'publish the addresses of eth0 (allocated: "true")', annotations: allocated('10.16.0.3', 'ae:a3:db:9a:b0:29') },
        {
          type: 'UpdateSubnetStatus', target: 'ovn-default', reason: 'IPv4 2 in use, 65531 available',
          status: {
            v4availableIPs: 65531, v4usingIPs: 2, v4availableIPrange: '10.16.0.4-10.16.255.254', v4usingIPrange: '10.16.0.2-10.16.0.3',
            v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '', v6usingIPrange: '',
            conditions: [{ type: 'Ready', status: 'True', reason: 'Validated', message: '' }],
            // gone.default's .5 was released, at time 0: not listed (AllocatorMemory.ts).
            allocator: { v4: { usedUpTo: '10.16.0.3', released: [] } },
          },
        },
      ],
      errors: [],
    });
  });
});

describe('planPodDeleted', () => {
  const deleted = (name: string, uid: string, owner?: typeof web): Pod => ({
    metadata: { name, namespace: 'default', uid, ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: owner.name, uid: owner.uid }] } : {}) },
    spec: {},
  });

  it('releases the IP objects of a deleted pod and recounts its subnet', () => {
    const snapshot = snapshotOf([
      ...subnets(),
      ...ip('x.default', 'x', 'ovn-default', '10.16.0.3', { podUid: 'uid-x' }),
      ...ip('x.default.macvlan.default', 'x', 'ovn-default', '10.16.0.4', { podUid: 'uid-x' }),
      ...ip('other.default', 'other', 'ovn-default', '10.16.0.5', { podUid: 'uid-other' }),
    ]);
    expect(planPodDeleted(snapshot, deleted('x', 'uid-x'), OPTIONS)).toEqual({
      allocations: [],
      actions: [
        { type: 'DeleteIP', target: 'x.default', reason: 'release its addresses: pod default/x is gone' },
        { type: 'DeleteIP', target: 'x.default.macvlan.default', reason: 'release its addresses: pod default/x is gone' },
        {
          type: 'UpdateSubnetStatus', target: 'ovn-default', reason: 'IPv4 0 in use, 65533 available',
          status: {
            v4availableIPs: 65533, v4usingIPs: 0, v4availableIPrange: '10.16.0.2-10.16.255.254', v4usingIPrange: '',
            v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '', v6usingIPrange: '',
            conditions: [{ type: 'Ready', status: 'True', reason: 'Validated', message: '' }],
          },
        },
      ],
      errors: [],
    });
  });

  it('keeps the IP object of a StatefulSet pod whose ordinal is still wanted (no DeleteIP)', () => {
    const snapshot = snapshotOf([...subnets(), ...sts(2), ...webIp(1, '10.16.0.2', 'old-web-1')]);
    const plan = planPodDeleted(snapshot, deleted('web-1', 'old-web-1', web), OPTIONS);
    expect(actionsOfType(plan, 'DeleteIP')).toEqual([]);
    expect(actionList(plan)).toEqual(['UpdateSubnetStatus ovn-default']);
    expect(actionsOfType(plan, 'UpdateSubnetStatus')[0]!.status.v4usingIPrange).toBe('10.16.0.2');
  });

  it('releases the IP object of a StatefulSet pod past the new replica count', () => {
    const snapshot = snapshotOf([...subnets(), ...sts(1), ...webIp(1, '10.16.0.2', 'old-web-1')]);
    expect(actionsOfType(planPodDeleted(snapshot, deleted('web-1', 'old-web-1', web), OPTIONS), 'DeleteIP')).toEqual([
      { type: 'DeleteIP', target: 'web-1.default', reason: 'release its addresses: pod default/web-1 is gone' },
    ]);
  });

  it('a pod still in the snapshot but terminating is released too', () => {
    const snapshot = snapshotOf([
      ...subnets(),
      ...pod('x', { uid: 'uid-x', deletionTimestamp: '2024-01-01T00:00:00Z', annotations: allocated('10.16.0.3', '02:00:00:00:00:0a') }),
      ...ip('x.default', 'x', 'ovn-default', '10.16.0.3', { podUid: 'uid-x', mac: '02:00:00:00:00:0a' }),
    ]);
    expect(actionsOfType(planPodDeleted(snapshot, deleted('x', 'uid-x'), OPTIONS), 'DeleteIP').map((a) => a.target)).toEqual(['x.default']);
  });
});
