// Invariants of planAll over random small snapshots (STYLE rule 8): no two interfaces of one
// subnet share an address or a MAC (simulated pods included), the plan is deterministic, and
// the plan converges: applying it and planning again allocates nothing new.
// The snapshots: an OVN default subnet, a tiny OVN subnet (exhaustion), a dual-stack OVN
// subnet, an IPAM-only macvlan subnet, an OVN attachment subnet, sometimes an overlapping
// (invalid) one and an IPPool (sometimes binding namespace default); NADs of both kinds plus an unmanaged one and a missing one;
// random pods with random networks, static addresses, pools, MACs, subnets and creation
// times; sometimes a Deployment and a StatefulSet (with some of its pods present). A last
// property deletes and recreates pods and rescales the StatefulSet after a plan was applied.
// Inputs of past bugs (regressions.test.ts), such as a NAD attached twice, are generated too.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../../../src/domain/IncrementalPlanner.js';
import { inCreationOrder } from '../../../src/domain/PlanContext.js';
import type { Plan } from '../../../src/domain/Plan.js';
import { isAllocationAction } from '../../../src/domain/Plan.js';
import type { RawDocument, Snapshot } from '../../../src/domain/Snapshot.js';
import { buildSnapshot } from '../../../src/domain/Snapshot.js';
import { applyActions } from './apply.js';
import { deploymentObject, nadObject, objects, podObject, statefulSetObject, subnetObject } from './snapshots.js';

const RUNS = { numRuns: 1000 };
const OPTIONS = { now: 0 };

const PROVIDERS = {
  ovn: {
    addresses: ['10.16.0.2', '10.16.0.3', '10.16.0.5', '10.16.0.1', '10.20.0.2', '10.20.0.3', '10.30.0.2', 'fd00:30::2', '10.30.0.3,fd00:30::3', '10.99.0.1'],
    switches: ['ovn-default', 'tiny', 'tiny', 'dual', 'dual', 'overlap', 'nope', 'macvlan'],
  },
  'macvlan.default': {
    addresses: ['172.17.0.3', '172.17.0.4', '172.17.0.5', '172.17.0.1', '172.17.1.9'],
    switches: ['macvlan', 'macvlan', 'macvlan', 'tiny'],
  },
  'attachnet.default.ovn': {
    addresses: ['192.168.0.2', '192.168.0.3', '192.168.0.4', '192.168.1.1'],
    switches: ['attach', 'tiny', 'tiny', 'dual', 'dual'],
  },
} as const;
type Provider = keyof typeof PROVIDERS;

/** The IPPool each provider's `ip_pool` may name (see bugs.test.ts for why a missing IPPool is
 *  not generated for the IPAM-only network). */
const POOL_NAMES: Readonly<Record<Provider, string>> = { ovn: 'pool1', 'macvlan.default': 'mvpool', 'attachnet.default.ovn': 'pool1' };

const MACS = ['02:00:00:00:00:01', '02:00:00:00:00:02', '00:00:00:53:6B:BB'];

/** `arb` one time in `1 + absent`, else undefined. */
const sometimes = <A>(arb: fc.Arbitrary<A>, absent: number): fc.Arbitrary<A | undefined> =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** Mostly good values, now and then a malformed one. */
const mostly = <A>(good: readonly A[], bad: A): fc.Arbitrary<A> =>
  fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constant(bad) });

/** The annotations of one network: each key now and then, values from small sets. */
const networkAnnotations = (provider: Provider): fc.Arbitrary<Record<string, string>> => {
  const { addresses, switches } = PROVIDERS[provider];
  const singles = addresses.filter((a) => !a.includes(','));
  return fc
    .record({
      ip_address: sometimes(mostly(addresses, '10.16.0.300'), 3),
      ip_pool: sometimes(
        fc.oneof(
          { weight: 4, arbitrary: fc.uniqueArray(fc.constantFrom(...singles), { minLength: 1, maxLength: 3 }).map((xs) => xs.join(',')) },
          { weight: 1, arbitrary: fc.constant(POOL_NAMES[provider]) },
        ),
        5,
      ),
      mac_address: sometimes(mostly(MACS, 'zz:zz'), 5),
      logical_switch: sometimes(fc.constantFrom(...switches), 1),
      ip_family: sometimes(fc.constantFrom('ipv4', 'ipv6'), 8),
    })
    .map((r) => Object.fromEntries(Object.entries(r).flatMap(([k, v]) => (v === undefined ? [] : [[`${provider}.kubernetes.io/${k}`, v]]))));
};

