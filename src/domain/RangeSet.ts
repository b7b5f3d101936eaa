// RangeSet: a set of addresses of one family as sorted, disjoint, non-adjacent inclusive ranges
// of bigint. Every operation keeps that normal form, so two equal sets are equal arrays and the
// string form is canonical. Costs depend on the number of ranges, never on the number of
// addresses: a /8 or an IPv6 /64 costs what a /24 costs.
import * as E from 'fp-ts/lib/Either.js';
import type { Family } from './Address.js';
import { familyBits, familyName, formatValue, parseAddress } from './Address.js';

export interface Range {
  readonly start: bigint;
  readonly end: bigint;
}

export type RangeSet = readonly Range[];

export const emptySet: RangeSet = [];

export const single = (value: bigint): RangeSet => [{ start: value, end: value }];

export const range = (start: bigint, end: bigint): RangeSet => (start <= end ? [{ start, end }] : []);

const byStart = (a: Range, b: Range): number => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0);

const ascending = (ranges: readonly Range[]): boolean => {
  for (let i = 1; i < ranges.length; i++) if (ranges[i - 1]!.start > ranges[i]!.start) return false;
  return true;
};

/** Sorts and merges arbitrary (overlapping, unordered) ranges into normal form. */
export const fromRanges = (ranges: readonly Range[]): RangeSet => {
  const valid = ranges.filter((r) => r.start <= r.end);
  // Lists are most often written in order (an IPPool of 100,000 entries): one pass, no sort.
  const sorted = ascending(valid) ? valid : valid.sort(byStart);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1n) {
      if (r.end > last.end) out[out.length - 1] = { start: last.start, end: r.end };
    } else {
      out.push(r);
    }
  }
  return out;
};

/** Builds a set from values in any order (duplicates allowed). */
export const fromValues = (values: Iterable<bigint>): RangeSet =>
  fromRanges([...values].map((v) => ({ start: v, end: v })));

/** Builds a set from values already in ascending order, in one pass. */
export const fromSortedValues = (values: Iterable<bigint>): RangeSet => {
  const out: Range[] = [];
  for (const v of values) {
    const last = out[out.length - 1];
    if (last !== undefined && v <= last.end + 1n) {
      if (v > last.end) out[out.length - 1] = { start: last.start, end: v };
    } else {
      out.push({ start: v, end: v });
    }
  }
  return out;
};

export const union = (a: RangeSet, b: RangeSet): RangeSet => fromRanges([...a, ...b]);

/** a − b, in one merge pass over both. */
export const subtract = (a: RangeSet, b: RangeSet): RangeSet => {
  const out: Range[] = [];
  let j = 0;
  for (const r of a) {
    let start = r.start;
    while (j < b.length && b[j]!.end < start) j++;
    let k = j;
    while (k < b.length && b[k]!.start <= r.end) {
      const cut = b[k]!;
      if (cut.start > start) out.push({ start, end: cut.start - 1n });
      start = cut.end + 1n;
      if (start > r.end) break;
      k++;
    }
    // A range nothing cut is kept as it is (no new object per untouched range).
    if (start === r.start) out.push(r);
    else if (start <= r.end) out.push({ start, end: r.end });
  }
  return out;
};

export const intersect = (a: RangeSet, b: RangeSet): RangeSet => {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = x.start > y.start ? x.start : y.start;
    const end = x.end < y.end ? x.end : y.end;
    // A range wholly inside the other side is kept as it is.
    if (start === x.start && end === x.end) out.push(x);
    else if (start === y.start && end === y.end) out.push(y);
    else if (start <= end) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
};

/** Index of the range holding `value`, or -1; binary search. */
export const indexOf = (set: RangeSet, value: bigint): number => {
  let lo = 0;
  let hi = set.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = set[mid]!;
    if (value < r.start) hi = mid - 1;
    else if (value > r.end) lo = mid + 1;
    else return mid;
  }
  return -1;
};

export const contains = (set: RangeSet, value: bigint): boolean => indexOf(set, value) >= 0;

/** The lowest member >= `value`, or undefined; binary search. */
export const firstAtOrAfter = (set: RangeSet, value: bigint): bigint | undefined => {
  let lo = 0;
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (set[mid]!.end < value) lo = mid + 1;
    else hi = mid;
  }
  const r = set[lo];
  if (r === undefined) return undefined;
  return r.start > value ? r.start : value;
};

export const first = (set: RangeSet): bigint | undefined => set[0]?.start;

export const count = (set: RangeSet): bigint => set.reduce((n, r) => n + (r.end - r.start + 1n), 0n);

export const isEmpty = (set: RangeSet): boolean => set.length === 0;

