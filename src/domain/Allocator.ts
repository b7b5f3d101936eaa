// The allocator: pure functions from (state, request) to a new state and a claim, or an error.
// Rules (DESIGN §3.4, Kube-OVN pkg/ipam):
// - A claim that exists is returned as it is (source `existing`) unless the request now names
//   a different static address, MAC or subnet, in which case it is re-claimed.
// - Static `ipAddresses` win over `pool`; a static address may lie in excludeIps but not be
//   the network, broadcast or gateway address; one held by another claim is AddressConflict,
//   one outside the subnet AddressOutOfRange.
// - `pool` entries are tried in order and the first whose addresses are all free wins; with an
//   `ordinal` (StatefulSet) only the entry at that ordinal is tried. None free: NoAvailableAddress.
// - Dynamic: the lowest never-used usable address that is not held (named by a static request
//   or ip_pool elsewhere, see holdIn); released addresses only when none is left, lowest first,
//   each only once its cooldown has passed. Nothing left: NoAvailableAddress.
// - Dual-stack subnets give one address per family unless `family` (ip_family) asks for one;
//   a family a static request or pool entry does not name is allocated dynamically.
// - MAC: a static MAC must be unique in the subnet; OVN subnets generate one from `macSeed`
//   when none is given; IPAM-only subnets never generate one.
// Every allocation first decides everything by reading, then writes: it is all or nothing.
import * as E from 'fp-ts/lib/Either.js';
import type { Address, Family } from './Address.js';
import { familyName, formatMac, formatValue } from './Address.js';
import type { FamilyDraft, SubnetDraft } from './Draft.js';
import { Draft, familyDraft } from './Draft.js';
import type { AllocationError } from './Errors.js';
import { allocationError } from './Errors.js';
import type { Claim, ClaimKey, IpamState, PodRef, Source } from './IpamState.js';
import { addressOf, claimIdOf } from './IpamState.js';
import type { HeldBlock } from './HeldBlock.js';
import { generateMac } from './Mac.js';
import * as RS from './RangeSet.js';
import { poolsOf } from './Subnet.js';

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

interface Decision {
  readonly picks: readonly Pick[];
  readonly source: Source;
  readonly mac: bigint | undefined;
}

const noStatics: ReadonlyMap<Family, bigint> = new Map();

/** One family's decision: the address, and how taking it changes the family's indexes. */
interface Pick {
  readonly family: Family;
  readonly value: bigint;
  readonly fromReleased: boolean;
  readonly advancesMark: boolean;
}

const ownerText = (d: Draft, id: string): string => {
  const claim = d.claims.get(id);
  return claim === undefined ? id : `${claim.owner.namespace}/${claim.owner.name}`;
};

const checkStatic = (d: Draft, s: SubnetDraft, f: FamilyDraft, value: bigint, id: string): Result<Pick> => {
  const { pool } = f;
  const text = formatValue(pool.family, value);
  const where = `subnet ${s.subnet.name} (${pool.cidrText})`;
  if (value < pool.cidr.start || value > pool.cidr.end) return E.left(allocationError('AddressOutOfRange', `${text} is outside ${where}`));
  if (!RS.contains(pool.usable, value) && !RS.contains(pool.excluded, value)) {
    return E.left(allocationError('AddressOutOfRange', `${text} is not a host address of ${where}`));
  }
  if (value === pool.gateway) return E.left(allocationError('AddressConflict', `${text} is the gateway of ${where}`));
  const holder = f.used.get(value);
  if (holder !== undefined && holder !== id) {
    return E.left(allocationError('AddressConflict', `${text} is already held by ${ownerText(d, holder)} in ${where}`));
  }
  return E.right({ family: pool.family, value, fromReleased: f.released.has(value), advancesMark: false });
};

/** Named by a static request or an ip_pool list (one by one, or in a long list's block). */
const isHeld = (f: FamilyDraft, value: bigint): boolean => f.held.has(value) || f.heldBlocks.some((b) => b.has(value));