/** Attachments in list order, mostly ours; `other` is not ours, `ghost` has no NAD; now and
 *  then one of ours is attached a second time. */
const networksList = fc
  .tuple(fc.subarray(['macvlan', 'attachnet']), sometimes(fc.constantFrom('other', 'ghost'), 8), sometimes(fc.constantFrom('macvlan', 'attachnet'), 6))
  .chain(([ours, odd, again]) =>
    fc.shuffledSubarray([...ours, ...(odd !== undefined ? [odd] : [])], { minLength: ours.length + (odd !== undefined ? 1 : 0) }).map((xs) => (again !== undefined ? [...xs, again] : xs)),
  );

const podAnnotations = fc
  .record({
    networks: networksList,
    ovn: sometimes(networkAnnotations('ovn'), 1),
    macvlan: sometimes(networkAnnotations('macvlan.default'), 1),
    attach: sometimes(networkAnnotations('attachnet.default.ovn'), 1),
  })
  .map((r) => ({
    ...(r.networks.length > 0 ? { 'k8s.v1.cni.cncf.io/networks': r.networks.join(',') } : {}),
    ...r.ovn, ...r.macvlan, ...r.attach,
  }));

const TIMES = [undefined, '2024-01-01T00:00:00Z', '2024-01-01T00:00:01Z', '2024-01-01T00:00:02Z'] as const;

const podSpec = fc.record({
  annotations: podAnnotations,
  time: fc.constantFrom(...TIMES),
  uid: fc.boolean(),
});

const scenario = fc.record({
  pods: fc.array(podSpec, { maxLength: 7 }),
  overlap: fc.boolean(),
  /** No IPPool pool1, pool1 for pods naming it, or pool1 also binding namespace default. */
  pool: fc.constantFrom(false, true, 'bound' as const),
  deployment: fc.option(fc.record({ replicas: fc.integer({ min: 0, max: 3 }), recreate: fc.boolean(), annotations: podAnnotations }), { nil: undefined }),
  statefulSet: fc.option(
    fc.record({ replicas: fc.integer({ min: 0, max: 3 }), annotations: podAnnotations, present: fc.subarray([0, 1, 2, 3]) }),
    { nil: undefined },
  ),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never;

const documentsOf = (s: Scenario): RawDocument[] =>
  objects(
    'random.yaml',
    subnetObject('ovn-default', '10.16.0.0/24'),
    subnetObject('tiny', '10.20.0.0/29', 'ovn', { excludeIps: ['10.20.0.6'] }),
    subnetObject('dual', '10.30.0.0/28,fd00:30::/124'),
    subnetObject('macvlan', '172.17.0.0/29', 'macvlan.default', { excludeIps: ['172.17.0.1..172.17.0.2'] }),
    subnetObject('attach', '192.168.0.0/28', 'attachnet.default.ovn'),
    ...(s.overlap ? [subnetObject('overlap', '10.16.0.128/25')] : []),
    ...(s.pool !== false ? [{
      apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'pool1' },
      spec: { subnet: 'ovn-default', ips: ['10.16.0.40..10.16.0.41'], ...(s.pool === 'bound' ? { namespaces: ['default'] } : {}) },
    }] : []),
    { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'mvpool' }, spec: { subnet: 'macvlan', ips: ['172.17.0.5..172.17.0.6'] } },
    nadObject('macvlan', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } }),
    nadObject('attachnet', { cniVersion: '0.3.1', type: 'kube-ovn', provider: 'attachnet.default.ovn' }),
    nadObject('other', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'host-local', subnet: '10.1.0.0/24' } }),
    ...(s.deployment ? [deploymentObject('dep', s.deployment.replicas, s.deployment.annotations, s.deployment.recreate ? 'Recreate' : 'RollingUpdate')] : []),
    ...(s.statefulSet ? [statefulSetObject('web', s.statefulSet.replicas, s.statefulSet.annotations, 'uid-web')] : []),
    ...(s.statefulSet
      ? s.statefulSet.present.map((i) => podObject(`web-${i}`, { uid: `uid-web-${i}`, annotations: s.statefulSet!.annotations, statefulSet: { name: 'web', uid: 'uid-web' } }))
      : []),
    ...s.pods.map((p, i) => podObject(`p${i}`, {
      annotations: p.annotations,
      ...(p.uid ? { uid: `uid-p${i}` } : {}),
      ...(p.time !== undefined ? { creationTimestamp: p.time } : {}),
      nodeName: 'node1',
    })),
  );