export const overlaps = (a: RangeSet, b: RangeSet): boolean => intersect(a, b).length > 0;

/** The canonical string form: `start-end` or a single address, joined by `,` (Kube-OVN's status form). */
export const format = (set: RangeSet, family: Family): string =>
  set
    .map((r) => (r.start === r.end ? formatValue(family, r.start) : `${formatValue(family, r.start)}-${formatValue(family, r.end)}`))
    .join(',');

export interface ParsedEntry {
  readonly family: Family;
  readonly set: RangeSet;
}

/** Parses one entry of an address list: `a..b`, a CIDR, or a single address. */
export const parseEntry = (text: string): E.Either<string, ParsedEntry> => {
  const entry = text.trim();
  if (entry.includes('..')) {
    const [lo, hi, ...rest] = entry.split('..');
    if (rest.length > 0 || lo === undefined || hi === undefined) return E.left(`"${entry}" is not a range (expected start..end)`);
    const start = parseAddress(lo.trim());
    if (E.isLeft(start)) return E.left(`"${entry}": ${start.left}`);
    const end = parseAddress(hi.trim());
    if (E.isLeft(end)) return E.left(`"${entry}": ${end.left}`);
    if (start.right.family !== end.right.family) {
      return E.left(`"${entry}" mixes families: ${familyName(start.right.family)} start, ${familyName(end.right.family)} end`);
    }
    if (start.right.value > end.right.value) return E.left(`"${entry}" is reversed: its start is after its end`);
    return E.right({ family: start.right.family, set: range(start.right.value, end.right.value) });
  }
  if (entry.includes('/')) return parseCidrEntry(entry);
  const address = parseAddress(entry);
  if (E.isLeft(address)) return address;
  return E.right({ family: address.right.family, set: single(address.right.value) });
};

const parseCidrEntry = (entry: string): E.Either<string, ParsedEntry> => {
  const parsed = parseStrictCidr(entry);
  if (E.isLeft(parsed)) return parsed;
  return E.right({ family: parsed.right.family, set: range(parsed.right.start, parsed.right.end) });
};

export interface CidrBlock {
  readonly family: Family;
  readonly prefix: number;
  /** Network address (host bits cleared). */
  readonly start: bigint;
  /** Last address (broadcast for IPv4). */
  readonly end: bigint;
}

/** Parses `addr/prefix` (host bits may be set; they are cleared, as Kube-OVN does). The prefix
 *  length is read as Go's net.ParseCIDR reads it, which is what Kube-OVN validates a Subnet
 *  with: ASCII decimal digits, leading zeros allowed (`/024` is `/24`; the canonical form then
 *  drops them, as Kube-OVN's formatSubnet rewrites the CIDR). Total: any text gives a block or
 *  a message quoting it, never a throw. */
export const parseStrictCidr = (text: string): E.Either<string, CidrBlock> => {
  const [addr, prefixText, ...rest] = text.trim().split('/');
  if (rest.length > 0 || addr === undefined || prefixText === undefined) return E.left(`"${text}" is not a CIDR (expected address/prefix)`);
  if (prefixText === '') return E.left(`"${text}" is not a CIDR: the prefix length after "/" is missing`);
  if (!/^[0-9]+$/.test(prefixText)) return E.left(`"${text}" is not a CIDR: the prefix length "${prefixText}" is not a decimal number`);
  const address = parseAddress(addr);
  if (E.isLeft(address)) return E.left(`"${text}" is not a CIDR: ${address.left}`);
  const bits = familyBits(address.right.family);
  const digits = prefixText.replace(/^0+(?=[0-9])/, '');
  if (digits.length > 3 || Number(digits) > bits) {
    return E.left(`"${text}" has prefix length ${digits.length > 3 ? `${digits.slice(0, 6)}…` : digits}, more than the ${bits} bits of ${familyName(address.right.family)}`);
  }
  const prefix = Number(digits);
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const start = address.right.value & ~hostMask;
  return E.right({ family: address.right.family, prefix, start, end: start | hostMask });
};

/** Parses a whole list (`a..b`, CIDRs, addresses) of one family; every bad entry is reported. */
export const parseList = (entries: readonly string[], family: Family): E.Either<readonly string[], RangeSet> => {
  const errors: string[] = [];
  const ranges: Range[] = [];
  for (const text of entries) {
    const parsed = parseEntry(text);
    if (E.isLeft(parsed)) errors.push(parsed.left);
    else if (parsed.right.family !== family) errors.push(`"${text}" is ${familyName(parsed.right.family)}, expected ${familyName(family)}`);
    else ranges.push(...parsed.right.set);
  }
  return errors.length > 0 ? E.left(errors) : E.right(fromRanges(ranges));
};
