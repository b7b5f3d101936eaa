import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import * as RS from '../../src/domain/RangeSet.js';
import { parseAddress, formatAddress } from '../../src/domain/Address.js';

const v4 = (text: string): bigint => {
  const a = parseAddress(text);
  if (E.isLeft(a)) throw new Error(a.left);
  return a.right.value;
};
/** Builds a set from `a-b,c` text of IPv4 addresses. */
const set4 = (text: string): RS.RangeSet =>
  text === ''
    ? []
    : RS.fromRanges(
        text.split(',').map((part) => {
          const [a, b] = part.split('-');
          return { start: v4(a!), end: v4(b ?? a!) };
        }),
      );
const show = (s: RS.RangeSet): string => RS.format(s, 4);

describe('Address parsing', () => {
  it.each([
    ['10.16.0.1', '10.16.0.1'],
    ['FD00:0:0::0:5', 'fd00::5'],
    ['fd00:0000::1', 'fd00::1'],
    ['::', '::'],
  ])('%s is formatted as %s', (text, expected) => {
    const a = parseAddress(text);
    expect(E.isRight(a) && formatAddress(a.right)).toBe(expected);
  });
  it.each([
    ['10.16.0.256', '"10.16.0.256" is not an IP address'],
    ['10.16.0.1/24', '"10.16.0.1/24" is not an IP address (a prefix length is not allowed here)'],
    ['fe80::1%eth0', '"fe80::1%eth0" is not an IP address (a zone index is not allowed)'],
    ['::ffff:10.0.0.1', '"::ffff:10.0.0.1" is an IPv4-mapped IPv6 address; write the IPv4 address instead'],
    ['010.0.0.1', '"010.0.0.1" is not an IP address'],
    ['', '"" is not an IP address'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseAddress(text)).toEqual(E.left(message));
  });
});

describe('RangeSet algebra', () => {
  it.each([
    ['merge overlapping and adjacent', '10.0.0.5-10.0.0.9,10.0.0.1-10.0.0.4,10.0.0.8-10.0.0.12,10.0.0.20', '10.0.0.1-10.0.0.12,10.0.0.20'],
    ['keep disjoint', '10.0.0.1,10.0.0.3', '10.0.0.1,10.0.0.3'],
    ['collapse duplicates', '10.0.0.3,10.0.0.3,10.0.0.3', '10.0.0.3'],
    ['empty', '', ''],
  ])('fromRanges: %s', (_name, input, expected) => {
    expect(show(set4(input))).toBe(expected);
  });

  it.each([
    ['10.0.0.1-10.0.0.10', '10.0.0.3-10.0.0.4', '10.0.0.1-10.0.0.2,10.0.0.5-10.0.0.10'],
    ['10.0.0.1-10.0.0.10', '10.0.0.1-10.0.0.10', ''],
    ['10.0.0.1-10.0.0.10', '10.0.0.0-10.0.0.1,10.0.0.10-10.0.0.20', '10.0.0.2-10.0.0.9'],
    ['10.0.0.1-10.0.0.5,10.0.0.8-10.0.0.12', '10.0.0.4-10.0.0.9', '10.0.0.1-10.0.0.3,10.0.0.10-10.0.0.12'],
    ['10.0.0.1-10.0.0.5', '', '10.0.0.1-10.0.0.5'],
  ])('subtract %s − %s = %s', (a, b, expected) => {
    expect(show(RS.subtract(set4(a), set4(b)))).toBe(expected);
  });

  it.each([
    ['10.0.0.1-10.0.0.10', '10.0.0.5-10.0.0.20', '10.0.0.5-10.0.0.10'],
    ['10.0.0.1-10.0.0.3,10.0.0.7-10.0.0.9', '10.0.0.2-10.0.0.8', '10.0.0.2-10.0.0.3,10.0.0.7-10.0.0.8'],
    ['10.0.0.1', '10.0.0.2', ''],
  ])('intersect %s ∩ %s = %s', (a, b, expected) => {
    expect(show(RS.intersect(set4(a), set4(b)))).toBe(expected);
  });

  it.each([
    ['10.0.0.1-10.0.0.3,10.0.0.7', '10.0.0.0', false, '10.0.0.1'],
    ['10.0.0.1-10.0.0.3,10.0.0.7', '10.0.0.2', true, '10.0.0.2'],
    ['10.0.0.1-10.0.0.3,10.0.0.7', '10.0.0.4', false, '10.0.0.7'],
    ['10.0.0.1-10.0.0.3,10.0.0.7', '10.0.0.8', false, undefined],
  ])('in %s: contains(%s) = %s, firstAtOrAfter = %s', (text, probe, inside, next) => {
    const s = set4(text);
    expect(RS.contains(s, v4(probe))).toBe(inside);
    const f = RS.firstAtOrAfter(s, v4(probe));
    expect(f === undefined ? undefined : RS.format(RS.single(f), 4)).toBe(next);
  });

  it('counts without enumerating: an IPv6 /64 and a /8', () => {
    expect(RS.count([{ start: 0n, end: 2n ** 64n - 1n }])).toBe(18446744073709551616n);
    expect(RS.count(set4('10.0.0.0-10.255.255.255'))).toBe(16777216n);
  });
});

