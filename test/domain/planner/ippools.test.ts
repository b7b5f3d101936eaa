// IPPools as Kube-OVN has them (src/domain/IPPools.ts, PlanContext namespacePoolsOf): the
// namespaces a pool binds, the status it shows, and when it is not ready. Exact plans; every
// case also planned by the controller's incremental planner (prepare, then one pod at a time),
// which must give each pod what planAll gives it.
import { describe, expect, it } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../../../src/domain/IncrementalPlanner.js';
import type { Plan } from '../../../src/domain/Plan.js';
import { inCreationOrder } from '../../../src/domain/PlanContext.js';
import type { RawDocument, Snapshot } from '../../../src/domain/Snapshot.js';
import { applyActions } from './apply.js';
import { actionsOfType, objects, pod, snapshotOf, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:00:01Z';

const subnets = (): RawDocument[] => objects('subnets.yaml',
  subnetObject('ovn-default', '10.16.0.0/24'),
  subnetObject('sub1', '10.17.0.0/24', 'ovn', { namespaces: ['bound'] }),
  subnetObject('dual', '10.18.0.0/24,fd00::/120'));
const namespace = (name: string, annotations: Readonly<Record<string, string>> = {}): RawDocument[] =>
  objects(`ns-${name}.yaml`, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });
const ippool = (name: string, subnet: string, ips: readonly string[], o: { namespaces?: readonly string[]; created?: string } = {}): RawDocument[] =>
  objects(`pool-${name}.yaml`, {
    apiVersion: 'kubeovn.io/v1', kind: 'IPPool',
    metadata: { name, ...(o.created === undefined ? {} : { creationTimestamp: o.created }) },
    spec: { subnet, ips, ...(o.namespaces === undefined ? {} : { namespaces: o.namespaces }) },
  });
const inNs = (name: string, ns: string, annotations: Readonly<Record<string, string>> = {}): RawDocument[] => pod(name, { namespace: ns, uid: `uid-${ns}-${name}`, annotations });

