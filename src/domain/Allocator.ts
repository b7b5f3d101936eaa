// The allocator: pure functions from (state, request) to a new state and a claim, or an error.
// Rules (DESIGN §3.4, Kube-OVN pkg/ipam):
// - A claim that exists is returned as it is (source `existing`) unless the request now names
//   a different static address or subnet, in which case it is re-claimed.
// - Static `ipAddresses` win over `pool`; a static address may lie in excludeIps but not be
//   the network, broadcast or gateway address; one held by another claim is AddressConflict,
//   one outside the subnet AddressOutOfRange.
// - `pool` entries are tried in order and the first whose addresses are all free wins; with an
//   `ordinal` (StatefulSet) only the entry at that ordinal is tried. None free: NoAvailableAddress.
// - Dynamic: the lowest never-used usable address; released addresses only when none is left,
//   lowest first, each only once its cooldown has passed. Nothing left: NoAvailableAddress.
// - Dual-stack subnets give one address per family unless `family` (ip_family) asks for one;
//   a family a static request or pool entry does not name is allocated dynamically.
// - MAC: a static MAC must be unique in the subnet; OVN subnets generate one from `macSeed`
//   when none is given; IPAM-only subnets never generate one.
import * as E from 'fp-ts/lib/Either.js';
import type { Address, Family } from './Address.js';
import { familyName, formatMac, formatValue } from './Address.js';
import type { AllocationError } from './Errors.js';
import { allocationError } from './Errors.js';
import type { Claim, ClaimKey, FamilyState, IpamState, PodRef, Source, SubnetState } from './IpamState.js';
import { addressOf, claimIdOf, familyState, families, withFamily } from './IpamState.js';
import { generateMac } from './Mac.js';
import * as RS from './RangeSet.js';

export interface PoolEntry {
  readonly v4?: Address | undefined;
  readonly v6?: Address | undefined;
}

export interface AllocationRequest {
  readonly key: ClaimKey;
  readonly owner: PodRef;
  readonly subnet: string;
  readonly ipAddresses?: readonly Address[] | undefined;
  readonly pool?: readonly PoolEntry[] | undefined;
  /** Restricts dynamic allocation to these ranges (an IPPool named by `ip_pool`). */
  readonly poolRanges?: { readonly v4?: RS.RangeSet | undefined; readonly v6?: RS.RangeSet | undefined } | undefined;
  readonly ordinal?: number | undefined;
  readonly family?: Family | undefined;
  readonly mac?: bigint | undefined;
  /** Seed for a generated MAC (OVN subnets only). */
  readonly macSeed?: string | undefined;
  /** The clock, as data: release times and cooldowns are compared against it. */
  readonly now: number;
}

export interface Allocated {
  readonly state: IpamState;
  readonly claim: Claim;
}

type Result<A> = E.Either<AllocationError, A>;

const ownerText = (state: IpamState, id: string): string => {
  const claim = state.claims.get(id);
  return claim === undefined ? id : `${claim.owner.namespace}/${claim.owner.name}`;
};

/** Checks and takes one static address for `id`. */
const claimStatic = (state: IpamState, s: SubnetState, f: FamilyState, value: bigint, id: string): Result<FamilyState> => {
  const { pool } = f;
  const text = formatValue(pool.family, value);
  const where = `subnet ${s.subnet.name} (${pool.cidrText})`;
  if (value < pool.cidr.start || value > pool.cidr.end) return E.left(allocationError('AddressOutOfRange', `${text} is outside ${where}`));
  const host = RS.contains(pool.usable, value) || RS.contains(pool.excluded, value);
  if (!host) return E.left(allocationError('AddressOutOfRange', `${text} is not a host address of ${where}`));
  if (value === pool.gateway) return E.left(allocationError('AddressConflict', `${text} is the gateway of ${where}`));
  const holder = f.used.get(value);
  if (holder !== undefined && holder !== id) {
    return E.left(allocationError('AddressConflict', `${text} is already held by ${ownerText(state, holder)} in ${where}`));
  }
  return E.right({ ...f, used: f.used.set(value, id), released: f.released.delete(value) });
};

/** Takes the lowest never-used address at or after the mark, else the lowest rested released one. */
const claimDynamic = (s: SubnetState, f: FamilyState, id: string, now: number, cooldownMs: number): Result<[FamilyState, bigint]> => {
  const { usable } = f.pool;
  let candidate = RS.firstAtOrAfter(usable, f.mark);
  while (candidate !== undefined && (f.used.has(candidate) || f.released.has(candidate))) {
    candidate = RS.firstAtOrAfter(usable, candidate + 1n);
  }
  if (candidate !== undefined) {
    return E.right([{ ...f, used: f.used.set(candidate, id), mark: candidate + 1n }, candidate]);
  }
  for (const [value, releasedAt] of f.released.entries()) {
    if (now - releasedAt >= cooldownMs) {
      return E.right([{ ...f, used: f.used.set(value, id), released: f.released.delete(value) }, value]);
    }
  }
  const resting = f.released.size > 0 ? ` (${f.released.size} released address(es) still cooling down)` : '';
  return E.left(allocationError('NoAvailableAddress', `subnet ${s.subnet.name} has no free ${familyName(f.pool.family)} address${resting}`));
};

