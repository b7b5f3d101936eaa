// Address.ts parseAddress: its fast path for dotted quads agrees with the general parser
// (ip-bigint) on every string made of digits and dots, and on the rows that matter.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseIp, stringifyIp } from 'ip-bigint';
import { formatValue, parseAddress } from '../../src/domain/Address.js';

/** What the general parser alone says of `text` as IPv4: its value, or undefined. */
const general = (text: string): bigint | undefined => {
  try {
    const p = parseIp(text);
    return p.version === 4 ? p.number : undefined;
  } catch {
    return undefined;
  }
};

const verdict = (text: string): string => {
  const r = parseAddress(text);
  return E.isRight(r) ? `${r.right.family} ${r.right.value}` : r.left;
};

describe('parseAddress on IPv4', () => {
  it('reads canonical dotted quads and refuses the rest, naming the text', () => {
    expect(['0.0.0.0', '1.2.3.4', '255.255.255.255', '10.16.0.1'].map(verdict)).toEqual(['4 0', '4 16909060', '4 4294967295', '4 168820737']);
    expect(['01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '', '.1.2.3'].map(verdict))
      .toEqual(['01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', ' 1.2.3.4', '1.2.3.4 ', '', '.1.2.3'].map((t) => `"${t}" is not an IP address`));
  });

  it('agrees with the general parser on any string of digits and dots (fast-check)', () => {
    const quadLike = fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('0', '00', '01', '255', '256', '')), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.'));
    const anyDigitsAndDots = fc.array(fc.constantFrom('0', '1', '2', '5', '9', '.'), { maxLength: 20 }).map((chars) => chars.join(''));
    fc.assert(fc.property(fc.oneof(quadLike, anyDigitsAndDots), (text) => {
      const r = parseAddress(text);
      const g = general(text);
      expect(E.isRight(r) ? r.right.value : undefined).toBe(g);
    }), { numRuns: 5000 });
  });
});

describe('formatValue on IPv4', () => {
  it('writes dotted decimal as the general formatter does (fast-check)', () => {
    expect([0n, 16909060n, 4294967295n, 168820737n].map((v) => formatValue(4, v))).toEqual(['0.0.0.0', '1.2.3.4', '255.255.255.255', '10.16.0.1']);
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
      expect(formatValue(4, BigInt(n))).toBe(stringifyIp({ number: BigInt(n), version: 4 }));
    }), { numRuns: 5000 });
  });
});
