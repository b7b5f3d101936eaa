// Overlapping Subnets never give one address to two live pods (issue 14, item 2). Two OVN
// Subnets created in the same second (creationTimestamp has second precision) used to be
// ordered by input order: a watch delivers them as created, a re-list by name, so a restart
// could flip the winner and hand the address a pod of the old winner holds to a pod of the
// new one. The winner is now decided by creation time, then claims held, then our Ready
// record, then the name (never input order); and a claim that cannot be kept in its own Subnet
// keeps its address held wherever the address now falls.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare, releasePodWith } from '../../../src/domain/IncrementalPlanner.js';
import { planOvnAudit } from '../../../src/domain/OvnPorts.js';
import type { Plan } from '../../../src/domain/Plan.js';
import { buildContext } from '../../../src/domain/PlanContext.js';
import type { RawDocument, Snapshot } from '../../../src/domain/Snapshot.js';
import { applyActions } from './apply.js';
import { actionsOfType, ipObject, objects, podObject, snapshotOf } from './snapshots.js';

const OPTIONS = { now: 0 };
const SECOND = '2024-05-01T10:00:00Z';
const LATER = '2024-05-01T10:00:01Z';

type Status = 'ready' | 'failed' | 'foreign' | 'none';

const statusOf = (s: Status): unknown =>
  s === 'ready' ? { conditions: [{ type: 'Ready', status: 'True', reason: 'Validated', message: '' }] }
  : s === 'failed' ? { conditions: [{ type: 'Ready', status: 'False', reason: 'ValidationFailed', message: 'an earlier verdict' }] }
  : s === 'foreign' ? { conditions: [{ type: 'Ready', status: 'True', reason: 'SomebodyElse', message: '' }] }
  : undefined;

const subnetAt = (name: string, cidrBlock: string, o: { readonly at?: string | undefined; readonly status?: Status; readonly provider?: string } = {}): unknown => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Subnet',
  metadata: { name, ...(o.at !== undefined && { creationTimestamp: o.at }) },
  spec: { cidrBlock, provider: o.provider ?? 'ovn' },
  ...(o.status !== undefined && o.status !== 'none' && { status: statusOf(o.status) }),
});

/** A pod the controller allocated: annotations with `allocated: "true"` and its IP object. */
const allocated = (name: string, subnet: string, address: string, provider = 'ovn'): unknown[] => {
  const p = provider === 'ovn' ? 'ovn' : provider;
  const annotations: Record<string, string> = {
    ...(provider !== 'ovn' && { 'k8s.v1.cni.cncf.io/networks': 'macvlan' }),
    [`${p}.kubernetes.io/ip_address`]: address,
    [`${p}.kubernetes.io/logical_switch`]: subnet,
    [`${p}.kubernetes.io/allocated`]: 'true',
  };
  return [
    podObject(name, { uid: `u-${name}`, annotations }),
    ipObject(provider === 'ovn' ? `${name}.default` : `${name}.default.${provider}`, name, subnet, address, { podUid: `u-${name}` }),
  ];
};

const wants = (name: string, subnet: string, extra: Record<string, string> = {}): unknown =>
  podObject(name, { uid: `u-${name}`, annotations: { 'ovn.kubernetes.io/logical_switch': subnet, ...extra } });

const validity = (snapshot: Snapshot): Record<string, string> =>
  Object.fromEntries([...buildContext(snapshot).subnets].map(([name, r]) => [name, E.isRight(r) ? 'ok' : r.left.problems.map((p) => p.code).join(',')]));

const winners = (snapshot: Snapshot): string[] => Object.entries(validity(snapshot)).filter(([, v]) => v === 'ok').map(([k]) => k).sort();

