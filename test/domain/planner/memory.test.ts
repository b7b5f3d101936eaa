// The allocator's memory across restarts (AllocatorMemory.ts, issue #14 item 3): the record the
// Subnet status carries lets a restart's prepare (and `plan`) pick as the running planner would:
// never-used first, released last, each only after its cooldown.
import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { allocateAll, release } from '../../../src/domain/Allocator.js';
import { FILL_BOUND, MEMORY_BOUND, memoryMatches, memoryOf, releasedOf, restoreMemoryIn } from '../../../src/domain/AllocatorMemory.js';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import type { PlannerState } from '../../../src/domain/IncrementalPlanner.js';
import { planPodWith, prepare, releasePodWith, subnetStatusWith } from '../../../src/domain/IncrementalPlanner.js';
import { emptyState } from '../../../src/domain/IpamState.js';
import type { PlanOptions } from '../../../src/domain/ClusterPlanner.js';
import type { Pod } from '../../../src/domain/schema/kube.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';
import { Draft } from '../../../src/domain/Draft.js';
import { addr, request, subnet } from '../fixtures.js';
import { applyActions } from './apply.js';
import { objects, pod, podObject, snapshotOf, subnetObject } from './snapshots.js';

const COOLDOWN = 300_000;
const T0 = 1_765_000_000_000; // a (made-up) wall clock, as data
const at = (ms: number): PlanOptions => ({ now: T0 + ms, cooldownMs: COOLDOWN });
const tiny = () => objects('subnets.yaml', subnetObject('ovn-default', '10.9.0.0/29')); // hosts .2-.6 (.1 gateway)
const without = (snapshot: Snapshot, key: string): Snapshot => ({ ...snapshot, pods: new Map([...snapshot.pods].filter(([k]) => k !== key)) });
const withPods = (snapshot: Snapshot, ...names: string[]): Snapshot => {
  const extra = snapshotOf(...names.map((n) => pod(n, { uid: `uid-${n}` })));
  return { ...snapshot, pods: new Map([...snapshot.pods, ...extra.pods]) };
};
const withStatus = (snapshot: Snapshot, allocator: unknown): Snapshot => {
  const e = snapshot.subnets.get('ovn-default')!;
  return { ...snapshot, subnets: new Map([['ovn-default', { ...e, object: { ...e.object, status: { ...e.object.status, allocator } } }]]) };
};

/** Plans (and applies) pods one by one with the running planner; returns the addresses (or
 *  error codes). */
const run = (ps: PlannerState, snapshot: Snapshot, names: readonly string[], options: PlanOptions) => {
  let state = ps;
  let snap = withPods(snapshot, ...names);
  const given: string[] = [];
  for (const n of names) {
    const r = planPodWith(state, snap, `default/${n}`, options);
    state = r.state;
    snap = applyActions(snap, r.plan.actions);
    // As the SubnetReconciler does after each allocation: the Subnet's status, from the state.
    const status = subnetStatusWith(state, snap, 'ovn-default');
    if (status !== undefined) snap = applyActions(snap, [status]);
    given.push(...r.plan.allocations.map((a) => a.ipAddress), ...r.plan.errors.map((e) => e.code));
  }
  return { state, snap, given };
};

/** The story: a gets .2, a is deleted (released at +1s), d gets .3; the snapshot then. */
const story = () => {
  const first = run(prepare(snapshotOf(tiny()), at(0)), snapshotOf(tiny()), ['a'], at(0));
  const released = releasePodWith(first.state, without(first.snap, 'default/a'), podObject('a', { uid: 'uid-a' }) as Pod, at(1000));
  const afterRelease = applyActions(without(first.snap, 'default/a'), released.plan.actions);
  const d = run(released.state, afterRelease, ['d'], at(2000));
  return { first, d };
};