describe('RangeSet parsing', () => {
  it.each([
    ['172.17.0.1..172.17.0.10', 4, '172.17.0.1-172.17.0.10'],
    ['10.0.0.0/30', 4, '10.0.0.0-10.0.0.3'],
    ['10.0.0.5/30', 4, '10.0.0.4-10.0.0.7'],
    [' 10.0.0.9 ', 4, '10.0.0.9'],
    ['fd00::1..fd00::ff', 6, 'fd00::1-fd00::ff'],
    ['fd00::/126', 6, 'fd00::-fd00::3'],
  ] as const)('%s → %s', (text, family, expected) => {
    const parsed = RS.parseEntry(text);
    expect(E.isRight(parsed) && parsed.right.family).toBe(family);
    expect(E.isRight(parsed) && RS.format(parsed.right.set, family)).toBe(expected);
  });
  it.each([
    ['10.0.0.9..10.0.0.1', '"10.0.0.9..10.0.0.1" is reversed: its start is after its end'],
    ['10.0.0.1..fd00::1', '"10.0.0.1..fd00::1" mixes families: IPv4 start, IPv6 end'],
    ['10.0.0.1..10.0.0.2..10.0.0.3', '"10.0.0.1..10.0.0.2..10.0.0.3" is not a range (expected start..end)'],
    ['10.0.0.1..x', '"10.0.0.1..x": "x" is not an IP address'],
    ['10.0.0.0/33', '"10.0.0.0/33" has prefix length 33, more than the 32 bits of IPv4'],
    ['10.0.0.0/', '"10.0.0.0/" is not a CIDR: the prefix length after "/" is missing'],
    ['nope', '"nope" is not an IP address'],
  ])('%s is refused: %s', (text, message) => {
    expect(RS.parseEntry(text)).toEqual(E.left(message));
  });
  it('parseList collects every bad entry and checks the family', () => {
    expect(RS.parseList(['10.0.0.1', 'fd00::1', 'bad', '10.0.0.2..10.0.0.1'], 4)).toEqual(
      E.left(['"fd00::1" is IPv6, expected IPv4', '"bad" is not an IP address', '"10.0.0.2..10.0.0.1" is reversed: its start is after its end']),
    );
    expect(E.map((s: RS.RangeSet) => show(s))(RS.parseList(['10.0.0.1', '10.0.0.2..10.0.0.4', '10.0.0.8/31'], 4))).toEqual(E.right('10.0.0.1-10.0.0.4,10.0.0.8-10.0.0.9'));
  });
});

// An independent answer: sets of small numbers as plain JS Sets.
const smallRanges = fc.array(
  fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })).map(([s, len]) => ({ start: BigInt(s), end: BigInt(s + len) })),
  { maxLength: 12 },
);
const members = (s: RS.RangeSet): number[] => s.flatMap((r) => Array.from({ length: Number(r.end - r.start + 1n) }, (_, i) => Number(r.start) + i));
const asSet = (ranges: readonly RS.Range[]): Set<number> => new Set(members(ranges));
const normal = (s: RS.RangeSet): boolean => s.every((r, i) => r.start <= r.end && (i === 0 || s[i - 1]!.end + 1n < r.start));

describe('RangeSet properties (against plain sets)', () => {
  it('union, subtract, intersect, contains, count agree with Set semantics and keep normal form', () => {
    fc.assert(
      fc.property(smallRanges, smallRanges, fc.integer({ min: 0, max: 230 }), (ra, rb, probe) => {
        const a = RS.fromRanges(ra);
        const b = RS.fromRanges(rb);
        const sa = asSet(ra);
        const sb = asSet(rb);
        const u = RS.union(a, b);
        const d = RS.subtract(a, b);
        const i = RS.intersect(a, b);
        expect([u, d, i].every(normal)).toBe(true);
        expect(members(u)).toEqual([...new Set([...sa, ...sb])].sort((x, y) => x - y));
        expect(members(d)).toEqual([...sa].filter((x) => !sb.has(x)).sort((x, y) => x - y));
        expect(members(i)).toEqual([...sa].filter((x) => sb.has(x)).sort((x, y) => x - y));
        expect(RS.contains(a, BigInt(probe))).toBe(sa.has(probe));
        expect(RS.count(a)).toBe(BigInt(sa.size));
        const next = [...sa].filter((x) => x >= probe).sort((x, y) => x - y)[0];
        expect(RS.firstAtOrAfter(a, BigInt(probe))).toBe(next === undefined ? undefined : BigInt(next));
      }),
      { numRuns: 1000 },
    );
  });
});
