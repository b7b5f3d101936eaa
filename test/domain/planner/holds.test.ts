// Addresses named by a static ip_address or an ip_pool list are held back from dynamic
// allocation, whoever is planned first: a dynamic pod never takes the address another pod (or a
// workload's template) asks for by name. The owner of the name still gets it.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import type { Plan } from '../../../src/domain/Plan.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import { deploymentObject, objects, pod, seed, snapshotOf, statefulSetObject, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };

const base = (): RawDocument[] =>
  objects('base.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('macvlan', '172.17.0.0/16', 'macvlan.default', { gateway: '172.17.0.1', excludeIps: ['172.17.0.1..172.17.0.10'] }))
    .concat(seed('01-nad-macvlan.yaml'));

const MACVLAN = { 'k8s.v1.cni.cncf.io/networks': 'macvlan' };

const allocationsOf = (plan: Plan): string[] =>
  plan.allocations.map((a) => `${a.pod} ${a.interface} ${a.ipAddress} ${a.source}${a.simulated ? ' (simulated)' : ''}`);

describe('dynamic allocation skips held addresses', () => {
  it.each<[string, () => RawDocument[], readonly string[]]>([
    ['a dynamic pod planned before a static pod does not take its address', () => [
      ...base(),
      ...pod('dynamic', {}),
      ...pod('static', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.2' } }),
    ], ['default/dynamic eth0 10.16.0.3 dynamic', 'default/static eth0 10.16.0.2 static']],
    ['the same on an IPAM-only network (the first free address after excludeIps is held)', () => [
      ...base(),
      ...pod('dynamic', { annotations: MACVLAN }),
      ...pod('static', { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/ip_address': '172.17.0.11' } }),
    ], [
      'default/dynamic eth0 10.16.0.2 dynamic', 'default/dynamic net1 172.17.0.12 dynamic',
      'default/static eth0 10.16.0.3 dynamic', 'default/static net1 172.17.0.11 static',
    ]],
    ['a real pod planned before a Deployment does not take the addresses of its ip_pool (simulated pods get them)', () => [
      ...base(),
      ...pod('dynamic', {}),
      ...objects('dep.yaml', deploymentObject('dep', 2, { 'ovn.kubernetes.io/ip_pool': '10.16.0.2,10.16.0.3' }, 'Recreate')),
    ], ['default/dynamic eth0 10.16.0.4 dynamic', 'default/dep-sim-1 eth0 10.16.0.2 pool (simulated)', 'default/dep-sim-2 eth0 10.16.0.3 pool (simulated)']],
    ["a StatefulSet template's ip_pool is held too", () => [
      ...base(),
      ...pod('dynamic', {}),
      ...objects('sts.yaml', statefulSetObject('web', 1, { 'ovn.kubernetes.io/ip_pool': '10.16.0.2' })),
    ], ['default/dynamic eth0 10.16.0.3 dynamic', 'default/web-0 eth0 10.16.0.2 pool (simulated)']],
    ["a later real pod's ip_pool list is held", () => [
      ...base(),
      ...pod('first', {}),
      ...pod('second', { annotations: { 'ovn.kubernetes.io/ip_pool': '10.16.0.3,10.16.0.2' } }),
    ], ['default/first eth0 10.16.0.4 dynamic', 'default/second eth0 10.16.0.3 pool']],
    ['a conflicting static request takes nothing: the next dynamic pod takes the next free address', () => [
      ...base(),
      ...pod('a', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.2' } }),
      ...pod('b', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.2' } }),
      ...pod('c', {}),
    ], ['default/a eth0 10.16.0.2 static', 'default/c eth0 10.16.0.3 dynamic']],
    ['holds are per subnet: a static address in one subnet does not block the same address in another', () => [
      ...base(),
      ...objects('other.yaml', subnetObject('other', '10.16.0.0/16', 'macvlan.default')),
      ...pod('dynamic', { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/logical_switch': 'other' } }),
      ...pod('static', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.2' } }),
    ], ['default/dynamic eth0 10.16.0.3 dynamic', 'default/dynamic net1 10.16.0.2 dynamic', 'default/static eth0 10.16.0.2 static']],
  ])('%s', (_name, docs, expected) => {
    expect(allocationsOf(planAll(snapshotOf(docs()), OPTIONS))).toEqual(expected);
  });

  it('a static address may lie in excludeIps (never handed out dynamically, but claimable by name)', () => {
    const plan = planAll(snapshotOf([...base(), ...pod('a', { annotations: { ...MACVLAN, 'macvlan.default.kubernetes.io/ip_address': '172.17.0.5' } })]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(allocationsOf(plan)).toEqual(['default/a eth0 10.16.0.2 dynamic', 'default/a net1 172.17.0.5 static']);
  });
});
