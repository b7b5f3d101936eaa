// The admission webhook's rules over hostile objects (issue 14, item 1): whatever a pod or a
// workload says, mutate and validate answer (allowed, or denied with a message), never throw —
// a throw is a 500 and, with failurePolicy Fail, a pod nobody can create. The objects are the
// seed's examples and a StatefulSet, DaemonSet, Job and CronJob mutated in one to three places (hostile.ts).
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { mutate, validate } from '../../../src/domain/admission/Admission.js';
import { ovnDefault, seed, snapshotOf, statefulSetObject } from '../planner/snapshots.js';
import { requestFor } from '../admission/requests.js';
import { mutated } from './hostile.js';

const snapshot = snapshotOf(ovnDefault(), seed('01-nad-macvlan.yaml'), seed('02-subnet-macvlan.yaml'), seed('06-nad-attachnet-ovn.yaml'));

const examples: readonly [string, unknown][] = [
  ...['03-pod-random.yaml', '04-pod-static-ip.yaml', '05-deployment-ip-pool.yaml', '10-pod-attachnet-static-ip.yaml', '11-pod-multi-nic-same-subnet.yaml']
    .map((file): [string, unknown] => [file, seed(file)[0]!.value]),
  ['a StatefulSet', statefulSetObject('sts', 3, { 'ovn.kubernetes.io/ip_pool': '10.16.0.20,10.16.0.21,10.16.0.22' })],
  ['a DaemonSet', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'ds' } }, template: { metadata: { labels: { app: 'ds' }, annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } } } } }],
  ['a Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'job', namespace: 'default' },
    spec: { parallelism: 2, template: { metadata: { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.40' } } } } }],
  ['a CronJob', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cron', namespace: 'default' },
    spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { metadata: { annotations: { 'ovn.kubernetes.io/ip_pool': '10.16.0.50' } } } } } } }],
];

/** The request the adapter makes of a mutated object: kind and names from the original. */
const requestOf = (original: unknown, object: unknown) => {
  const r = requestFor(original);
  return { ...r, object };
};

describe('mutate and validate answer every object', () => {
  it.each(examples)('%s as written is checked (the mutations start from an object the rules read)', (_name, original) => {
    const decision = validate(snapshot, requestFor(original), { now: 0 });
    expect(decision.warnings.filter((w) => w.startsWith('kube-ovn-ipam did not check'))).toEqual([]);
  });

  it.each(examples)('%s, mutated', (_name, original) => {
    fc.assert(fc.property(mutated(original), (object) => {
      const req = requestOf(original, object);
      for (const decision of [mutate(snapshot, req), validate(snapshot, req, { now: 0 })]) {
        if (!decision.allowed) expect(decision.message).toMatch(/\S/);
      }
    }), { numRuns: 150 });
  });

  it('a static MAC beside a networks element nested 100,000 deep: no RangeError out of the rewritten annotation', () => {
    const deep = JSON.stringify({ name: 'macvlan' }).replace('}', `,"cni-args":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`);
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', annotations: {
      'k8s.v1.cni.cncf.io/networks': `[${deep}]`, 'macvlan.default.kubernetes.io/mac_address': '00:00:00:53:6b:bb',
    } }, spec: {} };
    // It threw RangeError: Maximum call stack size exceeded (JSON.stringify of the rewritten elements).
    expect(mutate(snapshot, requestFor(pod))).toEqual({ allowed: true, warnings: [], patch: [] });
    expect(validate(snapshot, requestFor(pod), { now: 0 })).toEqual({
      allowed: false, warnings: [], patch: [], message: 'annotation "k8s.v1.cni.cncf.io/networks": nests 100003 levels deep (at most 64)',
    });
  });
});
