// IPPools (kubeovn.io/v1): which pools are ready, which namespaces they bind, and the status
// each should show (Kube-OVN's pkg/controller/ippool.go, pkg/ipam/subnet.go AddOrUpdateIPPool,
// pkg/controller/namespace.go and pod.go acquireAddress).
// Rules:
// - Pools are judged in precedence order: creation time, then name (never input order). A pool
//   is ready when its Subnet exists and is valid, every `spec.ips` entry parses, every range
//   lies inside the Subnet's CIDR of its family, and it shares no address with an earlier ready
//   pool of the same Subnet. Otherwise it is not ready (reason UpdateIPAMFailed, a message
//   naming the Subnet, the entry, the ranges outside, or the other pool and the shared ranges):
//   it allocates nothing; the other pools are unaffected.
// - Every pool's ranges (each entry that parses, ready or not) are kept out of dynamic
//   allocation: only pods bound to a ready pool get them, and fixing a pool that was not ready
//   finds its addresses free.
// - The pools of a namespace (default network only): the IPPools named by the Namespace's
//   `ovn.kubernetes.io/ip_pool` annotation (comma list, in its order), then the IPPools whose
//   `spec.namespaces` lists it (in precedence order), each once. Kube-OVN's namespace controller
//   rewrites that annotation from `spec.namespaces`; we do not write Namespaces, so both count.
// - Status per family of the Subnet (Kube-OVN's IPPoolStatistics): using = the Subnet's claimed
//   addresses inside the pool; available = the pool's usable addresses (inside the host range,
//   not excluded, not the gateway) not in use; ranges in the `a-b,c` form. A not-ready pool
//   shows zeros and empty ranges. Conditions: Ready/True/UpdateIPAMSucceeded when ready; else
//   Ready/False and Error/True, both UpdateIPAMFailed with the message.
import * as E from 'fp-ts/lib/Either.js';
import type { Family } from './Address.js';
import { familyName } from './Address.js';
import type { IpamState } from './IpamState.js';
import { familyState } from './IpamState.js';
import type { IPPoolStatusView } from './Plan.js';
import * as RS from './RangeSet.js';
import type { Namespace } from './schema/kube.js';
import type { IPPool, IPPoolStatus } from './schema/kubeovn.js';
import type { Entry, Snapshot } from './Snapshot.js';
import type { Subnet, SubnetInvalid } from './Subnet.js';
import { hostRange, poolOf } from './Subnet.js';

export const NAMESPACE_POOLS_ANNOTATION = 'ovn.kubernetes.io/ip_pool';
export const READY_REASON = 'UpdateIPAMSucceeded';
export const FAILED_REASON = 'UpdateIPAMFailed';

export interface PoolRanges {
  readonly v4: RS.RangeSet;
  readonly v6: RS.RangeSet;
}

/** A ready pool: its Subnet and its ranges (all inside the Subnet). */
export interface ReadyPool {
  readonly name: string;
  readonly subnet: string;
  readonly ranges: PoolRanges;
}

/** Every IPPool by name: ready, or why not (a message naming what is wrong). */
export type PoolVerdicts = ReadonlyMap<string, E.Either<string, ReadyPool>>;

const time = (e: Entry<IPPool>): string => e.object.metadata.creationTimestamp ?? '\uffff';

/** IPPools in precedence order: creation time, then name. The earlier wins an overlap, in every
 *  controller and in `plan`, whatever order the objects arrive in. */
export const poolsInPrecedence = (snapshot: Snapshot): Entry<IPPool>[] =>
  [...snapshot.ippools.values()].sort((a, b) => {
    const [ta, tb] = [time(a), time(b)];
    if (ta !== tb) return ta < tb ? -1 : 1;
    const [na, nb] = [a.object.metadata.name, b.object.metadata.name];
    return na < nb ? -1 : na > nb ? 1 : 0;
  });

interface ParsedPool {
  /** The ranges of every entry that parses. */
  readonly ranges: PoolRanges;
  /** The first entry that does not parse, as a message. */
  readonly error?: string;
}

/** Each IPPool object parsed once: judging, reserving and the controller's every re-prepare
 *  read the same immutable object (a 100,000-entry pool was parsed twice per plan). */