describe('the overlap winner: creation time, then claims held, then our Ready record, then the name', () => {
  it.each([
    ['an earlier creation time wins, whatever the names', [subnetAt('aa-second', '10.50.0.0/25', { at: LATER }), subnetAt('zz-first', '10.50.0.0/24', { at: SECOND })], ['zz-first']],
    ['the same second, nothing else: the name', [subnetAt('zz-first', '10.50.0.0/24', { at: SECOND }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND })], ['aa-second']],
    ['the same second: the Subnet that holds claims', [subnetAt('zz-first', '10.50.0.0/24', { at: SECOND }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }), ...allocated('in-zz', 'zz-first', '10.50.0.2')], ['zz-first']],
    ['a claim outside the overlap still counts', [subnetAt('zz-first', '10.50.0.0/24', { at: SECOND }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }), ...allocated('in-zz', 'zz-first', '10.50.0.200')], ['zz-first']],
    ['the same second, no claims: the one we recorded Ready', [subnetAt('zz-first', '10.50.0.0/24', { at: SECOND, status: 'ready' }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND, status: 'failed' })], ['zz-first']],
    ['a Ready condition not written by us does not count', [subnetAt('zz-first', '10.50.0.0/24', { at: SECOND, status: 'foreign' }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND })], ['aa-second']],
    ['claims come before the Ready record', [subnetAt('zz-first', '10.50.0.0/24', { at: SECOND }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND, status: 'ready' }), ...allocated('in-zz', 'zz-first', '10.50.0.2')], ['zz-first']],
    ['creation time comes before claims', [subnetAt('zz-first', '10.50.0.0/24', { at: LATER }), subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }), ...allocated('in-zz', 'zz-first', '10.50.0.2')], ['aa-second']],
    ['without a creation time a Subnet comes last', [subnetAt('aa-second', '10.50.0.0/25'), subnetAt('zz-first', '10.50.0.0/24', { at: LATER })], ['zz-first']],
    ['two of one provider', [subnetAt('zz', '172.17.0.0/24', { at: SECOND, provider: 'macvlan.default' }), subnetAt('aa', '172.17.0.0/25', { at: SECOND, provider: 'macvlan.default' }), ...allocated('m', 'zz', '172.17.0.9', 'macvlan.default')], ['zz']],
  ])('%s', (_name, values, expected) => {
    expect(winners(snapshotOf(objects('s.yaml', ...values)))).toEqual(expected);
    expect(winners(snapshotOf(objects('s.yaml', ...[...values].reverse())))).toEqual(expected);
  });
});

// The scenario as the restarted controller reads it: Subnets listed by name.
const afterRestart = (): RawDocument[] => objects('cluster.yaml',
  subnetAt('aa-second', '10.50.0.0/25', { at: SECOND, status: 'failed' }),
  subnetAt('zz-first', '10.50.0.0/24', { at: SECOND, status: 'ready' }),
  ...allocated('in-zz', 'zz-first', '10.50.0.2'),
  wants('in-aa', 'aa-second'),
  wants('more-zz', 'zz-first'));