const snapshotFrom = (docs: readonly RawDocument[]): Snapshot => {
  const { snapshot, problems } = buildSnapshot(docs);
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'));
  return snapshot;
};

const POD_INDICES = [0, 1, 2, 3, 4, 5, 6];

/** What happens to the cluster after a plan was applied: pods deleted, pods recreated under the
 *  same name with a new UID, the StatefulSet rescaled (its pods past the new size deleted) and
 *  some of its pods recreated. */
const churn = fc.record({
  deleted: fc.subarray(POD_INDICES),
  recreated: fc.subarray(POD_INDICES),
  stsReplicas: fc.integer({ min: 0, max: 4 }),
  stsRecreated: fc.subarray([0, 1, 2, 3]),
});
type Churn = typeof churn extends fc.Arbitrary<infer A> ? A : never;

const decodedPod = (value: unknown, key: string) => snapshotFrom(objects('churn.yaml', value)).pods.get(key)!.object;

const churned = (snapshot: Snapshot, s: Scenario, c: Churn): Snapshot => {
  const pods = new Map(snapshot.pods);
  const statefulsets = new Map(snapshot.statefulsets);
  s.pods.forEach((p, i) => {
    const key = `default/p${i}`;
    const e = pods.get(key);
    if (e === undefined) return;
    if (c.deleted.includes(i)) pods.delete(key);
    else if (c.recreated.includes(i)) {
      const fresh = podObject(`p${i}`, { annotations: p.annotations, uid: `uid-p${i}-again`, ...(p.time !== undefined ? { creationTimestamp: p.time } : {}), nodeName: 'node1' });
      pods.set(key, { ...e, object: decodedPod(fresh, key) });
    }
  });
  const sts = s.statefulSet;
  const stsEntry = snapshot.statefulsets.get('default/web');
  if (sts !== undefined && stsEntry !== undefined) {
    const rescaled = snapshotFrom(objects('churn.yaml', statefulSetObject('web', c.stsReplicas, sts.annotations, 'uid-web'))).statefulsets.get('default/web')!.object;
    statefulsets.set('default/web', { ...stsEntry, object: rescaled });
    for (const k of sts.present) {
      const key = `default/web-${k}`;
      const e = pods.get(key);
      if (e === undefined) continue;
      if (k >= c.stsReplicas) pods.delete(key);
      else if (c.stsRecreated.includes(k)) {
        const fresh = podObject(`web-${k}`, { uid: `uid-web-${k}-again`, annotations: sts.annotations, statefulSet: { name: 'web', uid: 'uid-web' } });
        pods.set(key, { ...e, object: decodedPod(fresh, key) });
      }
    }
  }
  return { ...snapshot, pods, statefulsets };
};

/** Every pair of interfaces of one subnet that share an address or a MAC, in words. */
const duplicatesOf = (plan: Plan): string[] => {
  const seen = new Map<string, string>();
  const dups: string[] = [];
  for (const a of plan.allocations) {
    const who = `${a.pod} ${a.interface}`;
    const keys = [...a.ipAddress.split(',').filter((x) => x !== '').map((x) => `ip ${x}`), ...(a.macAddress !== '' ? [`mac ${a.macAddress}`] : [])];
    for (const k of keys) {
      const key = `${a.subnet} ${k}`;
      const other = seen.get(key);
      if (other !== undefined) dups.push(`${key}: ${other} and ${who}`);
      else seen.set(key, who);
    }
  }
  return dups;
};

