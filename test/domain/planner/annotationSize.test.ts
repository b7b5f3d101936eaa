// The API server refuses a pod whose annotations pass 256 KiB (keys and values, apimachinery
// ValidateAnnotationsSize); our patch comes after the IP objects, so the planner checks first
// (src/domain/AnnotationSize.ts, issue 14 item 5): a pod the patch would take past the limit gets
// one InvalidAnnotation error and nothing planned for it (no claim, no IP object, no patch), and
// the addresses it would have had are the next pod's, in planAll and in the controller's planner.
import { describe, expect, it } from '@jest/globals';
import { ANNOTATIONS_LIMIT_BYTES, annotationBytes, mayOutgrow } from '../../../src/domain/AnnotationSize.js';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../../../src/domain/IncrementalPlanner.js';
import type { Plan } from '../../../src/domain/Plan.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import { actionList, nadObject, objects, pod, snapshotOf, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };
const BLOB = 'example.com/blob';
const networks = (n: number): string => Array.from({ length: n }, (_, i) => `macvlan@m${i + 1}`).join(',');
/** A user annotation that leaves `room` bytes for everything else under the limit. */
const bigPod = (name: string, room: number, attachments: number, uid = `uid-${name}`): RawDocument[] => {
  const nets = networks(attachments);
  const used = annotationBytes({ [BLOB]: '', 'k8s.v1.cni.cncf.io/networks': nets });
  return pod(name, { uid, annotations: { [BLOB]: 'x'.repeat(ANNOTATIONS_LIMIT_BYTES - used - room), 'k8s.v1.cni.cncf.io/networks': nets } });
};
const base = (): RawDocument[] => [
  ...objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('macvlan', '172.17.0.0/24', 'macvlan.default')),
  ...objects('nad.yaml', nadObject('macvlan', { cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } })),
];
/** The bytes our patch adds for eth0 and `attachments` (planned with room to spare). */
const patchBytes = (attachments: number): number => {
  const plan = planAll(snapshotOf(base(), bigPod('probe', 10_000, attachments)), OPTIONS);
  return annotationBytes({}, plan.actions.flatMap((a) => (a.type === 'PatchPodAnnotations' ? [a.annotations] : []))[0]!);
};
const of = (plan: Plan, podKey: string) => ({
  allocations: plan.allocations.filter((a) => a.pod === podKey).map((a) => `${a.interface} ${a.ipAddress}`),
  actions: plan.actions.filter((a) => a.target === podKey || a.target.startsWith(`${podKey.slice('default/'.length)}.`)).map((a) => `${a.type} ${a.target}`),
  errors: plan.errors.filter((e) => e.pod === podKey).map((e) => `${e.code} ${e.message}`),
});

describe('annotationBytes counts what the API server counts', () => {
  it.each([
    ['keys and values', { a: 'bc', de: '' }, {}, 5],
    ['UTF-8 bytes, not characters', { 'é': 'ü€' }, {}, 7],
    ['after a patch: set, replace, remove', { a: 'bc', de: 'f' }, { a: 'x', de: null, g: 'hi' }, 5],
    // Long values are counted once and remembered (a workload's ip_pool list on every replica).
    ['a long value', { a: 'x'.repeat(5000) }, {}, 5001],
    ['a long value with UTF-8', { a: `${'x'.repeat(5000)}é€` }, {}, 5006],
  ])('%s', (_name, annotations, patch, size) => {
    expect(annotationBytes(annotations, patch)).toBe(size);
    expect(annotationBytes(annotations, patch)).toBe(size);
  });

  it('mayOutgrow is an upper bound: false for an ordinary pod, true near the limit', () => {
    const nets = [{ provider: 'ovn', subnet: 'ovn-default' }, { provider: 'macvlan.default', subnet: 'macvlan' }];
    expect([mayOutgrow({}, nets), mayOutgrow({ [BLOB]: 'x'.repeat(ANNOTATIONS_LIMIT_BYTES - 1000) }, nets)]).toEqual([false, true]);
  });
});

describe('a pod whose annotations the patch would take past 256 KiB', () => {
  it.each([
    ['exactly at the limit: allocated as usual', 1, true],
    ['one byte over the limit: refused', 2, false],
  ])('%s', (_name, attachments, fits) => {
    const needs = patchBytes(attachments);
    const room = fits ? needs : needs - 1;
    const plan = planAll(snapshotOf(base(), bigPod('big', room, attachments), pod('next', { uid: 'uid-next' })), OPTIONS);
    if (fits) {
      expect(of(plan, 'default/big').errors).toEqual([]);
      expect(of(plan, 'default/big').allocations).toEqual(['eth0 10.16.0.2', 'm1 172.17.0.2', ...(attachments > 1 ? ['m2 172.17.0.3'] : [])]);
      return;
    }
    const size = ANNOTATIONS_LIMIT_BYTES - room + needs;
    const message = `pod default/big: annotations: publishing its addresses would make the pod's annotations ${size} bytes (keys and values), more than the API server's limit of 262144; nothing is written for it`;
    expect(of(plan, 'default/big')).toEqual({ allocations: [], actions: ['EmitEvent default/big'], errors: [`InvalidAnnotation ${message}`] });
    expect(plan.actions.find((a) => a.type === 'EmitEvent' && a.target === 'default/big')).toEqual({
      type: 'EmitEvent', target: 'default/big', reason: message, event: { type: 'Warning', reason: 'ValidatePodNetworkFailed', message: `InvalidAnnotation: ${message}` },
    });
    // Nothing of it was kept: the next pod is given the lowest address.
    expect(of(plan, 'default/next').allocations).toEqual(['eth0 10.16.0.2']);
  });

  it('the controller\'s planner: refused the same way, its state keeps nothing of it', () => {
    const needs = patchBytes(3);
    const snap = snapshotOf(base(), bigPod('big', needs - 1, 3), pod('next', { uid: 'uid-next' }));
    const big = planPodWith(prepare(snap, OPTIONS), snap, 'default/big', OPTIONS);
    expect(actionList(big.plan)).toEqual(['EmitEvent default/big']);
    expect(big.plan.errors.map((e) => e.code)).toEqual(['InvalidAnnotation']);
    expect(big.state.ipam.claims.size).toBe(0);
    expect(planPodWith(big.state, snap, 'default/next', OPTIONS).plan.allocations.map((a) => `${a.pod} ${a.ipAddress}`)).toEqual(['default/next 10.16.0.2']);
  });
});
