// Shared ip_pool lists (PoolHolds.ts): a long list is held once per state and subnet, whatever
// the number of pods that name it, and the plans are those of holding it for each pod.
import { describe, it, expect } from '@jest/globals';
import type { Address } from '../../../src/domain/Address.js';
import { formatValue } from '../../../src/domain/Address.js';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { Draft } from '../../../src/domain/Draft.js';
import { holdPod, planPodWith, prepare } from '../../../src/domain/IncrementalPlanner.js';
import type { IpamState } from '../../../src/domain/IpamState.js';
import { emptyState } from '../../../src/domain/IpamState.js';
import { holdRequestIn, NO_HELD_POOLS, SHARED_POOL_ENTRIES } from '../../../src/domain/PoolHolds.js';
import type { PodNetworkRequest } from '../../../src/domain/schema/annotations.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import { addr, subnet } from '../fixtures.js';
import { deploymentObject, objects, pod, podObject, snapshotOf, statefulSetObject, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };
const a = subnet('a', { cidrBlock: '10.16.0.0/16' });
const b = subnet('b', { cidrBlock: '10.16.0.0/16' });
const listOf = (n: number, third = 1): Address[] => Array.from({ length: n }, (_, i) => addr(`10.16.${third}.${i}`));
const poolRequest = (addresses: readonly Address[]): PodNetworkRequest => ({ ipPool: { kind: 'addresses', entries: addresses.map((v4) => ({ v4 })) } });
/** Every IPv4 address held in the subnet: one by one, or in a long list's block; ascending. */
const heldIn = (state: IpamState, name: string): string[] => {
  const f = state.subnets.get(name)?.v4;
  const values = [...(f?.held.entries() ?? [])].map(([v]) => v).concat((f?.heldBlocks ?? []).flatMap((b) => [...b.values()]));
  return [...new Set(values)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)).map((v) => formatValue(4, v));
};

describe('holdRequestIn', () => {
  const long = poolRequest(listOf(SHARED_POOL_ENTRIES));

  it('holds a long list once per subnet: the second time writes nothing', () => {
    const d = new Draft(emptyState([a, b]));
    const first = holdRequestIn(d, 'a', long, NO_HELD_POOLS);
    const second = holdRequestIn(d, 'a', long, first.held);
    const other = holdRequestIn(d, 'b', long, second.held);
    expect([first.wrote, second.wrote, other.wrote]).toEqual([true, false, true]);
    expect(second.held).toBe(first.held);
    expect([...other.held.keys()]).toEqual(['a', 'b']);
    const state = d.commit();
    expect(heldIn(state, 'a')).toEqual(listOf(SHARED_POOL_ENTRIES).map((x) => formatValue(4, x.value)));
    expect(heldIn(state, 'b')).toEqual(heldIn(state, 'a'));
    // One block per subnet, the list's, shared: not an entry per address.
    expect(state.subnets.get('a')?.v4?.held.size).toBe(0);
    expect(state.subnets.get('a')?.v4?.heldBlocks).toEqual(state.subnets.get('b')?.v4?.heldBlocks);
    expect(state.subnets.get('a')?.v4?.heldBlocks.map((b) => b.size)).toEqual([SHARED_POOL_ENTRIES]);
  });

  it('holds a short list and static addresses every time, and keeps no record of them', () => {
    const d = new Draft(emptyState([a]));
    const short = poolRequest(listOf(2));
    const statics: PodNetworkRequest = { ipAddresses: [addr('10.16.9.9')] };
    const results = [holdRequestIn(d, 'a', short, NO_HELD_POOLS), holdRequestIn(d, 'a', short, NO_HELD_POOLS), holdRequestIn(d, 'a', statics, NO_HELD_POOLS)];
    expect(results.map((r) => [r.wrote, r.held === NO_HELD_POOLS])).toEqual([[true, true], [true, true], [true, true]]);
    expect(heldIn(d.commit(), 'a')).toEqual(['10.16.1.0', '10.16.1.1', '10.16.9.9']);
  });

  it('a request naming neither writes nothing', () => {
    const d = new Draft(emptyState([a]));
    expect(holdRequestIn(d, 'a', { ipPool: { kind: 'pool', name: 'p' } }, NO_HELD_POOLS)).toEqual({ held: NO_HELD_POOLS, wrote: false });
  });
});

