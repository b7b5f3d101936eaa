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
});
