// Subnet usage for the Subnet status (Kube-OVN's v4usingIPs, v4availableIPs, v4usingIPrange,
// v4availableIPrange and the v6 twins): using counts live claims of the family; available
// counts the usable addresses (host range minus excludes and gateway) not in use. Ranges are
// in the status's `a-b,c` form. Counts are bigint: an IPv6 /64 does not fit a number.
import type { Family } from './Address.js';
import type { IpamState } from './IpamState.js';
import { familyState } from './IpamState.js';
import * as RS from './RangeSet.js';

export interface FamilyUsage {
  readonly family: Family;
  readonly using: bigint;
  readonly available: bigint;
  readonly usingRange: string;
  readonly availableRange: string;
}

export interface SubnetUsage {
  readonly subnet: string;
  readonly v4?: FamilyUsage | undefined;
  readonly v6?: FamilyUsage | undefined;
}

export const subnetUsage = (state: IpamState, name: string): SubnetUsage | undefined => {
  const s = state.subnets.get(name);
  if (s === undefined) return undefined;
  const usage = (family: Family): FamilyUsage | undefined => {
    const f = familyState(s, family);
    if (f === undefined) return undefined;
    const used = RS.fromSortedValues([...f.used.entries()].map(([value]) => value));
    const available = RS.subtract(f.pool.usable, used);
    return {
      family,
      using: BigInt(f.used.size),
      available: RS.count(available),
      usingRange: RS.format(used, family),
      availableRange: RS.format(available, family),
    };
  };
  return { subnet: name, v4: usage(4), v6: usage(6) };
};