describe('planAll over random snapshots', () => {
  it('never gives two interfaces of one subnet the same address or the same MAC (simulated pods included)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(duplicatesOf(planAll(snapshotFrom(documentsOf(s)), OPTIONS))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('is deterministic: the same snapshot, the same documents decoded again, or given twice in the same order, give the same plan', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const docs = documentsOf(s);
        const snapshot = snapshotFrom(docs);
        const first = JSON.stringify(planAll(snapshot, OPTIONS));
        expect(JSON.stringify(planAll(snapshot, OPTIONS))).toBe(first);
        expect(JSON.stringify(planAll(snapshotFrom(documentsOf(s)), OPTIONS))).toBe(first);
        // Every object twice: the later copy replaces the earlier, and the order is the same.
        expect(JSON.stringify(planAll(snapshotFrom([...docs, ...docs]), OPTIONS))).toBe(first);
      }),
      RUNS,
    );
  });

  it('converges: after applying its own actions, a second plan has no allocation action, keeps every address and fails the same networks', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const snapshot = snapshotFrom(documentsOf(s));
        const first = planAll(snapshot, OPTIONS);
        const second = planAll(applyActions(snapshot, first.actions), OPTIONS);
        expect(second.actions.filter(isAllocationAction)).toEqual([]);
        const real = (p: Plan) => p.allocations.filter((a) => a.simulated === undefined).map((a) => ({ ...a, source: 'existing' }));
        expect(real(second)).toEqual(real(first));
        // The same networks still fail; the cause may read differently (a network that failed on
        // its MAC may now find its subnet full, filled by networks planned after it).
        const failing = (p: Plan) => p.errors.map((e) => `${e.pod} ${e.provider} ${e.interface ?? ''}`);
        expect(failing(second)).toEqual(failing(first));
      }),
      RUNS,
    );
  });

  it('converges fully: after applying, a second plan writes nothing at all (no IP, annotation, status or delete)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const snapshot = snapshotFrom(documentsOf(s));
        const first = planAll(snapshot, OPTIONS);
        const second = planAll(applyActions(snapshot, first.actions), OPTIONS);
        expect(second.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([]);
      }),
      RUNS,
    );
  });

  it('after churn (pods deleted or recreated, the StatefulSet rescaled) claims stay unique, gone pods are released, and the plan converges again', () => {
    fc.assert(
      fc.property(scenario, churn, (s, c) => {
        const snapshot = snapshotFrom(documentsOf(s));
        const applied = applyActions(snapshot, planAll(snapshot, OPTIONS).actions);
        const after = churned(applied, s, c);
        const plan = planAll(after, OPTIONS);
        expect(duplicatesOf(plan)).toEqual([]);
        const deletes = new Set(plan.actions.filter((a) => a.type === 'DeleteIP').map((a) => a.target));
        const released = [...after.ips.values()].map((e) => e.object)
          .filter((o) => c.deleted.some((i) => o.spec.podName === `p${i}`) || (s.statefulSet?.present ?? []).some((k) => k >= c.stsReplicas && o.spec.podName === `web-${k}`))
          .map((o) => o.metadata.name);
        const scaledDown = (s.statefulSet?.present ?? []).filter((k) => k >= c.stsReplicas).map((k) => `web-${k}`);
        const retained = [...after.ips.values()].map((e) => e.object).filter((o) => o.spec.podName.startsWith('web-') && !scaledDown.includes(o.spec.podName));
        expect(released.filter((name) => !deletes.has(name))).toEqual([]);
        expect(retained.map((o) => o.metadata.name).filter((name) => deletes.has(name))).toEqual([]);
        const again = planAll(applyActions(after, plan.actions), OPTIONS);
        expect(again.actions.filter((a) => a.type !== 'EmitEvent')).toEqual([]);
      }),
      RUNS,
    );
  });

  it('the controller\'s incremental planner (prepare, then one pod at a time) gives every pod what planAll gives it', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        // Without workloads to simulate: the controller plans only pods that exist.
        const snapshot = { ...snapshotFrom(documentsOf(s)), deployments: new Map(), replicasets: new Map(), statefulsets: new Map() };
        const full = planAll(snapshot, OPTIONS);
        let state = prepare(snapshot, OPTIONS);
        const allocations = [];
        const errors = [];
        for (const e of inCreationOrder(snapshot.pods.values())) {
          const r = planPodWith(state, snapshot, `${e.object.metadata.namespace}/${e.object.metadata.name}`, OPTIONS);
          state = r.state;
          allocations.push(...r.plan.allocations);
          errors.push(...r.plan.errors);
        }
        expect(allocations).toEqual(full.allocations);
        expect(errors).toEqual(full.errors);
      }),
      RUNS,
    );
  });
});
