// What the controller remembers per pod (src/effects/PodMemory.ts): errors told once and the
// unsettled index, the first sighting per UID, replans in a row, and what forget drops.
import { describe, expect, it } from '@jest/globals';
import type { Pod } from '../../src/domain/schema/kube.js';
import { PodMemory } from '../../src/effects/PodMemory.js';

const pod = (uid: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid }, spec: {} }) as unknown as Pod;

describe('PodMemory', () => {
  it('errors: a change is told once, and the pod is unsettled until a plan has none', () => {
    const m = new PodMemory();
    expect([m.planned('default/p', 'NoSubnet x'), m.planned('default/p', 'NoSubnet x'), [...m.unsettled]]).toEqual([true, false, ['default/p']]);
    expect([m.planned('default/p', 'AddressConflict y'), m.planned('default/p', ''), m.planned('default/p', ''), [...m.unsettled]]).toEqual([true, true, false, []]);
  });

  it('the first sighting starts again for a new UID, and is taken once', () => {
    const m = new PodMemory();
    m.seen('default/p', pod('u1'), 10);
    m.seen('default/p', pod('u1'), 20);
    expect([m.takeFirstSeen('default/p'), m.takeFirstSeen('default/p')]).toEqual([10, undefined]);
    m.seen('default/p', pod('u2'), 30);
    m.seen('default/p', pod('u3')); // a deletion: no latency starts
    expect([m.takeFirstSeen('default/p'), m.lastSeen('default/p')?.metadata.uid]).toEqual([30, 'u3']);
  });

  it('replans count up until a plan needs none', () => {
    const m = new PodMemory();
    expect([m.replanned('default/p'), m.replanned('default/p')]).toEqual([1, 2]);
    m.noReplan('default/p');
    expect(m.replanned('default/p')).toBe(1);
  });

  it('forget drops the errors and the first sighting; the last sighting stays until it is forgotten too', () => {
    const m = new PodMemory();
    m.seen('default/p', pod('u1'), 10);
    m.planned('default/p', 'NoSubnet x');
    m.forget('default/p');
    expect([[...m.unsettled], m.takeFirstSeen('default/p'), m.lastSeen('default/p')?.metadata.uid, m.planned('default/p', 'NoSubnet x')]).toEqual([[], undefined, 'u1', true]);
    m.planned('default/p', '');
    m.forgetLastSeen('default/p');
    expect(m.lastSeen('default/p')).toBeUndefined();
  });
});