const parsedPools = new WeakMap<IPPool, ParsedPool>();

const parsePool = (pool: IPPool): ParsedPool => {
  const known = parsedPools.get(pool);
  if (known !== undefined) return known;
  const byFamily: Record<Family, RS.Range[]> = { 4: [], 6: [] };
  let error: string | undefined;
  for (const [i, text] of pool.spec.ips.entries()) {
    const parsed = RS.parseEntry(text);
    if (E.isRight(parsed)) byFamily[parsed.right.family].push(...parsed.right.set);
    else error ??= `ippool ${pool.metadata.name}: spec.ips[${i}]: ${parsed.left}`;
  }
  const out = { ranges: { v4: RS.fromRanges(byFamily[4]), v6: RS.fromRanges(byFamily[6]) }, ...(error === undefined ? {} : { error }) };
  parsedPools.set(pool, out);
  return out;
};

/** The pool's entries parsed by family, or the first entry that does not parse. */
const parseRanges = (pool: IPPool): E.Either<string, PoolRanges> => {
  const parsed = parsePool(pool);
  return parsed.error === undefined ? E.right(parsed.ranges) : E.left(parsed.error);
};

/** Ranges of the pool outside its Subnet, per family, as a message; undefined when none. */
const outside = (name: string, subnet: Subnet, ranges: PoolRanges): string | undefined => {
  const parts = ([4, 6] as const).flatMap((family) => {
    const set = family === 4 ? ranges.v4 : ranges.v6;
    if (set.length === 0) return [];
    const p = poolOf(subnet, family);
    const beyond = p === undefined ? set : RS.subtract(set, RS.range(p.cidr.start, p.cidr.end));
    if (beyond.length === 0) return [];
    return [`${RS.format(beyond, family)} (${p === undefined ? `the subnet has no ${familyName(family)} CIDR` : `outside ${p.cidrText}`})`];
  });
  return parts.length === 0 ? undefined : `ippool ${name} has IPs outside subnet ${subnet.name}: ${parts.join(', ')}`;
};

/** The ranges of every entry that parses (what dynamic allocation must leave alone). */
export const declaredRanges = (pool: IPPool): PoolRanges => parsePool(pool).ranges;

/** Judges every IPPool (see the file's rules). */
export const judgePools = (snapshot: Snapshot, subnets: ReadonlyMap<string, E.Either<SubnetInvalid, Subnet>>): PoolVerdicts => {
  const out = new Map<string, E.Either<string, ReadyPool>>();
  const ready: ReadyPool[] = [];
  for (const e of poolsInPrecedence(snapshot)) {
    const pool = e.object;
    const name = pool.metadata.name;
    const verdict = ((): E.Either<string, ReadyPool> => {
      const s = subnets.get(pool.spec.subnet);
      if (s === undefined) return E.left(`subnet ${pool.spec.subnet} does not exist`);
      if (E.isLeft(s)) return E.left(s.left.message);
      const ranges = parseRanges(pool);
      if (E.isLeft(ranges)) return ranges;
      const beyond = outside(name, s.right, ranges.right);
      if (beyond !== undefined) return E.left(beyond);
      for (const other of ready) {
        if (other.subnet !== pool.spec.subnet) continue;
        const shared = [RS.format(RS.intersect(ranges.right.v4, other.ranges.v4), 4), RS.format(RS.intersect(ranges.right.v6, other.ranges.v6), 6)].filter((x) => x !== '');
        if (shared.length > 0) return E.left(`ippool ${name} has conflict IPs with ippool ${other.name}: ${shared.join(',')}`);
      }
      return E.right({ name, subnet: pool.spec.subnet, ranges: ranges.right });
    })();
    if (E.isRight(verdict)) ready.push(verdict.right);
    out.set(name, verdict);
  }
  return out;
};

/** Namespace → the IPPools whose `spec.namespaces` lists it, in precedence order: built once
 *  per plan, so a pod's lookup does not scan every pool. */
export const poolsByNamespace = (snapshot: Snapshot): ReadonlyMap<string, readonly string[]> => {
  const out = new Map<string, string[]>();
  for (const e of poolsInPrecedence(snapshot)) {
    for (const ns of new Set(e.object.spec.namespaces ?? [])) out.set(ns, [...(out.get(ns) ?? []), e.object.metadata.name]);
  }
  return out;
};

