// Releases remembered across plans (PlanOptions.released): the controller plans each pod
// afresh, so addresses freed by earlier plans come in as data and are reused last, and only
// once their cooldown has passed.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { objects, pod, snapshotOf, subnetObject } from './snapshots.js';

const tiny = () => objects('subnets.yaml', subnetObject('ovn-default', '10.9.0.0/29')); // hosts .2-.6 (.1 gateway)
const addresses = (released: { subnet: string; ipAddress: string; at: number }[], now: number, cooldownMs = 0, pods = ['a']) =>
  planAll(snapshotOf(tiny(), ...pods.map((p) => pod(p, { uid: `uid-${p}` }))), { now, cooldownMs, released }).allocations.map((a) => a.ipAddress);

describe('released addresses from earlier plans', () => {
  it.each([
    ['nothing released: the lowest free', [], 0, 0, ['10.9.0.2']],
    ['a released address is reused last', [{ subnet: 'ovn-default', ipAddress: '10.9.0.2', at: 0 }], 10, 0, ['10.9.0.3']],
    ['an unknown subnet or a bad address is ignored', [{ subnet: 'gone', ipAddress: '10.9.0.2', at: 0 }, { subnet: 'ovn-default', ipAddress: 'x', at: 0 }], 10, 0, ['10.9.0.2']],
  ])('%s', (_name, released, now, cooldownMs, expected) => {
    expect(addresses(released, now, cooldownMs)).toEqual(expected);
  });

  it('when nothing never-used is left, a released address is reused only after its cooldown', () => {
    const released = [{ subnet: 'ovn-default', ipAddress: '10.9.0.2', at: 1000 }];
    const five = ['a', 'b', 'c', 'd', 'e'];
    expect(addresses(released, 1500, 1000, five)).toEqual(['10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    expect(addresses(released, 2000, 1000, five)).toEqual(['10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6', '10.9.0.2']);
  });
});
