// Command-line value parsing: RFC 3339 times and seconds, exact values and messages.
import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseFlags, parseSeconds, parseTimestamp } from '../../src/cli/args.js';

describe('parseTimestamp', () => {
  it.each([
    ['2025-01-31T12:00:00Z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31t12:00:00z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31 12:00:00Z', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31T13:30:00+01:30', Date.UTC(2025, 0, 31, 12)],
    ['2025-01-31T10:00:00.25-02:00', Date.UTC(2025, 0, 31, 12, 0, 0, 250)],
    ['2025-01-31T12:00:00.123456789Z', Date.UTC(2025, 0, 31, 12, 0, 0, 123)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1970-01-01T00:00:00Z', 0],
  ])('%s is %d', (text, ms) => {
    expect(parseTimestamp(text)).toEqual(E.right(ms));
  });

  it.each([
    ['2025-02-29T00:00:00Z', 'is not a valid date and time'],
    ['2025-04-31T00:00:00Z', 'is not a valid date and time'],
    ['2025-13-01T00:00:00Z', 'is not a valid date and time'],
    ['2025-01-01T24:00:00Z', 'is not a valid date and time'],
    ['2025-01-01T23:59:60Z', 'is not a valid date and time'],
    ['2025-01-01T00:00:00+24:00', 'is not a valid date and time'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseTimestamp(text)).toEqual(E.left(`${JSON.stringify(text)} ${message}`));
  });

  it.each([['2025-01-31'], ['2025-01-31T12:00:00'], ['1738324800'], ['now'], ['']])('%j is not RFC 3339', (text) => {
    expect(parseTimestamp(text)).toEqual(E.left(`expected an RFC 3339 time such as 2025-01-31T12:00:00Z, got ${JSON.stringify(text)}`));
  });
});

describe('parseSeconds', () => {
  it.each([['0', 0], ['300', 300_000], ['1.5', 1500], ['0.0004', 0]])('%s seconds is %d ms', (text, ms) => {
    expect(parseSeconds(text)).toEqual(E.right(ms));
  });

  it.each([['-1'], ['1e3'], ['5m'], [''], ['.5'], ['Infinity']])('%j is refused', (text) => {
    expect(parseSeconds(text)).toEqual(E.left(`expected a number of seconds such as 300, got ${JSON.stringify(text)}`));
  });
});

describe('parseFlags', () => {
  const options = { name: { type: 'string', short: 'n', multiple: true }, verbose: { type: 'boolean', short: 'v' } } as const;

  it('returns flags and positional arguments in command-line order', () => {
    expect(parseFlags(['a', '-n', 'b', '--verbose', '--name=c', 'd', '--', '-e'], options)).toEqual(E.right([
      { kind: 'positional', value: 'a' },
      { kind: 'flag', name: 'name', value: 'b' },
      { kind: 'flag', name: 'verbose', value: undefined },
      { kind: 'flag', name: 'name', value: 'c' },
      { kind: 'positional', value: 'd' },
      { kind: 'positional', value: '-e' },
    ]));
  });
});
