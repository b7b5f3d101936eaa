import { describe, it, expect } from '@jest/globals';
import { SortedMap } from '../../src/domain/SortedMap.js';
import { compareBigint } from '../../src/domain/Address.js';

describe('SortedMap', () => {
  it('is persistent: updates leave the old map unchanged', () => {
    const a = SortedMap.empty<bigint, string>(compareBigint).set(5n, 'five');
    const b = a.set(7n, 'seven').delete(5n);
    expect([...a.entries()]).toEqual([[5n, 'five']]);
    expect([...b.entries()]).toEqual([[7n, 'seven']]);
    expect(b.atOrAfter(6n)).toEqual([7n, 'seven']);
    expect(b.atOrAfter(8n)).toBeUndefined();
  });

  it('has: every key held, none other, in maps of one leaf and of many nodes (a key above the last too)', () => {
    for (const size of [3, 2_000]) {
      const draft = SortedMap.empty<bigint, string | undefined>(compareBigint).edit();
      for (let i = 0; i < size; i++) draft.set(BigInt(2 * i), i === 1 ? undefined : String(i));
      const map = draft.done();
      const probes = [-1n, 0n, 1n, 2n, 3n, BigInt(2 * size - 2), BigInt(2 * size - 1), BigInt(2 * size), BigInt(10 * size)];
      expect(probes.map((k) => [k, map.has(k), draft.has(k)])).toEqual(probes.map((k) => [k, k >= 0n && k % 2n === 0n && k <= BigInt(2 * size - 2), k >= 0n && k % 2n === 0n && k <= BigInt(2 * size - 2)]));
    }
  });
});
