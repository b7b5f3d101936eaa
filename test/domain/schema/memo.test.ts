// boundedMemo: long values are parsed once and share one result while kept; short ones are
// parsed every time; the least recently used goes first when a limit is passed.
import { describe, it, expect } from '@jest/globals';
import { boundedMemo } from '../../../src/domain/schema/memo.js';
import { parsePodNetworkRequest } from '../../../src/domain/schema/annotations.js';

/** A memo over a parse that records what it was asked, in order. */
const counting = (limits: { minLength: number; maxValues: number; maxChars: number }) => {
  const calls: string[] = [];
  const parse = boundedMemo((value: string) => {
    calls.push(value);
    return { value };
  }, limits);
  return { calls, parse };
};

describe('boundedMemo', () => {
  it('parses a long value once and returns the same object for equal text', () => {
    const { calls, parse } = counting({ minLength: 4, maxValues: 8, maxChars: 100 });
    const first = parse('abcd');
    const second = parse(['ab', 'cd'].join(''));
    expect(first).toBe(second);
    expect(calls).toEqual(['abcd']);
  });

  it('parses a value shorter than minLength every time', () => {
    const { calls, parse } = counting({ minLength: 4, maxValues: 8, maxChars: 100 });
    expect(parse('abc')).toEqual({ value: 'abc' });
    expect(parse('abc')).toEqual({ value: 'abc' });
    expect(calls).toEqual(['abc', 'abc']);
  });

  it('drops the least recently used value past maxValues', () => {
    const { calls, parse } = counting({ minLength: 1, maxValues: 2, maxChars: 100 });
    for (const v of ['a', 'b', 'a', 'c', 'a', 'b']) parse(v);
    // 'a' was used again before 'c' came, so 'b' went; then 'b' is parsed anew.
    expect(calls).toEqual(['a', 'b', 'c', 'b']);
  });

  it('drops the oldest values past maxChars, and never keeps one longer than maxChars', () => {
    const { calls, parse } = counting({ minLength: 1, maxValues: 8, maxChars: 5 });
    for (const v of ['aaa', 'bb', 'cc', 'aaa', 'bb', 'dddddd', 'dddddd']) parse(v);
    // 'cc' pushes out 'aaa' (3+2+2 > 5); 'aaa' again pushes out 'bb', and 'bb' again 'cc'.
    expect(calls).toEqual(['aaa', 'bb', 'cc', 'aaa', 'bb', 'dddddd', 'dddddd']);
  });
});

describe('ip_pool lists in pod annotations', () => {
  const list = Array.from({ length: 100 }, (_, i) => `10.16.1.${i}`).join(',');

  it('a long list parsed for two pods is one shared value', () => {
    const a = parsePodNetworkRequest({ 'ovn.kubernetes.io/ip_pool': list }, { provider: 'ovn' });
    const b = parsePodNetworkRequest({ 'ovn.kubernetes.io/ip_pool': ` ${list} ` }, { provider: 'ovn' });
    expect(a._tag === 'Right' && b._tag === 'Right' && a.right.ipPool === b.right.ipPool).toBe(true);
    expect(a._tag === 'Right' && a.right.ipPool?.kind === 'addresses' ? a.right.ipPool.entries.length : 0).toBe(100);
  });

  it('a long list with a bad entry is the same error each time', () => {
    const bad = `${list},10.16.1.300`;
    const expected = [{ code: 'InvalidAnnotation', annotation: 'ovn.kubernetes.io/ip_pool', message: 'annotation ovn.kubernetes.io/ip_pool: "10.16.1.300" is not an IP address' }];
    expect(parsePodNetworkRequest({ 'ovn.kubernetes.io/ip_pool': bad }, { provider: 'ovn' })).toEqual({ _tag: 'Left', left: expected });
    expect(parsePodNetworkRequest({ 'ovn.kubernetes.io/ip_pool': bad }, { provider: 'ovn' })).toEqual({ _tag: 'Left', left: expected });
  });
});