/** Lowest free address inside `ranges` (an IPPool), never-used before released. */
const claimInRanges = (s: SubnetState, f: FamilyState, ranges: RS.RangeSet, id: string): Result<[FamilyState, bigint]> => {
  const allowed = RS.intersect(ranges, f.pool.usable);
  let fallback: bigint | undefined;
  for (let c = RS.first(allowed); c !== undefined; c = RS.firstAtOrAfter(allowed, c + 1n)) {
    if (f.used.has(c)) continue;
    if (f.released.has(c)) {
      fallback ??= c;
      continue;
    }
    return E.right([{ ...f, used: f.used.set(c, id) }, c]);
  }
  if (fallback !== undefined) return E.right([{ ...f, used: f.used.set(fallback, id), released: f.released.delete(fallback) }, fallback]);
  return E.left(allocationError('NoAvailableAddress', `the IP pool in subnet ${s.subnet.name} has no free ${familyName(f.pool.family)} address`));
};

type Picks = ReadonlyMap<Family, bigint>;

/** Claims every family of `wanted`: the picked address when given, else a dynamic one. */
const claimFamilies = (
  state: IpamState,
  s: SubnetState,
  wanted: readonly Family[],
  picks: Picks,
  req: AllocationRequest,
  id: string,
): Result<[SubnetState, Map<Family, bigint>]> => {
  let next = s;
  const got = new Map<Family, bigint>();
  for (const family of wanted) {
    const f = familyState(next, family)!;
    const picked = picks.get(family);
    const ranges = family === 4 ? req.poolRanges?.v4 : req.poolRanges?.v6;
    let result: Result<[FamilyState, bigint]>;
    if (picked !== undefined) result = E.map((fs: FamilyState): [FamilyState, bigint] => [fs, picked])(claimStatic(state, next, f, picked, id));
    else if (ranges !== undefined) result = claimInRanges(next, f, ranges, id);
    else result = claimDynamic(next, f, id, req.now, state.options.cooldownMs);
    if (E.isLeft(result)) return result;
    next = withFamily(next, family, result.right[0]);
    got.set(family, result.right[1]);
  }
  return E.right([next, got]);
};

const claimMac = (state: IpamState, s: SubnetState, req: AllocationRequest, id: string): Result<[SubnetState, bigint | undefined]> => {
  if (req.mac !== undefined) {
    const holder = s.macs.get(req.mac);
    if (holder !== undefined && holder !== id) {
      return E.left(allocationError('AddressConflict', `MAC ${formatMac(req.mac)} is already used by ${ownerText(state, holder)} in subnet ${s.subnet.name}`));
    }
    return E.right([{ ...s, macs: s.macs.set(req.mac, id) }, req.mac]);
  }
  if (!s.subnet.isOvn || req.macSeed === undefined) return E.right([s, undefined]);
  for (let attempt = 0; attempt < 64; attempt++) {
    const mac = generateMac(req.macSeed, attempt);
    if (!s.macs.has(mac)) return E.right([{ ...s, macs: s.macs.set(mac, id) }, mac]);
  }
  return E.left(allocationError('NoAvailableAddress', `no unique MAC could be generated in subnet ${s.subnet.name}`));
};

/** Which families the request wants, or InvalidIPFamily. */
const wantedFamilies = (s: SubnetState, req: AllocationRequest): Result<readonly Family[]> => {
  const all = families(s);
  if (req.family === undefined) return E.right(all);
  if (!all.includes(req.family)) {
    return E.left(allocationError('InvalidIPFamily', `ip_family ${familyName(req.family)} is not served by subnet ${s.subnet.name} (protocol ${s.subnet.protocol})`));
  }
  return E.right([req.family]);
};

/** Picks from static addresses: one per family, each of a family the subnet serves. */
const staticPicks = (s: SubnetState, req: AllocationRequest, addresses: readonly Address[]): Result<Picks> => {
  const picks = new Map<Family, bigint>();
  for (const a of addresses) {
    const text = formatValue(a.family, a.value);
    if (req.family !== undefined && a.family !== req.family) {
      return E.left(allocationError('InvalidIPFamily', `${text} is ${familyName(a.family)} but ip_family asks for ${familyName(req.family)}`));
    }
    if (familyState(s, a.family) === undefined) {
      return E.left(allocationError('AddressOutOfRange', `${text} is ${familyName(a.family)} but subnet ${s.subnet.name} (${s.subnet.cidrBlock}) has no ${familyName(a.family)} CIDR`));
    }
    picks.set(a.family, a.value);
  }
  return E.right(picks);
};

