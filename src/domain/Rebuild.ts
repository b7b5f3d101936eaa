// Rebuilding the allocator's state from existing claims (IP objects and pod annotations) at
// start-up, before anything is allocated. Claims are restored in the given order; a claim
// whose address or MAC is already held by an earlier one, or that no longer fits its subnet,
// is reported as a conflict and not restored: the first claimant keeps what it holds.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac, formatValue } from './Address.js';
import type { AllocationError } from './Errors.js';
import { allocationError } from './Errors.js';
import type { Claim, IpamOptions, IpamState, SubnetState } from './IpamState.js';
import { addressOf, emptyState, familyState, families, withFamily } from './IpamState.js';
import * as RS from './RangeSet.js';
import type { Subnet } from './Subnet.js';

export interface RebuildConflict {
  readonly claim: Claim;
  readonly error: AllocationError;
}

export interface Rebuilt {
  readonly state: IpamState;
  readonly conflicts: readonly RebuildConflict[];
}

const owner = (state: IpamState, id: string): string => {
  const c = state.claims.get(id);
  return c === undefined ? id : `${c.owner.namespace}/${c.owner.name}`;
};

/** Restores one claim as it is (no allocation), or says why it cannot be. */
export const restore = (state: IpamState, claim: Claim): E.Either<AllocationError, IpamState> => {
  const s = state.subnets.get(claim.subnet);
  if (s === undefined) return E.left(allocationError('NoSubnet', `subnet ${claim.subnet} does not exist or is invalid`));
  if (state.claims.has(claim.id)) return E.left(allocationError('AddressConflict', `claim ${claim.id} is restored twice`));
  let next: SubnetState = s;
  for (const family of [4, 6] as const) {
    const value = addressOf(claim, family);
    if (value === undefined) continue;
    const text = formatValue(family, value);
    const f = familyState(next, family);
    if (f === undefined || !families(next).includes(family)) {
      return E.left(allocationError('AddressOutOfRange', `${text} is not in subnet ${claim.subnet} (${s.subnet.cidrBlock})`));
    }
    const inside = RS.contains(f.pool.usable, value) || RS.contains(f.pool.excluded, value);
    if (!inside || value === f.pool.gateway) {
      return E.left(allocationError('AddressOutOfRange', `${text} is not a host address of subnet ${claim.subnet} (${f.pool.cidrText})`));
    }
    const holder = f.used.get(value);
    if (holder !== undefined) return E.left(allocationError('AddressConflict', `${text} is already held by ${owner(state, holder)} in subnet ${claim.subnet}`));
    next = withFamily(next, family, { ...f, used: f.used.set(value, claim.id) });
  }
  if (claim.mac !== undefined) {
    const holder = next.macs.get(claim.mac);
    if (holder !== undefined) {
      return E.left(allocationError('AddressConflict', `MAC ${formatMac(claim.mac)} is already used by ${owner(state, holder)} in subnet ${claim.subnet}`));
    }
    next = { ...next, macs: next.macs.set(claim.mac, claim.id) };
  }
  return E.right({ ...state, subnets: state.subnets.set(claim.subnet, next), claims: state.claims.set(claim.id, { ...claim, source: 'existing' }) });
};

export const rebuild = (subnets: readonly Subnet[], claims: readonly Claim[], options?: IpamOptions): Rebuilt => {
  let state = emptyState(subnets, options);
  const conflicts: RebuildConflict[] = [];
  for (const claim of claims) {
    const restored = restore(state, claim);
    if (E.isLeft(restored)) conflicts.push({ claim, error: restored.left });
    else state = restored.right;
  }
  return { state, conflicts };
};