/** The lowest never-used address at or after the mark, else the lowest rested released one. */
const findDynamic = (s: SubnetDraft, f: FamilyDraft, now: number, cooldownMs: number): Result<Pick> => {
  const { family } = f.pool;
  const usable = f.dynamic;
  let candidate = RS.firstAtOrAfter(usable, f.mark);
  while (candidate !== undefined && (f.used.has(candidate) || f.released.has(candidate) || isHeld(f, candidate))) {
    candidate = RS.firstAtOrAfter(usable, candidate + 1n);
  }
  if (candidate !== undefined) return E.right({ family, value: candidate, fromReleased: false, advancesMark: true });
  for (const [value, releasedAt] of f.released.entries()) {
    if (now - releasedAt >= cooldownMs && !isHeld(f, value) && RS.contains(usable, value)) return E.right({ family, value, fromReleased: true, advancesMark: false });
  }
  const resting = f.released.size > 0 ? ` (${f.released.size} released address(es) still cooling down)` : '';
  return E.left(allocationError('NoAvailableAddress', `subnet ${s.subnet.name} has no free ${familyName(family)} address${resting}`));
};

/** `ranges ∩ usable`, computed once per (IPPool's ranges, subnet's usable addresses): both are
 *  immutable values built once per plan context, so every pod of a pool after the first costs
 *  no walk over the pool's ranges (issue #15). Keyed weakly: a dropped context frees its entries. */
const allowedCache = new WeakMap<RS.RangeSet, WeakMap<RS.RangeSet, RS.RangeSet>>();
const allowedIn = (ranges: RS.RangeSet, usable: RS.RangeSet): RS.RangeSet => {
  let byUsable = allowedCache.get(ranges);
  if (byUsable === undefined) allowedCache.set(ranges, (byUsable = new WeakMap()));
  let allowed = byUsable.get(usable);
  if (allowed === undefined) byUsable.set(usable, (allowed = RS.intersect(ranges, usable)));
  return allowed;
};

/** The lowest free address inside `ranges` (an IPPool), never-used before released. */
const findInRanges = (s: SubnetDraft, f: FamilyDraft, ranges: RS.RangeSet): Result<Pick> => {
  const { family } = f.pool;
  const allowed = allowedIn(ranges, f.pool.usable);
  let fallback: bigint | undefined;
  for (let c = RS.first(allowed); c !== undefined; c = RS.firstAtOrAfter(allowed, c + 1n)) {
    if (f.used.has(c) || isHeld(f, c)) continue;
    if (!f.released.has(c)) return E.right({ family, value: c, fromReleased: false, advancesMark: false });
    fallback ??= c;
  }
  if (fallback !== undefined) return E.right({ family, value: fallback, fromReleased: true, advancesMark: false });
  return E.left(allocationError('NoAvailableAddress', `the IP pool in subnet ${s.subnet.name} has no free ${familyName(family)} address`));
};

/** Decides every wanted family: the given static value when there is one, else dynamic. */
const decideFamilies = (d: Draft, s: SubnetDraft, wanted: readonly Family[], statics: ReadonlyMap<Family, bigint>, req: AllocationRequest, id: string): Result<Pick[]> => {
  const picks: Pick[] = [];
  for (const family of wanted) {
    const f = familyDraft(s, family)!;
    const value = statics.get(family);
    const ranges = family === 4 ? req.poolRanges?.v4 : req.poolRanges?.v6;
    const pick =
      value !== undefined ? checkStatic(d, s, f, value, id)
      : ranges !== undefined ? findInRanges(s, f, ranges)
      : findDynamic(s, f, req.now, d.cooldownMs);
    if (E.isLeft(pick)) return pick;
    picks.push(pick.right);
  }
  return E.right(picks);
};