describe('the issue\'s restart: the winner the first controller acted on stays the winner', () => {
  it('in-zz keeps 10.50.0.2, in-aa gets SubnetInvalid, zz-first goes on allocating', () => {
    const plan = planAll(snapshotOf(afterRestart()), OPTIONS);
    expect(plan.errors.map((e) => `${e.pod} ${e.code}`)).toEqual(['default/in-aa SubnetInvalid']);
    expect(plan.errors[0]!.message).toBe('pod default/in-aa eth0 (ovn): subnet aa-second is invalid: spec.cidrBlock: 10.50.0.0/25 overlaps 10.50.0.0/24 of subnet zz-first (both are OVN subnets) (named by annotation ovn.kubernetes.io/logical_switch)');
    expect(plan.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress} ${a.source}`)).toEqual([
      'default/in-zz zz-first 10.50.0.2 existing',
      'default/more-zz zz-first 10.50.0.3 dynamic',
    ]);
  });

  it('the controller\'s incremental planner agrees', () => {
    const snapshot = snapshotOf(afterRestart());
    const state = prepare(snapshot, OPTIONS);
    expect(planPodWith(state, snapshot, 'default/in-aa', OPTIONS).plan.errors.map((e) => e.code)).toEqual(['SubnetInvalid']);
    expect(planPodWith(state, snapshot, 'default/more-zz', OPTIONS).plan.allocations.map((a) => a.ipAddress)).toEqual(['10.50.0.3']);
  });
});

// A claim that cannot be kept where it is: here zz-first was created a second later, so it
// loses even though in-zz holds 10.50.0.2 in it (as a cluster left by the old rule may be).
const loserHolds = (): RawDocument[] => objects('cluster.yaml',
  subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }),
  subnetAt('zz-first', '10.50.0.0/24', { at: LATER }),
  ...allocated('in-zz', 'zz-first', '10.50.0.2'),
  wants('in-aa', 'aa-second'),
  wants('static-aa', 'aa-second', { 'ovn.kubernetes.io/ip_address': '10.50.0.2' }));

const HELD = 'existing allocation 10.50.0.2 in subnet zz-first cannot be kept: subnet zz-first does not exist or is invalid; the address stays held (in subnet aa-second) so no other pod is given it';

describe('an address a live pod holds is never given to another, whatever the Subnets say', () => {
  it('the loser\'s pod gets ClaimConflict and keeps its address; nobody else is given it', () => {
    const plan = planAll(snapshotOf(loserHolds()), OPTIONS);
    expect(plan.errors.map((e) => `${e.pod} ${e.code}: ${e.message}`)).toEqual([
      `default/in-zz ClaimConflict: pod default/in-zz eth0 (ovn): ${HELD}`,
      'default/static-aa AddressConflict: pod default/static-aa eth0 (ovn): 10.50.0.2 is already held by default/in-zz in subnet aa-second (10.50.0.0/25)',
    ]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress}`)).toEqual(['default/in-aa aa-second 10.50.0.3']);
    // Nothing of in-zz is rewritten: no IP object, no annotations.
    expect(plan.actions.filter((a) => a.target.includes('in-zz') && a.type !== 'EmitEvent')).toEqual([]);
    // The address counts as used in the Subnet that holds it.
    const status = actionsOfType(plan, 'UpdateSubnetStatus').find((a) => a.target === 'aa-second')!.status;
    expect([status.v4usingIPrange, status.v4usingIPs]).toEqual(['10.50.0.2-10.50.0.3', 2]);
  });

  it.each([
    ['its Subnet was deleted', [subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }), ...allocated('in-zz', 'zz-first', '10.50.0.2'), wants('in-aa', 'aa-second')],
      'existing allocation 10.50.0.2 in subnet zz-first cannot be kept: subnet zz-first does not exist or is invalid; the address stays held (in subnet aa-second) so no other pod is given it'],
    ['its Subnet\'s CIDR moved away', [subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }), subnetAt('zz-first', '10.60.0.0/24', { at: SECOND }), ...allocated('in-zz', 'zz-first', '10.50.0.2'), wants('in-aa', 'aa-second')],
      'existing allocation 10.50.0.2 in subnet zz-first cannot be kept: 10.50.0.2 is not a host address of subnet zz-first (10.60.0.0/24); the address stays held (in subnet aa-second) so no other pod is given it'],
    ['its Subnet became invalid', [subnetAt('aa-second', '10.50.0.0/25', { at: SECOND }), { ...(subnetAt('zz-first', '10.50.0.0/33') as object) }, ...allocated('in-zz', 'zz-first', '10.50.0.2'), wants('in-aa', 'aa-second')],
      'existing allocation 10.50.0.2 in subnet zz-first cannot be kept: subnet zz-first does not exist or is invalid; the address stays held (in subnet aa-second) so no other pod is given it'],
  ])('%s', (_name, values, message) => {
    const plan = planAll(snapshotOf(objects('cluster.yaml', ...values)), OPTIONS);
    expect(plan.errors.filter((e) => e.code === 'ClaimConflict').map((e) => e.message)).toEqual([`pod default/in-zz eth0 (ovn): ${message}`]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress}`)).toEqual(['default/in-aa 10.50.0.3']);
  });

  it('an IPAM-only claim is held only by Subnets of its provider: an OVN Subnet may use the address', () => {
    const plan = planAll(snapshotOf(objects('cluster.yaml',
      subnetAt('mac-a', '172.17.0.0/25', { at: SECOND, provider: 'macvlan.default' }),
      subnetAt('mac-z', '172.17.0.0/24', { at: LATER, provider: 'macvlan.default' }),
      subnetAt('ovn-default', '172.17.0.0/24', { at: SECOND }),
      ...allocated('m', 'mac-z', '172.17.0.2', 'macvlan.default'),
      { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan', namespace: 'default' }, spec: { config: '{"cniVersion":"0.3.1","type":"macvlan","ipam":{"type":"kube-ovn","provider":"macvlan.default"}}' } },
      podObject('n', { uid: 'u-n', annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan', 'macvlan.default.kubernetes.io/logical_switch': 'mac-a' } }))), OPTIONS);
    expect(plan.errors.map((e) => `${e.pod} ${e.interface} ${e.code}`)).toEqual(['default/m net1 ClaimConflict']);
    expect(plan.allocations.map((a) => `${a.pod} ${a.interface} ${a.subnet} ${a.ipAddress}`)).toEqual([
      'default/m eth0 ovn-default 172.17.0.2',
      'default/n eth0 ovn-default 172.17.0.3',
      'default/n net1 mac-a 172.17.0.3',
    ]);
  });

  it('the controller: prepare holds it, a new pod skips it, the loser pod\'s deletion frees it', () => {
    const snapshot = snapshotOf(loserHolds());
    const state = prepare(snapshot, OPTIONS);
    const zz = planPodWith(state, snapshot, 'default/in-zz', OPTIONS).plan;
    expect(zz.errors.map((e) => e.message)).toEqual([`pod default/in-zz eth0 (ovn): ${HELD}`]);
    expect(zz.actions.map((a) => a.type)).toEqual(['EmitEvent']);
    expect(planPodWith(state, snapshot, 'default/in-aa', OPTIONS).plan.allocations.map((a) => a.ipAddress)).toEqual(['10.50.0.3']);
    const pod = snapshot.pods.get('default/in-zz')!.object;
    const gone = releasePodWith(state, snapshot, pod, OPTIONS);
    expect(gone.plan.actions.map((a) => `${a.type} ${a.target}`)).toEqual(['DeleteIP in-zz.default', 'UpdateSubnetStatus aa-second', 'UpdateSubnetStatus zz-first']);
    expect(gone.state.ipam.subnets.get('aa-second')!.v4!.used.get(0x0a320002n)).toBeUndefined();
  });

  it('with OVN, the held address gets no port on the Subnet that holds it', () => {
    const snapshot = snapshotOf(loserHolds());
    const state = prepare(snapshot, { ...OPTIONS, ovn: true });
    expect(planOvnAudit(state.ctx, state.ipam, { ports: [], switches: [] }).filter((a) => a.target === 'in-zz.default')).toEqual([]);
    expect(planPodWith(state, snapshot, 'default/in-zz', { ...OPTIONS, ovn: true }).plan.actions.map((a) => a.type)).toEqual(['EmitEvent']);
  });
});

// ---- the property ------------------------------------------------------------------------------

const CIDRS = ['10.50.0.0/24', '10.50.0.0/25', '10.50.0.128/26', '10.50.0.0/28', '10.50.1.0/24'] as const;
const TIMES = [SECOND, LATER, undefined] as const;

interface World {
  readonly subnets: readonly { readonly cidr: string; readonly at: string | undefined; readonly status: Status }[];
  /** Existing allocations: subnet index and host number; made distinct below. */
  readonly claims: readonly { readonly subnet: number; readonly host: number }[];
  /** New pods: subnet index, and a static host or none. */
  readonly pods: readonly { readonly subnet: number; readonly host: number | null }[];
}

const world: fc.Arbitrary<World> = fc.record({
  subnets: fc.array(fc.record({ cidr: fc.constantFrom(...CIDRS), at: fc.constantFrom(...TIMES), status: fc.constantFrom<Status>('ready', 'failed', 'foreign', 'none') }), { minLength: 2, maxLength: 4 }),
  claims: fc.array(fc.record({ subnet: fc.nat(3), host: fc.integer({ min: 2, max: 20 }) }), { maxLength: 6 }),
  pods: fc.array(fc.record({ subnet: fc.nat(3), host: fc.option(fc.integer({ min: 2, max: 20 })) }), { maxLength: 6 }),
});

/** The world's objects; existing claims hold distinct addresses (no duplicate to begin with). */
const worldDocs = (w: World): unknown[] => {
  const names = w.subnets.map((_, i) => `s${i}`);
  const base = (i: number): string => w.subnets[i % w.subnets.length]!.cidr.split('/')[0]!.split('.').slice(0, 3).join('.');
  const offset = (i: number): number => Number(w.subnets[i % w.subnets.length]!.cidr.split('/')[0]!.split('.')[3]);
  const seen = new Set<string>();
  const claims = w.claims.flatMap((c, k) => {
    const address = `${base(c.subnet)}.${offset(c.subnet) + c.host}`;
    if (seen.has(address)) return [];
    seen.add(address);
    return allocated(`old-${k}`, names[c.subnet % names.length]!, address);
  });
  const pods = w.pods.map((p, k) => wants(`new-${k}`, names[p.subnet % names.length]!,
    p.host === null ? {} : { 'ovn.kubernetes.io/ip_address': `${base(p.subnet)}.${offset(p.subnet) + p.host}` }));
  return [...w.subnets.map((s, i) => subnetAt(names[i]!, s.cidr, { at: s.at, status: s.status })), ...claims, ...pods];
};

/** Every address a live pod holds after the plan: its allocation, or (when its claim was not
 *  kept) the address its annotations still carry. */
const heldAddresses = (snapshot: Snapshot, plan: Plan): string[] => {
  const allocated = new Map(plan.allocations.map((a) => [a.pod, a.ipAddress]));
  for (const e of plan.errors) {
    if (e.code !== 'ClaimConflict') continue;
    allocated.set(e.pod, snapshot.pods.get(e.pod)!.object.metadata.annotations!['ovn.kubernetes.io/ip_address']!);
  }
  return [...allocated.values()];
};

const shuffled = <A>(values: readonly A[], seed: number): A[] => {
  const out = [...values];
  let x = seed || 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

describe('whatever the order of Subnets and claims, the winner is the same and no address is held twice (fast-check)', () => {
  it('planAll, in any input order, and again after its plan is applied', () => {
    fc.assert(fc.property(world, fc.integer(), (w, seed) => {
      const docs = worldDocs(w);
      const a = snapshotOf(objects('a.yaml', ...docs));
      const b = snapshotOf(objects('b.yaml', ...shuffled(docs, seed)));
      expect(validity(b)).toEqual(validity(a));
      for (const snapshot of [a, b]) {
        const plan = planAll(snapshot, OPTIONS);
        const held = heldAddresses(snapshot, plan);
        expect(held.length).toBe(new Set(held).size);
        const next = applyActions(snapshot, plan.actions);
        expect(winners(next)).toEqual(winners(snapshot));
        const again = planAll(next, OPTIONS);
        const heldAgain = heldAddresses(next, again);
        expect(heldAgain.length).toBe(new Set(heldAgain).size);
        expect(again.allocations.filter((x) => x.source !== 'existing')).toEqual([]);
      }
    }), { numRuns: 500 });
  });

  it('the controller\'s planner: prepare, then pods one at a time in any order', () => {
    fc.assert(fc.property(world, fc.integer(), (w, seed) => {
      const snapshot = snapshotOf(objects('a.yaml', ...shuffled(worldDocs(w), seed)));
      let state = prepare(snapshot, OPTIONS);
      const plans: Plan[] = [];
      for (const key of shuffled([...snapshot.pods.keys()], seed + 1)) {
        const r = planPodWith(state, snapshot, key, OPTIONS);
        plans.push(r.plan);
        state = r.state;
      }
      const merged: Plan = { allocations: plans.flatMap((p) => p.allocations), actions: [], errors: plans.flatMap((p) => p.errors) };
      const held = heldAddresses(snapshot, merged);
      expect(held.length).toBe(new Set(held).size);
    }), { numRuns: 500 });
  });
});
