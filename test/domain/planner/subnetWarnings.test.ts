// A Subnet whose spec.protocol disagrees with its CIDRs (issue #13 item 5): corrected from the
// CIDRs (Kube-OVN's formatSubnet), not refused; the plan records the correction in the Subnet's
// status (condition SpecCorrected) and tells it once by a Warning Event on the Subnet; with the
// status recording it, nothing more is planned; once the spec is fixed the condition goes.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planJson } from '../../../src/domain/Plan.js';
import { actionsOfType, objects, pod, snapshotOf, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };
const message = 'subnet ovn-default: spec.protocol: is IPv6 but cidrBlock "10.16.0.0/16" is IPv4; using IPv4';
const ready = { type: 'Ready', status: 'True', reason: 'Validated', message: '' };
const corrected = { type: 'SpecCorrected', status: 'True', reason: 'Corrected', message: 'spec.protocol: is IPv6 but cidrBlock "10.16.0.0/16" is IPv4; using IPv4' };
const status = (conditions: unknown[]) => ({
  v4availableIPs: 65532, v4usingIPs: 1, v4availableIPrange: '10.16.0.3-10.16.255.254', v4usingIPrange: '10.16.0.2',
  v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '', v6usingIPrange: '', conditions,
});
const subnet = (protocol: string, extra: Record<string, unknown> = {}) => objects('subnet.yaml', { ...(subnetObject('ovn-default', '10.16.0.0/16', 'ovn', { protocol }) as object), ...extra });

describe('a Subnet whose protocol disagrees with its CIDR', () => {
  it('works (pods get addresses), and the plan records the correction with one Warning Event on the Subnet', () => {
    const plan = planAll(snapshotOf(subnet('IPv6'), pod('a', { uid: 'uid-a' })), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress}`)).toEqual(['default/a 10.16.0.2']);
    expect(actionsOfType(plan, 'UpdateSubnetStatus').map((a) => a.status)).toEqual([status([ready, corrected])]);
    const event = { type: 'EmitEvent', kind: 'Subnet', target: 'ovn-default', reason: message, event: { type: 'Warning', reason: 'SubnetSpecCorrected', message } };
    expect(actionsOfType(plan, 'EmitEvent')).toEqual([event]);
    expect((planJson(plan) as { actions: unknown[] }).actions.slice(-2)).toEqual([
      { type: 'UpdateSubnetStatus', target: 'ovn-default', reason: 'IPv4 1 in use, 65532 available' },
      { type: 'EmitEvent', target: 'ovn-default', reason: message },
    ]);
  });

  it('with its status recording the correction: no status write and no Event', () => {
    const plan = planAll(snapshotOf(subnet('IPv6', { status: status([ready, corrected]) }), pod('a', { uid: 'uid-a' })), OPTIONS);
    expect(plan.actions.filter((a) => a.type === 'UpdateSubnetStatus' || a.type === 'EmitEvent')).toEqual([]);
  });

  it('fixed: the recorded correction is dropped from the status, and no Event', () => {
    const plan = planAll(snapshotOf(subnet('IPv4', { status: status([ready, corrected]) }), pod('a', { uid: 'uid-a' })), OPTIONS);
    expect(actionsOfType(plan, 'UpdateSubnetStatus').map((a) => a.status)).toEqual([status([ready])]);
    expect(actionsOfType(plan, 'EmitEvent')).toEqual([]);
  });
});
