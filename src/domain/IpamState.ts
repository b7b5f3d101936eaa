// The allocator's state: immutable and indexed. Every update returns a new state sharing all
// untouched structure with the old one (persistent B+ trees), so each change costs O(log n).
// Per subnet and family it keeps:
// - used: address → claim id (the live claims);
// - released: address → release time, addresses freed since start-up, reused only when no
//   never-used address is left (and, with a cooldown, only once it has passed);
// - held: addresses that static requests or ip_pool lists name, skipped by dynamic allocation;
// - mark: every usable address below it is used, released or held, so the next never-used
//   address is found from there instead of from the start of the subnet.
// Released and mark are hints that make reuse fair; they are not part of a claim and a rebuild
// from claims starts them afresh. A claim's identity is the pod UID plus provider (plus
// interface when the same network is attached twice), never the pod name.
import type { Family } from './Address.js';
import { compareBigint } from './Address.js';
import type { HeldBlock } from './HeldBlock.js';
import { SortedMap } from './SortedMap.js';
import type { FamilyPool, Subnet } from './Subnet.js';
import * as RS from './RangeSet.js';

export type ClaimId = string;

export interface ClaimKey {
  readonly podUid: string;
  readonly provider: string;
  /** Only when the same network is attached twice to one pod. */
  readonly interface?: string | undefined;
}

export const claimIdOf = (key: ClaimKey): ClaimId =>
  key.interface === undefined ? `${key.podUid}/${key.provider}` : `${key.podUid}/${key.provider}/${key.interface}`;

export type Source = 'existing' | 'static' | 'pool' | 'dynamic';

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

export interface Claim {
  readonly id: ClaimId;
  readonly key: ClaimKey;
  readonly owner: PodRef;
  readonly subnet: string;
  readonly v4?: bigint | undefined;
  readonly v6?: bigint | undefined;
  readonly mac?: bigint | undefined;
  readonly source: Source;
  /** Set on a claim that only keeps an address out of reach: its pod's own claim could not be
   *  kept in this Subnet (named here), yet the pod uses the address (see ExistingClaims). It is
   *  released with the pod and is never the pod's allocation (no port, no annotations). */
  readonly shelteredFrom?: string | undefined;
}

export interface FamilyState {
  readonly pool: FamilyPool;
  readonly used: SortedMap<bigint, ClaimId>;
  readonly released: SortedMap<bigint, number>;
  /** Addresses dynamic allocation must skip: named by a static request or an ip_pool that has
   *  not claimed them yet. A static request may still take them. */
  readonly held: SortedMap<bigint, true>;
  /** Held too: the long ip_pool lists' addresses, a block per list (HeldBlock.ts, PoolHolds.ts). */
  readonly heldBlocks: readonly HeldBlock[];
  /** What dynamic allocation may hand out: the usable pool minus the IPPools' ranges (those
   *  are only for pods that name their IPPool). */
  readonly dynamic: RS.RangeSet;
  readonly mark: bigint;
}

export interface SubnetState {
  readonly subnet: Subnet;
  readonly v4?: FamilyState | undefined;
  readonly v6?: FamilyState | undefined;
  readonly macs: SortedMap<bigint, ClaimId>;
}

export interface IpamOptions {
  /** Milliseconds a released address rests before it may be handed out again (0: none). */
  readonly cooldownMs: number;
}

export interface IpamState {
  readonly options: IpamOptions;
  readonly subnets: SortedMap<string, SubnetState>;
  readonly claims: SortedMap<ClaimId, Claim>;
}

const compareString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const emptyFamily = (pool: FamilyPool): FamilyState => ({
  pool,
  used: SortedMap.empty(compareBigint),
  released: SortedMap.empty(compareBigint),
  held: SortedMap.empty(compareBigint),
  heldBlocks: [],
  dynamic: pool.usable,
  mark: RS.first(pool.usable) ?? pool.cidr.end + 1n,
});

export const emptySubnetState = (subnet: Subnet): SubnetState => ({
  subnet,
  v4: subnet.v4 && emptyFamily(subnet.v4),
  v6: subnet.v6 && emptyFamily(subnet.v6),
  macs: SortedMap.empty(compareBigint),
});

export const emptyState = (subnets: readonly Subnet[], options: IpamOptions = { cooldownMs: 0 }): IpamState => ({
  options,
  subnets: subnets.reduce((m, s) => m.set(s.name, emptySubnetState(s)), SortedMap.empty<string, SubnetState>(compareString)),
  claims: SortedMap.empty(compareString),
});

export const familyState = (s: SubnetState, family: Family): FamilyState | undefined => (family === 4 ? s.v4 : s.v6);

export const addressOf = (claim: Claim, family: Family): bigint | undefined => (family === 4 ? claim.v4 : claim.v6);

/** Claims in id order. */
export const claimsOf = (state: IpamState): readonly Claim[] => [...state.claims.values()];

/** Claims of one pod (by UID), in id order. */
export const claimsOfPod = (state: IpamState, podUid: string): readonly Claim[] => {
  const out: Claim[] = [];
  for (const [id, claim] of state.claims.entries(`${podUid}/`)) {
    if (!id.startsWith(`${podUid}/`)) break;
    out.push(claim);
  }
  return out;
};