const decideMac = (d: Draft, s: SubnetDraft, req: AllocationRequest, id: string): Result<bigint | undefined> => {
  if (req.mac !== undefined) {
    const holder = s.macs.get(req.mac);
    if (holder !== undefined && holder !== id) {
      return E.left(allocationError('AddressConflict', `MAC ${formatMac(req.mac)} is already used by ${ownerText(d, holder)} in subnet ${s.subnet.name}`));
    }
    return E.right(req.mac);
  }
  if (!s.subnet.isOvn || req.macSeed === undefined) return E.right(undefined);
  for (let attempt = 0; attempt < 64; attempt++) {
    const mac = generateMac(req.macSeed, attempt);
    if (!s.macs.has(mac)) return E.right(mac);
  }
  return E.left(allocationError('NoAvailableAddress', `no unique MAC could be generated in subnet ${s.subnet.name}`));
};

const wantedFamilies = (s: SubnetDraft, req: AllocationRequest): Result<readonly Family[]> => {
  const all = poolsOf(s.subnet).map((p) => p.family);
  if (req.family === undefined) return E.right(all);
  if (!all.includes(req.family)) {
    return E.left(allocationError('InvalidIPFamily', `ip_family ${familyName(req.family)} is not served by subnet ${s.subnet.name} (protocol ${s.subnet.protocol})`));
  }
  return E.right([req.family]);
};

/** Static addresses by family, each of a family the subnet serves and ip_family allows. */
const staticsOf = (s: SubnetDraft, req: AllocationRequest, addresses: readonly Address[]): Result<ReadonlyMap<Family, bigint>> => {
  const statics = new Map<Family, bigint>();
  for (const a of addresses) {
    const text = formatValue(a.family, a.value);
    if (req.family !== undefined && a.family !== req.family) {
      return E.left(allocationError('InvalidIPFamily', `${text} is ${familyName(a.family)} but ip_family asks for ${familyName(req.family)}`));
    }
    if (familyDraft(s, a.family) === undefined) {
      return E.left(allocationError('AddressOutOfRange', `${text} is ${familyName(a.family)} but subnet ${s.subnet.name} (${s.subnet.cidrBlock}) has no ${familyName(a.family)} CIDR`));
    }
    statics.set(a.family, a.value);
  }
  return E.right(statics);
};

/** How many entries of an exhausted ip_pool its error names. */
const POOL_ENTRIES_TOLD = 8;

const entryAddresses = (entry: PoolEntry): readonly Address[] => [entry.v4, entry.v6].filter((a): a is Address => a !== undefined);
const entryText = (entry: PoolEntry): string => entryAddresses(entry).map((a) => formatValue(a.family, a.value)).join(',');

/** Does a claim other than `id` hold one of the entry's addresses? */
const takenByOther = (s: SubnetDraft, entry: PoolEntry, id: string): boolean => {
  for (const a of [entry.v4, entry.v6]) {
    const holder = a === undefined ? undefined : familyDraft(s, a.family)?.used.get(a.value);
    if (holder !== undefined && holder !== id) return true;
  }
  return false;
};

const decideFromPool = (d: Draft, s: SubnetDraft, wanted: readonly Family[], req: AllocationRequest, id: string, pool: readonly PoolEntry[]): Result<Pick[]> => {
  const tryEntry = (entry: PoolEntry): Result<Pick[]> => {
    const statics = staticsOf(s, req, entryAddresses(entry));
    return E.isLeft(statics) ? statics : decideFamilies(d, s, wanted, statics.right, req, id);
  };
  if (req.ordinal !== undefined) {
    const entry = pool[req.ordinal];
    if (entry === undefined) return E.left(allocationError('NoAvailableAddress', `ip_pool has ${pool.length} entries, none for StatefulSet ordinal ${req.ordinal}`));
    return tryEntry(entry);
  }
  // An entry one of whose addresses another claim holds always fails (in staticsOf or
  // checkStatic): those are skipped without building their reasons, so a pod of a big workload
  // does not format every earlier pod's address. The reasons are built only when none is free.
  for (let i = 0; i < pool.length; i++) {
    if (takenByOther(s, pool[i]!, id)) continue;
    const attempt = tryEntry(pool[i]!);
    if (E.isRight(attempt)) return attempt;
  }
  // A long pool is told by its first entries and their reasons, and how many more: the
  // message goes into an Event and a log line, and is built at every plan of a waiting pod.
  const shown = pool.slice(0, POOL_ENTRIES_TOLD);
  const reasons = shown.map((entry) => {
    const attempt = tryEntry(entry);
    return E.isLeft(attempt) ? attempt.left.message : '';
  });
  const separator = pool.some((e) => e.v4 !== undefined && e.v6 !== undefined) ? ';' : ',';
  const more = pool.length - shown.length;
  const entries = more === 0 ? shown.map(entryText).join(separator) : `of ${pool.length} entries (${shown.map(entryText).join(separator)}${separator}…)`;
  return E.left(allocationError('NoAvailableAddress', `no entry of ip_pool ${entries} is free: ${reasons.join('; ')}${more === 0 ? '' : `; and ${more} more entries`}`));
};