/** `pod subnet address source` per allocation, `code: message` per error. */
const summary = (plan: Pick<Plan, 'allocations' | 'errors'>) => ({
  allocations: plan.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress} ${a.source}`),
  errors: plan.errors.map((e) => `${e.code}: ${e.message}`),
});

/** The incremental planner, pod by pod in creation order, as the controller plans. */
const incremental = (snapshot: Snapshot): Pick<Plan, 'allocations' | 'errors'> => {
  let state = prepare(snapshot, OPTIONS);
  const allocations: Plan['allocations'][number][] = [];
  const errors: Plan['errors'][number][] = [];
  for (const e of inCreationOrder(snapshot.pods.values())) {
    const r = planPodWith(state, snapshot, `${e.object.metadata.namespace}/${e.object.metadata.name}`, OPTIONS);
    state = r.state;
    allocations.push(...r.plan.allocations);
    errors.push(...r.plan.errors);
  }
  return { allocations, errors };
};

interface Case {
  readonly docs: () => RawDocument[][];
  readonly allocations: readonly string[];
  readonly errors: readonly string[];
  /** `pool: reason` of each status action that marks a pool not ready (none when absent): a
   *  pool that is not ready is said there, and in the errors of the pods that would use it. */
  readonly notReady?: readonly string[];
}

/** `pool: reason` of the UpdateIPPoolStatus actions whose Ready condition is False. */
const notReadyOf = (plan: Plan): string[] => actionsOfType(plan, 'UpdateIPPoolStatus')
  .filter((a) => a.status.conditions.some((c) => c.type === 'Ready' && c.status === 'False'))
  .map((a) => `${a.target}: ${a.reason}`);

const FULL = 'no IPPool of namespace ns1 has a free address (pool1: the IP pool in subnet ovn-default has no free IPv4 address)';

const cases: [string, Case][] = [
  ['spec.namespaces binds the namespace: its pods take the pool, lowest first; other namespaces never do', {
    docs: () => [subnets(), namespace('ns1'), namespace('other'), ippool('pool1', 'ovn-default', ['10.16.0.10..10.16.0.11'], { namespaces: ['ns1'] }),
      inNs('a', 'ns1'), inNs('d', 'other'), inNs('b', 'ns1'), inNs('c', 'ns1')],
    allocations: ['ns1/a ovn-default 10.16.0.10 pool', 'other/d ovn-default 10.16.0.2 dynamic', 'ns1/b ovn-default 10.16.0.11 pool'],
    errors: [`NoAvailableAddress: pod ns1/c eth0 (ovn): ${FULL}`],
  }],
  ['the Namespace annotation ovn.kubernetes.io/ip_pool: its pools in its order, then spec.namespaces pools; a full pool passes to the next', {
    docs: () => [subnets(), namespace('ns1', { 'ovn.kubernetes.io/ip_pool': 'second, first' }),
      ippool('first', 'ovn-default', ['10.16.0.20'], { created: T0 }), ippool('second', 'ovn-default', ['10.16.0.30'], { created: T1 }),
      ippool('third', 'ovn-default', ['10.16.0.40'], { namespaces: ['ns1'] }),
      inNs('a', 'ns1'), inNs('b', 'ns1'), inNs('c', 'ns1')],
    allocations: ['ns1/a ovn-default 10.16.0.30 pool', 'ns1/b ovn-default 10.16.0.20 pool', 'ns1/c ovn-default 10.16.0.40 pool'],
    errors: [],
  }],
  ['a pod that names ip_address, logical_switch or ip_pool itself is not bound; the attachment is never bound', {
    docs: () => [subnets(), namespace('ns1'), ippool('pool1', 'ovn-default', ['10.16.0.10..10.16.0.11'], { namespaces: ['ns1'] }),
      inNs('static', 'ns1', { 'ovn.kubernetes.io/ip_address': '10.16.0.5' }),
      inNs('switch', 'ns1', { 'ovn.kubernetes.io/logical_switch': 'sub1' }),
      inNs('listed', 'ns1', { 'ovn.kubernetes.io/ip_pool': '10.16.0.7' }),
      inNs('free', 'ns1')],
    allocations: ['ns1/static ovn-default 10.16.0.5 static', 'ns1/switch sub1 10.17.0.2 dynamic', 'ns1/listed ovn-default 10.16.0.7 pool', 'ns1/free ovn-default 10.16.0.10 pool'],
    errors: [],
  }],
  ['the pool must lie in one of the namespace\'s subnets (Subnet spec.namespaces, the logical_switch annotation): the pool gives the subnet', {
    docs: () => [subnets(), namespace('bound'), namespace('annotated', { 'ovn.kubernetes.io/logical_switch': 'ovn-default,dual' }),
      ippool('pool-default', 'ovn-default', ['10.16.0.10'], { namespaces: ['bound'], created: T0 }),
      ippool('pool-sub1', 'sub1', ['10.17.0.10'], { namespaces: ['bound'], created: T1 }),
      ippool('pool-dual', 'dual', ['10.18.0.10', 'fd00::10'], { namespaces: ['annotated'] }),
      inNs('a', 'bound'), inNs('b', 'bound'), inNs('c', 'annotated')],
    allocations: ['bound/a sub1 10.17.0.10 pool', 'annotated/c dual 10.18.0.10,fd00::10 pool'],
    errors: ['NoAvailableAddress: pod bound/b eth0 (ovn): no IPPool of namespace bound has a free address (pool-sub1: the IP pool in subnet sub1 has no free IPv4 address)'],
  }],
  ['a pool the namespace names that does not exist, or no pool in its subnets: NoAvailableAddress', {
    docs: () => [subnets(), namespace('ns1', { 'ovn.kubernetes.io/ip_pool': 'gone' }), namespace('bound'),
      ippool('elsewhere', 'ovn-default', ['10.16.0.10'], { namespaces: ['bound'] }),
      inNs('a', 'ns1'), inNs('b', 'bound')],
    allocations: [],
    errors: [
      'NoAvailableAddress: pod ns1/a eth0 (ovn): IPPool gone named by namespace ns1\'s annotation ovn.kubernetes.io/ip_pool does not exist',
      'NoAvailableAddress: pod bound/b eth0 (ovn): no IPPool of namespace bound is ready in its subnets (sub1): IPPool elsewhere is of subnet ovn-default',
    ],
  }],
  ['a pool whose ranges leave its Subnet is not ready: it allocates nothing, its addresses stay out of dynamic allocation, the other pools are unaffected', {
    docs: () => [subnets(), namespace('ns1'),
      ippool('wide', 'ovn-default', ['10.16.0.2..10.16.0.3', '10.16.1.0/30', 'fd00::5'], { namespaces: ['ns1'], created: T0 }),
      ippool('good', 'ovn-default', ['10.16.0.10'], { created: T1 }),
      inNs('a', 'ns1'), inNs('b', 'ns1', { 'ovn.kubernetes.io/ip_pool': 'wide' }), inNs('c', 'ns1', { 'ovn.kubernetes.io/ip_pool': 'good' }), pod('d', { uid: 'uid-d' })],
    allocations: ['ns1/c ovn-default 10.16.0.10 pool', 'default/d ovn-default 10.16.0.4 dynamic'],
    errors: [
      'NoAvailableAddress: pod ns1/a eth0 (ovn): no IPPool of namespace ns1 is ready in its subnets (ovn-default): IPPool wide is not ready: ippool wide has IPs outside subnet ovn-default: 10.16.1.0-10.16.1.3 (outside 10.16.0.0/24), fd00::5 (the subnet has no IPv6 CIDR)',
      'NoAvailableAddress: pod ns1/b eth0 (ovn): IPPool wide named by annotation ovn.kubernetes.io/ip_pool is not ready: ippool wide has IPs outside subnet ovn-default: 10.16.1.0-10.16.1.3 (outside 10.16.0.0/24), fd00::5 (the subnet has no IPv6 CIDR)',
    ],
    notReady: ['wide: mark it not ready: ippool wide has IPs outside subnet ovn-default: 10.16.1.0-10.16.1.3 (outside 10.16.0.0/24), fd00::5 (the subnet has no IPv6 CIDR)'],
  }],
  ['overlapping pools of one Subnet: the earlier created wins, whatever the input order; the later is not ready', {
    docs: () => [subnets(), namespace('ns1'),
      ippool('later', 'ovn-default', ['10.16.0.12..10.16.0.20'], { namespaces: ['ns1'], created: T1 }),
      ippool('earlier', 'ovn-default', ['10.16.0.10..10.16.0.13', '10.16.0.15'], { created: T0 }),
      inNs('a', 'ns1'), inNs('b', 'ns1', { 'ovn.kubernetes.io/ip_pool': 'earlier' })],
    allocations: ['ns1/b ovn-default 10.16.0.10 pool'],
    errors: [
      'NoAvailableAddress: pod ns1/a eth0 (ovn): no IPPool of namespace ns1 is ready in its subnets (ovn-default): IPPool later is not ready: ippool later has conflict IPs with ippool earlier: 10.16.0.12-10.16.0.13,10.16.0.15',
    ],
    notReady: ['later: mark it not ready: ippool later has conflict IPs with ippool earlier: 10.16.0.12-10.16.0.13,10.16.0.15'],
  }],
  ['overlapping pools created in the same second: the name decides', {
    docs: () => [subnets(), ippool('zeta', 'ovn-default', ['10.16.0.10'], { created: T0 }), ippool('alpha', 'ovn-default', ['10.16.0.10'], { created: T0 })],
    allocations: [],
    errors: [],
    notReady: ['zeta: mark it not ready: ippool zeta has conflict IPs with ippool alpha: 10.16.0.10'],
  }],
  ['pools of different Subnets may share addresses; a pool of a missing Subnet, or with an entry that does not parse, is not ready', {
    docs: () => [subnets(), ippool('a', 'ovn-default', ['10.16.0.10'], { created: T0 }), ippool('b', 'sub1', ['10.17.0.10'], { created: T0 }),
      ippool('lost', 'nope', ['10.16.0.10'], { created: T1 }), ippool('typo', 'ovn-default', ['10.16.0.30', '10.16.0.x'], { created: T1 })],
    allocations: [],
    errors: [],
    notReady: [
      'lost: mark it not ready: subnet nope does not exist',
      'typo: mark it not ready: ippool typo: spec.ips[1]: "10.16.0.x" is not an IP address',
    ],
  }],
];

describe('IPPools: namespace binding and readiness', () => {
  it.each(cases)('%s', (_name, c) => {
    const snapshot = snapshotOf(...c.docs());
    const plan = planAll(snapshot, OPTIONS);
    expect(summary(plan)).toEqual({ allocations: c.allocations, errors: c.errors });
    expect(notReadyOf(plan)).toEqual(c.notReady ?? []);
    // The controller's planner gives every pod the same.
    expect(summary(incremental(snapshot))).toEqual({ allocations: c.allocations, errors: c.errors });
  });
});

const ready = [{ type: 'Ready', status: 'True', reason: 'UpdateIPAMSucceeded', message: '' }];
const zeros = { v4AvailableIPs: 0, v4AvailableIPRange: '', v4UsingIPs: 0, v4UsingIPRange: '', v6AvailableIPs: 0, v6AvailableIPRange: '', v6UsingIPs: 0, v6UsingIPRange: '' };

describe('IPPool status', () => {
  const docs = () => [subnets(), namespace('ns1'),
    ippool('v4', 'ovn-default', ['10.16.0.1..10.16.0.4', '10.16.0.255'], { namespaces: ['ns1'], created: T0 }),
    ippool('both', 'dual', ['10.18.0.10..10.18.0.11', 'fd00::10/127'], { created: T0 }),
    ippool('clash', 'ovn-default', ['10.16.0.4..10.16.0.5'], { created: T1 }),
    inNs('a', 'ns1'), inNs('b', 'ns1'), inNs('c', 'ns1', { 'ovn.kubernetes.io/ip_pool': 'both' }),
    inNs('s', 'ns1', { 'ovn.kubernetes.io/ip_address': '10.16.0.4' })];

  it('counts and ranges per family as Kube-OVN writes them (gateway, network and broadcast never available), conditions, one action per pool by name', () => {
    const plan = planAll(snapshotOf(...docs()), OPTIONS);
    expect(actionsOfType(plan, 'UpdateIPPoolStatus')).toEqual([
      {
        type: 'UpdateIPPoolStatus', target: 'both', reason: 'IPv4 1 in use, 1 available; IPv6 1 in use, 1 available',
        status: { ...zeros, v4AvailableIPs: 1, v4AvailableIPRange: '10.18.0.11', v4UsingIPs: 1, v4UsingIPRange: '10.18.0.10', v6AvailableIPs: 1, v6AvailableIPRange: 'fd00::11', v6UsingIPs: 1, v6UsingIPRange: 'fd00::10', conditions: ready },
      },
      {
        type: 'UpdateIPPoolStatus', target: 'clash', reason: 'mark it not ready: ippool clash has conflict IPs with ippool v4: 10.16.0.4',
        status: {
          ...zeros,
          conditions: [
            { type: 'Ready', status: 'False', reason: 'UpdateIPAMFailed', message: 'ippool clash has conflict IPs with ippool v4: 10.16.0.4' },
            { type: 'Error', status: 'True', reason: 'UpdateIPAMFailed', message: 'ippool clash has conflict IPs with ippool v4: 10.16.0.4' },
          ],
        },
      },
      {
        type: 'UpdateIPPoolStatus', target: 'v4', reason: 'IPv4 3 in use, 0 available',
        status: { ...zeros, v4UsingIPs: 3, v4UsingIPRange: '10.16.0.2-10.16.0.4', conditions: ready },
      },
    ]);
    expect(summary(plan).allocations).toEqual(['ns1/a ovn-default 10.16.0.2 pool', 'ns1/b ovn-default 10.16.0.3 pool', 'ns1/c dual 10.18.0.10,fd00::10 pool', 'ns1/s ovn-default 10.16.0.4 static']);
  });

  it('converges: once the statuses are written, the next plan writes none', () => {
    const snapshot = snapshotOf(...docs());
    const again = planAll(applyActions(snapshot, planAll(snapshot, OPTIONS).actions), OPTIONS);
    expect(actionsOfType(again, 'UpdateIPPoolStatus')).toEqual([]);
  });

  it('a status that differs in one field, or carries a stale condition, is written again', () => {
    const snapshot = snapshotOf(...docs());
    const written = applyActions(snapshot, planAll(snapshot, OPTIONS).actions);
    const entry = written.ippools.get('v4')!;
    const stale = { ...entry.object.status!, conditions: [...entry.object.status!.conditions!, { type: 'Error', status: 'True', reason: 'UpdateIPAMFailed', message: 'old' }] };
    const ippools = new Map(written.ippools).set('v4', { ...entry, object: { ...entry.object, status: stale } });
    expect(actionsOfType(planAll({ ...written, ippools }, OPTIONS), 'UpdateIPPoolStatus').map((a) => a.target)).toEqual(['v4']);
  });
});
