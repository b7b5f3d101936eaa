// The prepared path of the validating rule: a request plans into a Draft over the prepared
// state and leaves it as it was, so requests answered from one state never see each other.
import { describe, it, expect } from '@jest/globals';
import type { AdmissionDecision } from '../../../src/domain/admission/Admission.js';
import { prepareAdmission, validateWith } from '../../../src/domain/admission/Admission.js';
import { deploymentObject, ipObject, objects, ovnDefault, podObject, snapshotOf, subnetObject } from '../planner/snapshots.js';
import { requestFor } from './requests.js';

const OPTIONS = { now: 0 };
const allowed = (...warnings: string[]): AdmissionDecision => ({ allowed: true, warnings, patch: [] });

describe('a prepared state is not changed by the requests answered from it', () => {
  it('two pods asking for the same free static address are each allowed, and the state holds the same claims', () => {
    const snapshot = snapshotOf(ovnDefault(), objects('holder.yaml',
      podObject('holder', { uid: 'uid-holder' }), ipObject('holder.default', 'holder', 'ovn-default', '10.16.0.20', { podUid: 'uid-holder', mac: '0a:00:00:00:00:20' })));
    const prepared = prepareAdmission(snapshot, OPTIONS);
    const claims = [...prepared.planner.ipam.claims.entries()];
    const request = (name: string) => requestFor(podObject(name, { uid: `uid-${name}`, annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.21' } }));
    expect(validateWith(prepared, snapshot, request('a'), OPTIONS)).toEqual(allowed());
    expect(validateWith(prepared, snapshot, request('b'), OPTIONS)).toEqual(allowed());
    expect([...prepared.planner.ipam.claims.entries()]).toEqual(claims);
  });

  it('a workload whose simulated pods fill the subnet does not fill it for the next request', () => {
    const snapshot = snapshotOf(objects('small.yaml', subnetObject('ovn-default', '10.16.0.0/29')));
    const prepared = prepareAdmission(snapshot, OPTIONS);
    const web = requestFor(deploymentObject('web', 4, {}, 'Recreate'));
    const first = validateWith(prepared, snapshot, web, OPTIONS);
    expect(first).toEqual(allowed());
    expect(validateWith(prepared, snapshot, web, OPTIONS)).toEqual(first);
    expect([...prepared.planner.ipam.claims.entries()]).toEqual([]);
  });
});
