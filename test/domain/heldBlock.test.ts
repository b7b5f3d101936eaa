// HeldBlock.ts: a long ip_pool list's addresses of one family, sorted once, asked by binary search.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { heldBlock } from '../../src/domain/HeldBlock.js';
import { addr } from './fixtures.js';

describe('heldBlock', () => {
  it('IPv4: holds exactly the listed addresses, in any order and with repeats', () => {
    const b = heldBlock(4, ['10.0.0.9', '10.0.0.1', '10.0.0.9', '255.255.255.255', '0.0.0.0'].map((t) => addr(t).value));
    expect(b.size).toBe(4);
    expect([...b.values()]).toEqual(['0.0.0.0', '10.0.0.1', '10.0.0.9', '255.255.255.255'].map((t) => addr(t).value));
    expect(['10.0.0.1', '10.0.0.9', '0.0.0.0', '255.255.255.255'].map((t) => b.has(addr(t).value))).toEqual([true, true, true, true]);
    expect(['10.0.0.2', '10.0.0.0', '10.0.0.10'].map((t) => b.has(addr(t).value))).toEqual([false, false, false]);
    // Values no IPv4 address has are not held.
    expect([b.has(-1n), b.has(0x1_0000_0000n), b.has(0x1_0a00_0001n)]).toEqual([false, false, false]);
  });

  it('IPv6: the same, on bigint', () => {
    const b = heldBlock(6, ['fd00::2', 'fd00::1', 'fd00::2'].map((t) => addr(t).value));
    expect([b.family, b.size]).toEqual([6, 2]);
    expect(['fd00::1', 'fd00::2', 'fd00::3', '::'].map((t) => b.has(addr(t).value))).toEqual([true, true, false, false]);
  });

  it('an empty list holds nothing', () => {
    expect([heldBlock(4, []).size, heldBlock(4, []).has(0n), heldBlock(6, []).has(0n)]).toEqual([0, false, false]);
  });

  it('has() answers as a Set of the values does (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 })), fc.array(fc.integer({ min: 0, max: 2 ** 32 - 1 })), (listed, asked) => {
      const b = heldBlock(4, listed.map(BigInt));
      const set = new Set(listed);
      expect(b.size).toBe(set.size);
      for (const n of [...listed, ...asked]) expect(b.has(BigInt(n))).toBe(set.has(n));
    }));
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (listed, asked) => {
      const b = heldBlock(6, listed);
      const set = new Set(listed);
      for (const n of [...listed, asked]) expect(b.has(n)).toBe(set.has(n));
    }));
  });
});