describe('a workload with a long ip_pool list', () => {
  // 10.16.0.2 to 10.16.0.101: the first addresses dynamic allocation would give.
  const list = Array.from({ length: 100 }, (_, i) => `10.16.0.${2 + i}`).join(',');
  const subnets = () => objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/16'));

  it('planAll: a dynamic pod skips the whole list; the replicas take its entries in order', () => {
    const plan = planAll(snapshotOf(subnets(), pod('dynamic', {}), objects('dep.yaml', deploymentObject('dep', 3, { 'ovn.kubernetes.io/ip_pool': list }, 'Recreate'))), OPTIONS);
    expect(plan.allocations.map((x) => `${x.pod} ${x.ipAddress} ${x.source}`)).toEqual([
      'default/dynamic 10.16.0.102 dynamic', 'default/dep-sim-1 10.16.0.2 pool', 'default/dep-sim-2 10.16.0.3 pool', 'default/dep-sim-3 10.16.0.4 pool',
    ]);
  });

  it('the controller: a second pod of the StatefulSet leaves the state as it was, and takes its ordinal\'s entry', () => {
    const web = (i: number) => podObject(`web-${i}`, { uid: `uid-${i}`, annotations: { 'ovn.kubernetes.io/ip_pool': list }, statefulSet: { name: 'web', uid: 'uid-web' } });
    const docs = [subnets(), objects('sts.yaml', statefulSetObject('web', 3, { 'ovn.kubernetes.io/ip_pool': list })), objects('p0.yaml', web(0))];
    const state = prepare(snapshotOf(...docs), OPTIONS);
    expect([...(state.heldPools?.keys() ?? [])]).toEqual(['ovn-default']);
    const withSeven = snapshotOf(...docs, objects('p7.yaml', web(7)), pod('dynamic', {}));
    expect(holdPod(state, withSeven, web(7) as Pod)).toBe(state);
    expect(planPodWith(state, withSeven, 'default/web-7', OPTIONS).plan.allocations.map((x) => `${x.ipAddress} ${x.source}`)).toEqual(['10.16.0.9 pool']);
    expect(planPodWith(state, withSeven, 'default/dynamic', OPTIONS).plan.allocations.map((x) => `${x.ipAddress} ${x.source}`)).toEqual(['10.16.0.102 dynamic']);
  });
});

describe('an IPPool read once per object', () => {
  const pool = (ips: readonly string[]) => objects('pool.yaml', { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'p' }, spec: { subnet: 'ovn-default', ips } });
  const statusReasons = (plan: ReturnType<typeof planAll>) => plan.actions.flatMap((x) => (x.type === 'UpdateIPPoolStatus' ? [x.reason] : []));

  it('planning the same snapshot twice gives the same plan: its first bad entry, and the ranges of the others kept from dynamic allocation', () => {
    const snapshot = snapshotOf(objects('s.yaml', subnetObject('ovn-default', '10.16.0.0/16')), pool(['10.16.0.2..10.16.0.3', '10.16.0.x', '10.16.0.y']), pod('dynamic', {}));
    const plans = [planAll(snapshot, OPTIONS), planAll(snapshot, OPTIONS)];
    for (const plan of plans) {
      expect(statusReasons(plan)).toEqual(['mark it not ready: ippool p: spec.ips[1]: "10.16.0.x" is not an IP address']);
      expect(plan.allocations.map((x) => x.ipAddress)).toEqual(['10.16.0.4']);
    }
  });
});
