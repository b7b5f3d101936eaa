// The allocator's memory across restarts (issue #14 item 3): what dynamic allocation needs
// beyond the claims — which addresses were ever handed out (so never-used ones go first) and
// when addresses were released (so a cooldown outlives the process) — kept in the Subnet's
// status as `status.allocator` and restored when the planner is prepared.
// Rules:
// - Per family: `usedUpTo` is the highest address dynamic allocation ever handed out ("" for
//   none): every usable address up to it counts as used once (the allocator's mark).
//   `released` lists released addresses with their release time (`at`, milliseconds since the
//   epoch), newest first (ties: lowest address first), at most MEMORY_BOUND of them. A release
//   at time 0 is not listed: an address up to `usedUpTo` that is neither in use nor listed is
//   restored as released at time 0 ("long ago"); so is one dropped by the bound (the oldest).
// - Both keys are always written, for every family of the Subnet, because the status is a JSON
//   merge patch: a key left out would keep its old value and never match (a write loop).
// - A Subnet has a record only while some family has released addresses and the record says
//   something; a Subnet that never released anything writes none, and a record left behind
//   (nothing wanted any more) is harmless: it only says what was used, which still holds.
// - Restoring never lowers the mark and never touches an address in use; at most FILL_BOUND
//   addresses are restored from `usedUpTo` (beyond them the mark stops: bounded work, and
//   the addresses past it count as never used, as before this record existed).
// - An unreadable record is ignored (the caller logs the returned message); pure, no throw.
import * as E from 'fp-ts/lib/Either.js';
import type { Family } from './Address.js';
import { formatValue, parseAddress } from './Address.js';
import type { Draft, FamilyDraft } from './Draft.js';
import { familyDraft } from './Draft.js';
import type { FamilyState, IpamState } from './IpamState.js';
import { familyState } from './IpamState.js';
import * as RS from './RangeSet.js';
import { preview } from './schema/decode.js';

/** Released addresses a record lists per family, at most. */
export const MEMORY_BOUND = 256;
/** Addresses up to `usedUpTo` restored as released, at most. */
export const FILL_BOUND = 65_536;

export interface ReleasedEntry {
  readonly ip: string;
  readonly at: number;
}

/** Both keys are always written (`usedUpTo` "" when nothing was handed out): the status is
 *  written as a JSON merge patch, which replaces a key it names but keeps one it leaves out. */
export interface FamilyMemory {
  readonly usedUpTo: string;
  readonly released: readonly ReleasedEntry[];
}

export interface AllocatorMemory {
  readonly v4?: FamilyMemory;
  readonly v6?: FamilyMemory;
}

const familyRecord = (f: FamilyState): FamilyMemory => {
  const family = f.pool.family;
  const first = RS.first(f.pool.usable);
  const released = [...f.released.entries()]
    .filter(([, at]) => at > 0)
    .sort(([a, ta], [b, tb]) => (ta !== tb ? tb - ta : a < b ? -1 : a > b ? 1 : 0))
    .slice(0, MEMORY_BOUND)
    .map(([value, at]) => ({ ip: formatValue(family, value), at }));
  return { usedUpTo: first !== undefined && f.mark > first ? formatValue(family, f.mark - 1n) : '', released };
};

const isEmpty = (m: FamilyMemory | undefined): boolean => m === undefined || (m.usedUpTo === '' && m.released.length === 0);

/** The record a Subnet's status should carry for the state, or undefined when nothing was
 *  released (then there is nothing a rebuild from claims would not know). */
export const memoryOf = (state: IpamState, subnet: string): AllocatorMemory | undefined => {
  const s = state.subnets.get(subnet);
  if (s === undefined || ![s.v4, s.v6].some((f) => f !== undefined && f.released.size > 0)) return undefined;
  const v4 = s.v4 && familyRecord(s.v4);
  const v6 = s.v6 && familyRecord(s.v6);
  return isEmpty(v4) && isEmpty(v6) ? undefined : { ...(v4 && { v4 }), ...(v6 && { v6 }) };
};

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u);

