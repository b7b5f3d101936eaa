// Holding back from dynamic allocation what pods name (static `ip_address`, `ip_pool` lists):
// the addresses a shared pool lists are held once per state, not once per pod (issue #15: a
// 100,000-address pool held again for each of 200 replicas cost minutes and gigabytes).
// Rules:
// - What is held is exactly what holding every request's addresses one by one would hold
//   (Allocator.ts holdIn is idempotent and never undone): skipping a pool already held in the
//   same subnet of the same state changes nothing but the time.
// - A long list is held as one sorted block per family (HeldBlock.ts), built once per list and
//   shared by every state that holds it; a short one, address by address.
// - A pool list counts as "already held" by identity: the parsed list equal annotation text
//   shares (schema/memo.ts). Lists shorter than SHARED_POOL_ENTRIES are held each time (cheap),
//   so the registry grows with the distinct long lists, never with the pods.
// - The registry (`HeldPools`) is a value that travels with the state it describes: a new map
//   when a list is added, the old one untouched.
import * as E from 'fp-ts/lib/Either.js';
import type { Address } from './Address.js';
import { holdBlocksIn, holdIn } from './Allocator.js';
import type { Draft } from './Draft.js';
import type { HeldBlock } from './HeldBlock.js';
import { heldBlock, heldBlockV4 } from './HeldBlock.js';
import type { PoolEntry, PodNetworkRequest } from './schema/annotations.js';

/** Subnet → the long pool lists whose addresses the state already holds there. */
export type HeldPools = ReadonlyMap<string, ReadonlySet<readonly PoolEntry[]>>;

export const NO_HELD_POOLS: HeldPools = new Map();

/** Lists at least this long are held once per subnet and state. */
export const SHARED_POOL_ENTRIES = 64;

const entryAddresses = (entries: readonly PoolEntry[]): Address[] => {
  const out: Address[] = [];
  for (const e of entries) {
    if (e.v4 !== undefined) out.push(e.v4);
    if (e.v6 !== undefined) out.push(e.v6);
  }
  return out;
};

/** A long list's blocks, one per family it names: built once per list (by identity). */
const blocksOfList = new WeakMap<readonly PoolEntry[], readonly HeldBlock[]>();
const blocksOf = (entries: readonly PoolEntry[]): readonly HeldBlock[] => {
  let blocks = blocksOfList.get(entries);
  if (blocks === undefined) {
    const v4 = new Uint32Array(entries.length);
    const v6: bigint[] = [];
    let n4 = 0;
    for (const e of entries) {
      if (e.v4 !== undefined) v4[n4++] = Number(e.v4.value);
      if (e.v6 !== undefined) v6.push(e.v6.value);
    }
    blocks = [heldBlockV4(v4.subarray(0, n4)), heldBlock(6, v6)];
    blocksOfList.set(entries, blocks);
  }
  return blocks;
};

/** What holding did: the registry (with a long pool list added when it was not there), and
 *  whether anything was written into the draft. */
export interface Holding {
  readonly held: HeldPools;
  readonly wrote: boolean;
}

/** Holds in `d` what one network's request names in `subnet` (see the file's rules). */
export const holdRequestIn = (d: Draft, subnet: string, request: PodNetworkRequest, held: HeldPools): Holding => {
  const statics = request.ipAddresses !== undefined && request.ipAddresses.length > 0;
  if (statics) holdIn(d, subnet, request.ipAddresses!);
  if (request.ipPool?.kind !== 'addresses') return { held, wrote: statics };
  const { entries } = request.ipPool;
  const shared = entries.length >= SHARED_POOL_ENTRIES;
  if (shared && held.get(subnet)?.has(entries) === true) return { held, wrote: statics };
  if (!shared) {
    holdIn(d, subnet, entryAddresses(entries));
    return { held, wrote: true };
  }
  holdBlocksIn(d, subnet, blocksOf(entries));
  const next = new Map(held);
  next.set(subnet, new Set([...(held.get(subnet) ?? []), entries]));
  return { held: next, wrote: true };
};

/** One pod's resolved networks, as holdItemsIn reads them. */
export interface HoldingPod {
  readonly items: readonly { readonly resolved: E.Either<unknown, { readonly request: PodNetworkRequest; readonly subnet: { readonly name: string } }> }[];
}

/** Holds what every resolved network of `pods` names (holdRequestIn for each, in order). */
export const holdItemsIn = (d: Draft, pods: Iterable<HoldingPod>, held: HeldPools = NO_HELD_POOLS): Holding => {
  let out: Holding = { held, wrote: false };
  for (const p of pods) {
    for (const item of p.items) {
      if (E.isLeft(item.resolved)) continue;
      const next = holdRequestIn(d, item.resolved.right.subnet.name, item.resolved.right.request, out.held);
      out = { held: next.held, wrote: out.wrote || next.wrote };
    }
  }
  return out;
};