const entryText = (entry: PoolEntry): string =>
  [entry.v4, entry.v6].filter((a): a is Address => a !== undefined).map((a) => formatValue(a.family, a.value)).join(',');

const toAddresses = (entry: PoolEntry): readonly Address[] => [entry.v4, entry.v6].filter((a): a is Address => a !== undefined);

type Attempt = Result<[SubnetState, Map<Family, bigint>]>;

const fromPool = (state: IpamState, s: SubnetState, wanted: readonly Family[], req: AllocationRequest, id: string, pool: readonly PoolEntry[]): Attempt => {
  const tryEntry = (entry: PoolEntry): Attempt =>
    E.chain((picks: Picks) => claimFamilies(state, s, wanted, picks, req, id))(staticPicks(s, req, toAddresses(entry)));
  if (req.ordinal !== undefined) {
    const entry = pool[req.ordinal];
    if (entry === undefined) {
      return E.left(allocationError('NoAvailableAddress', `ip_pool has ${pool.length} entries, none for StatefulSet ordinal ${req.ordinal}`));
    }
    return tryEntry(entry);
  }
  const reasons: string[] = [];
  for (const entry of pool) {
    const attempt = tryEntry(entry);
    if (E.isRight(attempt)) return attempt;
    reasons.push(attempt.left.message);
  }
  return E.left(allocationError('NoAvailableAddress', `no entry of ip_pool ${pool.map(entryText).join(';')} is free: ${reasons.join('; ')}`));
};

const sameStatic = (claim: Claim, addresses: readonly Address[] | undefined): boolean =>
  addresses === undefined || addresses.every((a) => addressOf(claim, a.family) === a.value);

/** Allocates (or returns the existing claim for) one pod interface. */
export const allocate = (state: IpamState, req: AllocationRequest): E.Either<AllocationError, Allocated> => {
  const id = claimIdOf(req.key);
  const existing = state.claims.get(id);
  if (existing !== undefined && existing.subnet === req.subnet && sameStatic(existing, req.ipAddresses) && (req.mac === undefined || req.mac === existing.mac)) {
    return E.right({ state, claim: { ...existing, source: 'existing' } });
  }
  const base = existing === undefined ? state : release(state, id, req.now);
  const s = base.subnets.get(req.subnet);
  if (s === undefined) return E.left(allocationError('NoSubnet', `subnet ${req.subnet} does not exist or is invalid`));
  const wanted = wantedFamilies(s, req);
  if (E.isLeft(wanted)) return wanted;

  let attempt: Attempt;
  let source: Source;
  if (req.ipAddresses !== undefined && req.ipAddresses.length > 0) {
    source = 'static';
    attempt = E.chain((picks: Picks) => claimFamilies(base, s, wanted.right, picks, req, id))(staticPicks(s, req, req.ipAddresses));
  } else if (req.pool !== undefined && req.pool.length > 0) {
    source = 'pool';
    attempt = fromPool(base, s, wanted.right, req, id, req.pool);
  } else {
    source = req.poolRanges !== undefined ? 'pool' : 'dynamic';
    attempt = claimFamilies(base, s, wanted.right, new Map(), req, id);
  }
  if (E.isLeft(attempt)) return attempt;
  const [withAddresses, got] = attempt.right;
  const mac = claimMac(base, withAddresses, req, id);
  if (E.isLeft(mac)) return mac;
  const [finalSubnet, macValue] = mac.right;
  const claim: Claim = { id, key: req.key, owner: req.owner, subnet: req.subnet, v4: got.get(4), v6: got.get(6), mac: macValue, source };
  return E.right({
    state: { ...base, subnets: base.subnets.set(req.subnet, finalSubnet), claims: base.claims.set(id, claim) },
    claim,
  });
};

/** Releases a claim: its addresses return to the pool as released (reused last), its MAC is
 *  freed. Releasing an unknown claim returns the state unchanged. */
export const release = (state: IpamState, id: string, now: number): IpamState => {
  const claim = state.claims.get(id);
  if (claim === undefined) return state;
  const claims = state.claims.delete(id);
  const s = state.subnets.get(claim.subnet);
  if (s === undefined) return { ...state, claims };
  let next: SubnetState = claim.mac !== undefined && s.macs.get(claim.mac) === id ? { ...s, macs: s.macs.delete(claim.mac) } : s;
  for (const family of families(next)) {
    const value = addressOf(claim, family);
    const f = familyState(next, family)!;
    if (value === undefined || f.used.get(value) !== id) continue;
    const released = RS.contains(f.pool.usable, value) ? f.released.set(value, now) : f.released;
    next = withFamily(next, family, { ...f, used: f.used.delete(value), released });
  }
  return { ...state, claims, subnets: state.subnets.set(claim.subnet, next) };
};