describe('allocator memory in the Subnet status', () => {
  it('the story: a .2, d .3 (never-used first); the status records .2 as released and .3 as used up to', () => {
    const { first, d } = story();
    expect([...first.given, ...d.given]).toEqual(['10.9.0.2', '10.9.0.3']);
    expect(d.snap.subnets.get('ovn-default')!.object.status?.allocator).toEqual({ v4: { usedUpTo: '10.9.0.3', released: [{ ip: '10.9.0.2', at: T0 + 1000 }] } });
  });

  it.each([
    // [what, pods after the restart, the time, what the running planner and a restart both give]
    ['the next never-used address, not the released one', ['e'], 3000, ['10.9.0.4']],
    ['the released one rests while in cooldown', ['e', 'f', 'g', 'h'], 3000, ['10.9.0.4', '10.9.0.5', '10.9.0.6', 'NoAvailableAddress']],
    ['and is reused once it has passed', ['e', 'f', 'g', 'h'], 1000 + COOLDOWN, ['10.9.0.4', '10.9.0.5', '10.9.0.6', '10.9.0.2']],
  ])('%s: running and restarted planner agree', (_what, pods, ms, expected) => {
    const { d } = story();
    expect(run(d.state, d.snap, pods, at(ms)).given).toEqual(expected);
    expect(run(prepare(d.snap, at(ms)), d.snap, pods, at(ms)).given).toEqual(expected);
    expect(planAll(withPods(d.snap, ...pods), at(ms)).allocations.filter((a) => a.source !== 'existing').map((a) => a.ipAddress)).toEqual(expected.filter((x) => x.startsWith('10.')));
  });

  it('without the record (the old behaviour) a restart hands out the released .2 at once', () => {
    const { d } = story();
    const forgotten = withStatus(d.snap, undefined);
    expect(run(prepare(forgotten, at(3000)), forgotten, ['e'], at(3000)).given).toEqual(['10.9.0.2']);
  });

  it('a restart restores exactly the record: no status write follows', () => {
    const { d } = story();
    expect(subnetStatusWith(prepare(d.snap, at(3000)), d.snap, 'ovn-default')).toBeUndefined();
  });

  it.each([
    ['not an object', 'garbage', 'status.allocator is not an object'],
    ['a bad address', { v4: { usedUpTo: 'x' } }, 'status.allocator.v4.usedUpTo "x" is not an IPv4 address'],
    ['a bad entry', { v4: { released: [{ ip: '10.9.0.2', at: 'soon' }] } }, 'status.allocator.v4.released has an unreadable entry {"ip":"10.9.0.2","at":"soon"}'],
  ])('an unreadable record (%s) is ignored and reported, never a crash', (_what, allocator, message) => {
    const { d } = story();
    const broken = withStatus(d.snap, allocator);
    const ps = prepare(broken, at(3000));
    expect(ps.unreadable).toEqual([{ subnet: 'ovn-default', message }]);
    expect(run(ps, broken, ['e'], at(3000)).given).toEqual(['10.9.0.2']);
  });

  it(`the record is bounded: at most ${MEMORY_BOUND} releases, newest first; older ones come back as released long ago`, () => {
    const s = subnet('big', { cidrBlock: '10.20.0.0/22' });
    const names = Array.from({ length: 300 }, (_, i) => `p${i}`);
    const allocated = allocateAll(emptyState([s], { cooldownMs: COOLDOWN }), names.map((n) => request(n, 'big')));
    expect(allocated.results.every(E.isRight)).toBe(true);
    const state = names.reduce((st, n, i) => release(st, `${n}/ovn`, T0 + i), allocated.state);
    const memory = memoryOf(state, 'big')!;
    expect(memory.v4?.usedUpTo).toBe('10.20.1.45'); // 300 addresses from .0.2 (gateway .0.1)
    expect(memory.v4?.released?.length).toBe(MEMORY_BOUND);
    expect(memory.v4?.released?.[0]).toEqual({ ip: '10.20.1.45', at: T0 + 299 });
    expect(memory.v4?.released?.[MEMORY_BOUND - 1]).toEqual({ ip: '10.20.0.46', at: T0 + 44 });
    const d = new Draft(emptyState([s], { cooldownMs: COOLDOWN }));
    expect(restoreMemoryIn(d, 'big', memory)).toBeUndefined();
    const restored = releasedOf(d.commit(), 'big', 4);
    expect([restored.size, restored.get(addr('10.20.0.45').value), restored.get(addr('10.20.0.46').value), restored.get(addr('10.20.1.45').value)]).toEqual([300, 0, T0 + 44, T0 + 299]);
  });

  it('dual-stack: each family remembers on its own', () => {
    const dual = () => objects('subnets.yaml', subnetObject('ovn-default', '10.9.0.0/29,fd00::/125', 'ovn', { protocol: 'Dual' }));
    const first = run(prepare(snapshotOf(dual()), at(0)), snapshotOf(dual()), ['a'], at(0));
    const released = releasePodWith(first.state, without(first.snap, 'default/a'), podObject('a', { uid: 'uid-a' }) as Pod, at(1000));
    const d = run(released.state, applyActions(without(first.snap, 'default/a'), released.plan.actions), ['d'], at(2000));
    expect(d.snap.subnets.get('ovn-default')!.object.status?.allocator).toEqual({
      v4: { usedUpTo: '10.9.0.3', released: [{ ip: '10.9.0.2', at: T0 + 1000 }] },
      v6: { usedUpTo: 'fd00::3', released: [{ ip: 'fd00::2', at: T0 + 1000 }] },
    });
    expect(run(prepare(d.snap, at(3000)), d.snap, ['e'], at(3000)).given).toEqual(['10.9.0.4,fd00::4']);
  });

  it(`restoring is bounded: at most ${FILL_BOUND} addresses up to usedUpTo, then the mark stops`, () => {
    const wide = objects('subnets.yaml', subnetObject('ovn-default', '10.0.0.0/15'));
    const snap = withStatus(snapshotOf(wide), { v4: { usedUpTo: '10.1.255.254' } });
    const ps = prepare(snap, at(0));
    // 10.0.0.2 (after the gateway) and the 65,535 addresses after it are restored as released.
    expect(run(ps, snap, ['e'], at(0)).given).toEqual(['10.1.0.2']);
    expect(memoryOf(ps.ipam, 'ovn-default')).toEqual({ v4: { usedUpTo: '10.1.0.1', released: [] } });
  });

  it.each([
    ['the same record in another key order', { v4: { released: [{ at: T0, ip: '10.9.0.2' }], usedUpTo: '10.9.0.3' } }, true],
    ['a family the Subnet lost (left by a merge patch) does not count', { v4: { usedUpTo: '10.9.0.3', released: [{ ip: '10.9.0.2', at: T0 }] }, v6: { usedUpTo: 'fd00::9', released: [] } }, true],
    ['a stale release list (a merge patch must name released: [])', { v4: { usedUpTo: '10.9.0.3', released: [{ ip: '10.9.0.4', at: T0 }] } }, false],
    ['none', undefined, false],
  ])('does the status say the record? %s', (_what, current, same) => {
    expect(memoryMatches(current, { v4: { usedUpTo: '10.9.0.3', released: [{ ip: '10.9.0.2', at: T0 }] } })).toBe(same);
  });

  it('a Subnet that never released anything carries no record', () => {
    const first = run(prepare(snapshotOf(tiny()), at(0)), snapshotOf(tiny()), ['a', 'b'], at(0));
    expect(first.snap.subnets.get('ovn-default')!.object.status?.allocator).toBeUndefined();
  });
});