const parseFamily = (u: unknown, family: Family): E.Either<string, FamilyMemory> => {
  if (!isObject(u)) return E.left(`v${family} is not an object`);
  const { usedUpTo, released } = u;
  if (usedUpTo !== undefined && usedUpTo !== '') {
    const a = typeof usedUpTo === 'string' ? parseAddress(usedUpTo) : E.left('not a string');
    if (E.isLeft(a) || a.right.family !== family) return E.left(`v${family}.usedUpTo ${preview(usedUpTo)} is not an IPv${family} address`);
  }
  if (released !== undefined && !Array.isArray(released)) return E.left(`v${family}.released is not a list`);
  const entries: ReleasedEntry[] = [];
  for (const r of (released ?? []) as readonly unknown[]) {
    const ip = isObject(r) ? r.ip : undefined;
    const at = isObject(r) ? r.at : undefined;
    const a = typeof ip === 'string' ? parseAddress(ip) : E.left('not a string');
    if (E.isLeft(a) || a.right.family !== family || typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) {
      return E.left(`v${family}.released has an unreadable entry ${preview(r)}`);
    }
    entries.push({ ip: ip as string, at });
  }
  if (entries.length > MEMORY_BOUND) return E.left(`v${family}.released lists ${entries.length} addresses, more than ${MEMORY_BOUND}`);
  return E.right({ usedUpTo: (usedUpTo as string | undefined) ?? '', released: entries });
};

/** Reads `status.allocator` as written by memoryOf; absent is Right(undefined). */
export const parseMemory = (u: unknown): E.Either<string, AllocatorMemory | undefined> => {
  if (u === undefined || u === null) return E.right(undefined);
  if (!isObject(u)) return E.left('status.allocator is not an object');
  const out: { v4?: FamilyMemory; v6?: FamilyMemory } = {};
  for (const family of [4, 6] as const) {
    const raw = u[`v${family}`];
    if (raw === undefined) continue;
    const parsed = parseFamily(raw, family);
    if (E.isLeft(parsed)) return E.left(`status.allocator.${parsed.left}`);
    out[`v${family}`] = parsed.right;
  }
  return E.right(out);
};

/** Does the status's record (as the API server returns it: any key order) say `desired`?
 *  Only the families `desired` names count (a family the Subnet lost is never read), and no
 *  record wanted matches any (a leftover one only says what was used). */
export const memoryMatches = (current: unknown, desired: AllocatorMemory | undefined): boolean => {
  if (desired === undefined) return true;
  const parsed = parseMemory(current);
  if (E.isLeft(parsed) || parsed.right === undefined) return false;
  const have = parsed.right;
  return (['v4', 'v6'] as const).every((k) => desired[k] === undefined || JSON.stringify(have[k]) === JSON.stringify(desired[k]));
};

const valueOf = (text: string): bigint => (parseAddress(text) as E.Right<{ readonly value: bigint }>).right.value;

const restoreFamily = (f: FamilyDraft, m: FamilyMemory): void => {
  for (const r of m.released ?? []) {
    const value = valueOf(r.ip);
    if (!RS.contains(f.pool.usable, value) || f.used.has(value)) continue;
    const known = f.released.get(value);
    if (known === undefined || known < r.at) f.released.set(value, r.at);
  }
  if (m.usedUpTo === '') return;
  const upTo = valueOf(m.usedUpTo);
  let filled = 0;
  let c = RS.firstAtOrAfter(f.pool.usable, f.mark);
  for (; c !== undefined && c <= upTo; c = RS.firstAtOrAfter(f.pool.usable, c + 1n)) {
    if (filled === FILL_BOUND) break;
    if (f.used.has(c) || f.released.has(c)) continue;
    f.released.set(c, 0);
    filled++;
  }
  const end = c === undefined || c > upTo ? upTo + 1n : c;
  if (end > f.mark) f.mark = end;
};

/** Restores a Subnet's record into the draft (after the claims, before holds). Returns why
 *  the record was ignored, if it was unreadable. */
export const restoreMemoryIn = (d: Draft, subnet: string, raw: unknown): string | undefined => {
  const parsed = parseMemory(raw);
  if (E.isLeft(parsed)) return parsed.left;
  const s = d.subnet(subnet);
  if (parsed.right === undefined || s === undefined) return undefined;
  for (const family of [4, 6] as const) {
    const m = parsed.right[`v${family}`];
    const f = familyDraft(s, family);
    if (m !== undefined && f !== undefined) restoreFamily(f, m);
  }
  return undefined;
};

/** The released state of one family, for tests and the status: address → release time. */
export const releasedOf = (state: IpamState, subnet: string, family: Family): ReadonlyMap<bigint, number> => {
  const s = state.subnets.get(subnet);
  const f = s === undefined ? undefined : familyState(s, family);
  return new Map(f === undefined ? [] : f.released.entries());
};