/** Writes a decided claim into the draft. */
const take = (s: SubnetDraft, picks: readonly Pick[], mac: bigint | undefined, claim: Claim, d: Draft): void => {
  for (const p of picks) {
    const f = familyDraft(s, p.family)!;
    f.used.set(p.value, claim.id);
    if (p.fromReleased) f.released.delete(p.value);
    if (p.advancesMark) f.mark = p.value + 1n;
  }
  if (mac !== undefined) s.macs.set(mac, claim.id);
  d.claims.set(claim.id, claim);
};

/** Releases a claim inside a draft: addresses go to released (reused last), the MAC is freed. */
export const releaseIn = (d: Draft, id: string, now: number): void => {
  const claim = d.claims.get(id);
  if (claim === undefined) return;
  d.claims.delete(id);
  const s = d.subnet(claim.subnet);
  if (s === undefined) return;
  if (claim.mac !== undefined && s.macs.get(claim.mac) === id) s.macs.delete(claim.mac);
  for (const family of [4, 6] as const) {
    const value = addressOf(claim, family);
    const f = familyDraft(s, family);
    if (value === undefined || f === undefined || f.used.get(value) !== id) continue;
    f.used.delete(value);
    if (RS.contains(f.pool.usable, value)) f.released.set(value, now);
  }
};

const decide = (d: Draft, s: SubnetDraft, req: AllocationRequest, id: string): Result<Decision> => {
  const wanted = wantedFamilies(s, req);
  if (E.isLeft(wanted)) return wanted;
  let source: Source;
  let picks: Result<Pick[]>;
  if (req.ipAddresses !== undefined && req.ipAddresses.length > 0) {
    const statics = staticsOf(s, req, req.ipAddresses);
    if (E.isLeft(statics)) return statics;
    source = 'static';
    picks = decideFamilies(d, s, wanted.right, statics.right, req, id);
  } else if (req.pool !== undefined && req.pool.length > 0) {
    source = 'pool';
    picks = decideFromPool(d, s, wanted.right, req, id, req.pool);
  } else {
    source = req.poolRanges !== undefined ? 'pool' : 'dynamic';
    picks = decideFamilies(d, s, wanted.right, noStatics, req, id);
  }
  if (E.isLeft(picks)) return picks;
  const mac = decideMac(d, s, req, id);
  if (E.isLeft(mac)) return mac;
  return E.right({ picks: picks.right, source, mac: mac.right });
};

const unchanged = (claim: Claim, req: AllocationRequest): boolean =>
  claim.subnet === req.subnet &&
  (req.ipAddresses ?? []).every((a) => addressOf(claim, a.family) === a.value) &&
  (req.mac === undefined || req.mac === claim.mac);