/** The IPPool names bound to a namespace (see the file's rules), each once; `listed` is
 *  poolsByNamespace's answer for it. */
export const poolsOfNamespace = (namespace: Namespace | undefined, listed: readonly string[]): readonly string[] => {
  const annotated = (namespace?.metadata.annotations?.[NAMESPACE_POOLS_ANNOTATION] ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '');
  return [...new Set([...annotated, ...listed])];
};

/** The status a pool should show, from the allocation state. */
export const poolStatusOf = (verdict: E.Either<string, ReadyPool>, state: IpamState): IPPoolStatusView => {
  const usage = (family: Family): { readonly using: bigint; readonly available: bigint; readonly usingRange: string; readonly availableRange: string } => {
    const none = { using: 0n, available: 0n, usingRange: '', availableRange: '' };
    if (E.isLeft(verdict)) return none;
    const s = state.subnets.get(verdict.right.subnet);
    const f = s === undefined ? undefined : familyState(s, family);
    const ranges = family === 4 ? verdict.right.ranges.v4 : verdict.right.ranges.v6;
    if (f === undefined) return none;
    const inPool = RS.intersect(ranges, RS.fromRanges([hostRange(f.pool.cidr)]));
    // Only the claims inside the pool's ranges are visited: a big Subnet costs what its pool holds.
    const values: bigint[] = [];
    for (const r of inPool) {
      for (const [value] of f.used.entries(r.start)) {
        if (value > r.end) break;
        values.push(value);
      }
    }
    const used = RS.fromSortedValues(values);
    const available = RS.subtract(RS.intersect(inPool, f.pool.usable), used);
    return { using: RS.count(used), available: RS.count(available), usingRange: RS.format(used, family), availableRange: RS.format(available, family) };
  };
  const [v4, v6] = [usage(4), usage(6)];
  return {
    v4AvailableIPs: Number(v4.available), v4AvailableIPRange: v4.availableRange, v4UsingIPs: Number(v4.using), v4UsingIPRange: v4.usingRange,
    v6AvailableIPs: Number(v6.available), v6AvailableIPRange: v6.availableRange, v6UsingIPs: Number(v6.using), v6UsingIPRange: v6.usingRange,
    conditions: E.isRight(verdict)
      ? [{ type: 'Ready', status: 'True', reason: READY_REASON, message: '' }]
      : [{ type: 'Ready', status: 'False', reason: FAILED_REASON, message: verdict.left }, { type: 'Error', status: 'True', reason: FAILED_REASON, message: verdict.left }],
  };
};

const statusKeys = ['v4AvailableIPs', 'v4AvailableIPRange', 'v4UsingIPs', 'v4UsingIPRange', 'v6AvailableIPs', 'v6AvailableIPRange', 'v6UsingIPs', 'v6UsingIPRange'] as const;

/** Does the pool already show `desired` (every field, and exactly these conditions)? */
export const poolStatusMatches = (current: IPPoolStatus | undefined, desired: IPPoolStatusView): boolean => {
  if (current === undefined) return false;
  if (!statusKeys.every((k) => current[k] === desired[k])) return false;
  const text = (c: { readonly type: string; readonly status: string; readonly reason?: string | undefined; readonly message?: string | undefined }) =>
    `${c.type}/${c.status}/${c.reason ?? ''}/${c.message ?? ''}`;
  const have = (current.conditions ?? []).map(text).sort();
  const want = desired.conditions.map(text).sort();
  return have.length === want.length && have.every((x, i) => x === want[i]);
};

/** Words for the status action's reason. */
export const poolStatusReason = (verdict: E.Either<string, ReadyPool>, status: IPPoolStatusView, subnet: Subnet | undefined): string =>
  E.isLeft(verdict)
    ? `mark it not ready: ${verdict.left}`
    : [
        (subnet === undefined || subnet.v4 !== undefined) && `IPv4 ${status.v4UsingIPs} in use, ${status.v4AvailableIPs} available`,
        subnet?.v6 !== undefined && `IPv6 ${status.v6UsingIPs} in use, ${status.v6AvailableIPs} available`,
      ].filter(Boolean).join('; ');
