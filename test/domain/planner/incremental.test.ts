// The controller's incremental planner: releases and StatefulSet hand-overs between reconciles.
import { describe, it, expect } from '@jest/globals';
import { planPodWith, prepare, releasePodWith } from '../../../src/domain/IncrementalPlanner.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';
import { actionList, ip, objects, pod, podObject, snapshotOf, statefulSetObject, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };
const subnets = () => objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/24'));
const without = (snapshot: Snapshot, key: string): Snapshot => ({ ...snapshot, pods: new Map([...snapshot.pods].filter(([k]) => k !== key)) });
const web0 = (uid: string) => podObject('web-0', { uid, statefulSet: { name: 'web', uid: 'uid-web' } }) as Pod;

describe('incremental planner', () => {
  it('a deleted pod: DeleteIP, and its address is reused last', () => {
    const before = snapshotOf(subnets(), pod('a', { uid: 'uid-a', annotations: { 'ovn.kubernetes.io/allocated': 'true', 'ovn.kubernetes.io/ip_address': '10.16.0.2' } }), ip('a.default', 'a', 'ovn-default', '10.16.0.2', { podUid: 'uid-a' }));
    const state = prepare(before, OPTIONS);
    const gone = podObject('a', { uid: 'uid-a' }) as Pod;
    const released = releasePodWith(state, without(before, 'default/a'), gone, OPTIONS);
    expect(actionList(released.plan)).toEqual(['DeleteIP a.default', 'UpdateSubnetStatus ovn-default']);
    const after = snapshotOf(subnets(), pod('b', { uid: 'uid-b' }));
    expect(planPodWith(released.state, after, 'default/b', OPTIONS).plan.allocations.map((a) => a.ipAddress)).toEqual(['10.16.0.3']);
  });

  it('a StatefulSet pod that its StatefulSet still wants: the IP object stays and the next pod of that name takes its address', () => {
    const docs = [subnets(), objects('sts.yaml', statefulSetObject('web', 2, {})), ip('web-0.default', 'web-0', 'ovn-default', '10.16.0.7', { podUid: 'uid-old', podType: 'StatefulSet' })];
    const before = snapshotOf(...docs, objects('p.yaml', web0('uid-old')));
    const state = prepare(before, OPTIONS);
    const released = releasePodWith(state, without(before, 'default/web-0'), web0('uid-old'), OPTIONS);
    // No DeleteIP: only the Subnet's (never written) status.
    expect(actionList(released.plan)).toEqual(['UpdateSubnetStatus ovn-default']);
    const recreated = snapshotOf(...docs, objects('p.yaml', web0('uid-new')));
    const plan = planPodWith(released.state, recreated, 'default/web-0', OPTIONS).plan;
    expect(plan.allocations.map((a) => `${a.ipAddress} ${a.source}`)).toEqual(['10.16.0.7 existing']);
    expect(actionList(plan)).toEqual(['UpdateIP web-0.default', 'PatchPodAnnotations default/web-0']);
  });

  it('a recreated StatefulSet pod seen before its predecessor\'s deletion adopts the claim directly', () => {
    const docs = [subnets(), objects('sts.yaml', statefulSetObject('web', 1, {})), ip('web-0.default', 'web-0', 'ovn-default', '10.16.0.7', { podUid: 'uid-old', podType: 'StatefulSet' })];
    const state = prepare(snapshotOf(...docs, objects('p.yaml', web0('uid-old'))), OPTIONS);
    const plan = planPodWith(state, snapshotOf(...docs, objects('p.yaml', web0('uid-new'))), 'default/web-0', OPTIONS).plan;
    expect(plan.allocations.map((a) => `${a.ipAddress} ${a.source}`)).toEqual(['10.16.0.7 existing']);
  });
});
