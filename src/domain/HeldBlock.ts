// The addresses of one family that a long ip_pool list names, as one sorted block: how a shared
// pool is held back from dynamic allocation (PoolHolds.ts). Holding 100,000 addresses one B-tree
// entry each cost most of a whole plan's time and its garbage (issue #15); a block is built once
// per list (a typed-array sort for IPv4) and a state holds it by reference.
// Rules:
// - A block is immutable; `has` is a binary search.
// - It keeps every address of its family the list names, in or out of any subnet: whoever asks
//   `has` asks about an address of a subnet's usable range, so one outside answers nothing.
import type { Family } from './Address.js';
import { compareBigint } from './Address.js';

export interface HeldBlock {
  readonly family: Family;
  /** How many distinct addresses it holds. */
  readonly size: number;
  has(value: bigint): boolean;
  /** Its addresses, ascending. */
  values(): IterableIterator<bigint>;
}

/** The index of the first element of sorted `length` elements not below the target (lower bound). */
const lowerBound = (length: number, below: (i: number) => boolean): number => {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (below(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

/** Sorted, without repeats, in place; the length kept. */
const dedupe = <T>(sorted: { length: number; [i: number]: T }): number => {
  let kept = 0;
  for (let i = 0; i < sorted.length; i++) if (kept === 0 || sorted[i] !== sorted[kept - 1]) sorted[kept++] = sorted[i]!;
  return kept;
};

class V4Block implements HeldBlock {
  readonly family = 4;
  constructor(private readonly sorted: Uint32Array) {}
  get size(): number {
    return this.sorted.length;
  }
  has(value: bigint): boolean {
    if (value < 0n || value > 0xffffffffn) return false;
    const n = Number(value);
    const i = lowerBound(this.sorted.length, (k) => this.sorted[k]! < n);
    return i < this.sorted.length && this.sorted[i] === n;
  }
  *values(): IterableIterator<bigint> {
    for (const n of this.sorted) yield BigInt(n);
  }
}

class V6Block implements HeldBlock {
  readonly family = 6;
  constructor(private readonly sorted: readonly bigint[]) {}
  get size(): number {
    return this.sorted.length;
  }
  has(value: bigint): boolean {
    const i = lowerBound(this.sorted.length, (k) => this.sorted[k]! < value);
    return i < this.sorted.length && this.sorted[i] === value;
  }
  *values(): IterableIterator<bigint> {
    yield* this.sorted;
  }
}

const isAscending = (values: Uint32Array): boolean => {
  for (let i = 1; i < values.length; i++) if (values[i - 1]! > values[i]!) return false;
  return true;
};

/** A block of IPv4 `values` (any order, repeats allowed); the array becomes the block's. */
export const heldBlockV4 = (values: Uint32Array): HeldBlock => {
  // A list is most often written in order: checked in one pass, sorted only when it is not.
  const sorted = isAscending(values) ? values : values.sort();
  return new V4Block(sorted.subarray(0, dedupe(sorted)));
};

/** A block of `values` (addresses of `family`, any order, repeats allowed). */
export const heldBlock = (family: Family, values: readonly bigint[]): HeldBlock => {
  if (family === 4) return heldBlockV4(Uint32Array.from(values, (v) => Number(v)));
  const sorted = [...values].sort(compareBigint);
  sorted.length = dedupe(sorted);
  return new V6Block(sorted);
};