/** Allocates inside a draft; on error the draft is as it was. */
export const allocateIn = (d: Draft, req: AllocationRequest): Result<Claim> => {
  const id = claimIdOf(req.key);
  const existing = d.claims.get(id);
  if (existing !== undefined && unchanged(existing, req)) return E.right({ ...existing, source: 'existing' });
  const s = d.subnet(req.subnet);
  if (s === undefined) return E.left(allocationError('NoSubnet', `subnet ${req.subnet} does not exist or is invalid`));
  // A changed claim is released first so its own addresses do not count against it; on
  // failure it is put back exactly (see restoreIn).
  if (existing !== undefined) releaseIn(d, id, req.now);
  const decision = decide(d, s, req, id);
  if (E.isLeft(decision)) {
    if (existing !== undefined) restoreIn(d, existing);
    return decision;
  }
  const { picks, source, mac } = decision.right;
  const claim: Claim = {
    id, key: req.key, owner: req.owner, subnet: req.subnet,
    v4: picks.find((p) => p.family === 4)?.value, v6: picks.find((p) => p.family === 6)?.value, mac, source,
  };
  take(s, picks, mac, claim, d);
  return E.right(claim);
};

/** Puts a just-released claim back as it was (used, MAC, claim) and out of released. */
const restoreIn = (d: Draft, claim: Claim): void => {
  const s = d.subnet(claim.subnet);
  if (s === undefined) return;
  for (const family of [4, 6] as const) {
    const value = addressOf(claim, family);
    const f = familyDraft(s, family);
    if (value === undefined || f === undefined) continue;
    f.used.set(value, claim.id);
    f.released.delete(value);
  }
  if (claim.mac !== undefined) s.macs.set(claim.mac, claim.id);
  d.claims.set(claim.id, claim);
};

/** Allocates (or returns the existing claim for) one pod interface. */
export const allocate = (state: IpamState, req: AllocationRequest): Result<Allocated> => {
  const d = new Draft(state);
  const claim = allocateIn(d, req);
  return E.isLeft(claim) ? claim : E.right({ state: d.commit(), claim: claim.right });
};

/** Allocates a batch in order, each as `allocate` would; one commit at the end. */
export const allocateAll = (state: IpamState, reqs: readonly AllocationRequest[]): { readonly state: IpamState; readonly results: readonly Result<Claim>[] } => {
  const d = new Draft(state);
  const results = reqs.map((r) => allocateIn(d, r));
  return { state: d.commit(), results };
};

/** Holds addresses of a subnet back from dynamic allocation (static requests may still take
 *  them). Addresses of a family the subnet lacks, or outside it, are ignored. */
export const holdIn = (d: Draft, subnet: string, addresses: readonly Address[]): void => {
  const s = d.subnet(subnet);
  if (s === undefined) return;
  for (const a of addresses) {
    const f = familyDraft(s, a.family);
    if (f !== undefined && RS.contains(f.pool.usable, a.value)) f.held.set(a.value, true);
  }
};

/** Holds a long ip_pool list's blocks (HeldBlock.ts) in a subnet, each once: what holdIn of
 *  their addresses would hold, by reference. */
export const holdBlocksIn = (d: Draft, subnet: string, blocks: readonly HeldBlock[]): void => {
  const s = d.subnet(subnet);
  if (s === undefined) return;
  for (const b of blocks) {
    const f = familyDraft(s, b.family);
    if (f !== undefined && b.size > 0 && !f.heldBlocks.includes(b)) f.heldBlocks = [...f.heldBlocks, b];
  }
};

/** Keeps the ranges of IPPools out of dynamic allocation in a subnet: only pods that name
 *  their IPPool get those addresses. */
export const reserveForPoolsIn = (d: Draft, subnet: string, ranges: { readonly v4?: RS.RangeSet | undefined; readonly v6?: RS.RangeSet | undefined }): void => {
  const s = d.subnet(subnet);
  if (s === undefined) return;
  for (const family of [4, 6] as const) {
    const f = familyDraft(s, family);
    const r = family === 4 ? ranges.v4 : ranges.v6;
    if (f !== undefined && r !== undefined && r.length > 0) f.dynamic = RS.subtract(f.dynamic, r);
  }
};

/** Releases a claim. Releasing an unknown claim returns the state unchanged. */
export const release = (state: IpamState, id: string, now: number): IpamState => {
  if (!state.claims.has(id)) return state;
  const d = new Draft(state);
  releaseIn(d, id, now);
  return d.commit();
};
