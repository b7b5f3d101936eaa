// What the decoder properties found (issue 14, item 1), one row each: the input that used to
// throw, run out of memory or garble a message, and the value or error it gives now.
import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseMemory } from '../../../src/domain/AllocatorMemory.js';
import { deeplyNested } from './hostile.js';


describe('status.allocator entries nested deeper than the stack are reported, not a RangeError from JSON.stringify', () => {
  it.each<[string, unknown, string]>([
    ['released[0].at', { v4: { released: [{ ip: '10.0.0.2', at: deeplyNested(20_000) }] } }, 'status.allocator.v4.released has an unreadable entry {"ip":"10.0.0.2","at":[[[…]]]}'],
    ['usedUpTo', { v6: { usedUpTo: deeplyNested(20_000) } }, 'status.allocator.v6.usedUpTo [[[[…]]]] is not an IPv6 address'],
    ['a long string', { v4: { usedUpTo: 'x'.repeat(1000) } }, `status.allocator.v4.usedUpTo "${'x'.repeat(76)}... is not an IPv4 address`],
  ])('%s', (_name, allocator, message) => {
    expect(parseMemory(allocator)).toEqual(E.left(message));
  });
});
