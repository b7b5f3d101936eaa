// Events on Subnets (issue #13 item 5): what canonicalisation corrected in a Subnet's spec (a
// `protocol` that disagrees with its CIDRs, corrected from them as Kube-OVN's formatSubnet does)
// is told once per change as a Warning Event on the Subnet, not on every resync. The record of
// what was told is the Subnet's own status condition `SpecCorrected` (Records.statusOf): the
// Event is planned while that condition does not yet say the current correction, and the
// status write that records it goes with it.
import * as E from 'fp-ts/lib/Either.js';
import type { Action } from './Plan.js';
import type { PlanContext } from './PlanContext.js';
import { CORRECTED_CONDITION } from './Records.js';
import { warningText } from './Subnet.js';

/** The Warning Event a Subnet's correction calls for, or undefined when there is none or its
 *  status already records it. */
export const subnetEventOf = (ctx: PlanContext, name: string): Action | undefined => {
  const s = ctx.subnets.get(name);
  if (s === undefined || E.isLeft(s)) return undefined;
  const warning = warningText(s.right);
  if (warning === '') return undefined;
  const recorded = (ctx.snapshot.subnets.get(name)?.object.status?.conditions ?? []).some((c) => c.type === CORRECTED_CONDITION && c.message === warning);
  if (recorded) return undefined;
  const message = `subnet ${name}: ${warning}`;
  return { type: 'EmitEvent', kind: 'Subnet', target: name, reason: message, event: { type: 'Warning', reason: 'SubnetSpecCorrected', message } };
};
