// Rebuilding the allocator's state from existing claims (IP objects and pod annotations) at
// start-up, before anything is allocated. Claims are restored in the given order; a claim
// whose address or MAC is already held by an earlier one, or that no longer fits its subnet,
// is reported as a conflict and not restored: the first claimant keeps what it holds.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac, formatValue } from './Address.js';
import type { AllocationError } from './Errors.js';
import { allocationError } from './Errors.js';
import type { FamilyDraft } from './Draft.js';
import { Draft, familyDraft } from './Draft.js';
import type { Claim, IpamOptions, IpamState } from './IpamState.js';
import { addressOf, emptyState } from './IpamState.js';
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

const owner = (d: Draft, id: string): string => {
  const c = d.claims.get(id);
  return c === undefined ? id : `${c.owner.namespace}/${c.owner.name}`;
};

/** Restores one claim as it is (no allocation) inside a draft, or says why it cannot be. */
export const restoreClaim = (d: Draft, claim: Claim): E.Either<AllocationError, void> => {
  const s = d.subnet(claim.subnet);
  if (s === undefined) return E.left(allocationError('NoSubnet', `subnet ${claim.subnet} does not exist or is invalid`));
  if (d.claims.has(claim.id)) return E.left(allocationError('AddressConflict', `claim ${claim.id} is restored twice`));
  const takes: [FamilyDraft, bigint][] = [];
  for (const family of [4, 6] as const) {
    const value = addressOf(claim, family);
    if (value === undefined) continue;
    const text = formatValue(family, value);
    const f = familyDraft(s, family);
    if (f === undefined) return E.left(allocationError('AddressOutOfRange', `${text} is not in subnet ${claim.subnet} (${s.subnet.cidrBlock})`));
    const inside = RS.contains(f.pool.usable, value) || RS.contains(f.pool.excluded, value);
    if (!inside || value === f.pool.gateway) {
      return E.left(allocationError('AddressOutOfRange', `${text} is not a host address of subnet ${claim.subnet} (${f.pool.cidrText})`));
    }
    const holder = f.used.get(value);
    if (holder !== undefined) return E.left(allocationError('AddressConflict', `${text} is already held by ${owner(d, holder)} in subnet ${claim.subnet}`));
    takes.push([f, value]);
  }
  if (claim.mac !== undefined) {
    const holder = s.macs.get(claim.mac);
    if (holder !== undefined) {
      return E.left(allocationError('AddressConflict', `MAC ${formatMac(claim.mac)} is already used by ${owner(d, holder)} in subnet ${claim.subnet}`));
    }
    s.macs.set(claim.mac, claim.id);
  }
  for (const [f, value] of takes) f.used.set(value, claim.id);
  d.claims.set(claim.id, { ...claim, source: 'existing' });
  return E.right(undefined);
};

export const rebuild = (subnets: readonly Subnet[], claims: readonly Claim[], options?: IpamOptions): Rebuilt => {
  const d = new Draft(emptyState(subnets, options));
  const conflicts: RebuildConflict[] = [];
  for (const claim of claims) {
    const restored = restoreClaim(d, claim);
    if (E.isLeft(restored)) conflicts.push({ claim, error: restored.left });
  }
  return { state: d.commit(), conflicts };
};
