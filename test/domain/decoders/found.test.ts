// What the decoder properties found (issue 14, item 1), one row each: the input that used to
// throw, run out of memory or garble a message, and the value or error it gives now.
import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseMemory } from '../../../src/domain/AllocatorMemory.js';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { buildSnapshot, decodeRaw } from '../../../src/domain/Snapshot.js';
import { simulatedPods } from '../../../src/domain/Workloads.js';
import { validate } from '../../../src/domain/admission/Admission.js';
import { requestFor } from '../admission/requests.js';
import { objects, ovnDefault, podObject, seed, snapshotOf, statefulSetObject, subnetObject } from '../planner/snapshots.js';
import { deeplyNested } from './hostile.js';

const origin = { file: 'f.yaml', document: 0 };

describe('an object\'s kind is looked up among the kinds we read, not in Object.prototype', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('kind %s is not ours (it threw "Cannot read properties of undefined")', (kind) => {
    expect(decodeRaw({ kind, metadata: { name: 'x' } }, origin, 0)).toBeUndefined();
  });
});

describe('the object is named in JSON quotes, so a name with a quote cannot garble the message', () => {
  it.each<[string, unknown, string]>([
    ['a Subnet named a"b', { kind: 'Subnet', metadata: { name: 'a"b' } }, 'Subnet "a\\"b": spec: is required'],
    ['a Pod in namespace "', { kind: 'Pod', metadata: { name: 'p', namespace: '"' }, spec: 7 }, 'Pod "\\"/p": spec: expected an object, got the number 7'],
    ['no kind, a name with a line break', { metadata: { name: 'a\nb' } }, 'object "a\\nb": kind: is required'],
  ])('%s', (_name, value, message) => {
    expect(decodeRaw(value, origin, 0)).toEqual({ ok: false, problem: expect.objectContaining({ message }) });
  });
});

describe('status.allocator entries nested deeper than the stack are reported, not a RangeError from JSON.stringify', () => {
  it.each<[string, unknown, string]>([
    ['released[0].at', { v4: { released: [{ ip: '10.0.0.2', at: deeplyNested(20_000) }] } }, 'status.allocator.v4.released has an unreadable entry {"ip":"10.0.0.2","at":[[[…]]]}'],
    ['usedUpTo', { v6: { usedUpTo: deeplyNested(20_000) } }, 'status.allocator.v6.usedUpTo [[[[…]]]] is not an IPv6 address'],
    ['a long string', { v4: { usedUpTo: 'x'.repeat(1000) } }, `status.allocator.v4.usedUpTo "${'x'.repeat(76)}... is not an IPv4 address`],
  ])('%s', (_name, allocator, message) => {
    expect(parseMemory(allocator)).toEqual(E.left(message));
  });
});

describe('a workload the API server accepts (replicas up to 2^31-1) simulates at most 10,000 pods in a plan', () => {
  const snapshotWith = (workload: unknown) => buildSnapshot(objects('w.yaml', subnetObject('ovn-default', '10.16.0.0/16'), workload, podObject('good', { uid: 'u-good' }))).snapshot;
  const deployment = (replicas: number, maxSurge: number | string) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' },
    spec: { replicas, strategy: { rollingUpdate: { maxSurge } }, selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } } } },
  });
  it.each<[string, unknown, Record<string, number>]>([
    // It threw RangeError: Invalid array length (above 2^32-1) or ran out of memory (below).
    ['a StatefulSet of 2147483647 replicas', statefulSetObject('s', 2147483647, {}), { 'StatefulSet default/s (the first 10000 of 2147483647 pods)': 10_000 }],
    ['a Deployment of 2147483647 replicas, surge 25%', deployment(2147483647, '25%'),
      { 'Deployment default/d (the first 10000 of 2147483647 pods)': 10_000, 'Deployment default/d (rollout surge) (the first 10000 of 536870912 pods)': 10_000 }],
    ['a surge of "Infinity"', deployment(1, 'Infinity'), { 'Deployment default/d': 1, 'Deployment default/d (rollout surge) (the first 10000 of Infinity pods)': 10_000 }],
    ['a surge of "-3"', deployment(1, '-3'), { 'Deployment default/d': 1 }],
  ])('%s', (_name, workload, bySource) => {
    const snapshot = snapshotWith(workload);
    const counts: Record<string, number> = {};
    for (const s of simulatedPods(snapshot)) counts[s.workload] = (counts[s.workload] ?? 0) + 1;
    expect(counts).toEqual(bySource);
    // And the plan ends, the real pod allocated beside the simulated ones.
    expect(planAll(snapshot, { now: 0 }).allocations.filter((a) => a.pod === 'default/good')).toHaveLength(1);
  });
});

describe('a NAD without spec or spec.config (Multus\'s CRD allows both) decodes; a pod naming it gets an error of that interface', () => {
  const nadWith = (spec: unknown) => ({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'ondisk', namespace: 'default' }, ...(spec !== undefined && { spec }) });
  it.each<[string, unknown]>([['no spec', undefined], ['an empty spec', {}], ['an empty config', { config: '' }], ['a blank config', { config: ' \n' }]])('%s', (_name, spec) => {
    // It was `NetworkAttachmentDefinition "default/ondisk": spec: is required`, and `plan` exited 2.
    const { snapshot, problems } = buildSnapshot(objects('n.yaml', nadWith(spec), subnetObject('ovn-default', '10.16.0.0/16'),
      podObject('p', { uid: 'u-p', annotations: { 'k8s.v1.cni.cncf.io/networks': 'ondisk' } })));
    expect(problems).toEqual([]);
    expect(planAll(snapshot, { now: 0 }).errors.map((e) => `${e.code} ${e.message}`)).toEqual([
      'NetworkNotFound pod default/p net1 (ondisk.default): NetworkAttachmentDefinition "default/ondisk": spec.config: is empty (Multus then reads the configuration from a file on the node, which the IPAM cannot read)',
    ]);
  });
});

describe('the validating webhook lists at most 20 warnings, then counts the rest', () => {
  it('a Deployment of 100 replicas whose 3-address ip_pool fits 3: 20 of its 244 warnings, then "… and 224 more"', () => {
    const snapshot = snapshotOf(ovnDefault(), seed('01-nad-macvlan.yaml'), seed('02-subnet-macvlan.yaml'));
    const d = seed('05-deployment-ip-pool.yaml')[0]!.value as { spec: object };
    const decision = validate(snapshot, requestFor({ ...d, spec: { ...d.spec, replicas: 100 } }), { now: 0 });
    // Before, every stalled simulated pod was a warning: 10,000 of them for replicas 2147483647.
    expect(decision.allowed).toBe(true);
    expect(decision.warnings).toHaveLength(21);
    // 97 missing pods and a surge of 25, each stalled on both networks' pools: 244 warnings.
    expect(decision.warnings[20]).toBe('… and 224 more');
  });
});
