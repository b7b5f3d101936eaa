import { describe, it, expect } from '@jest/globals';
import { budget } from '../../cni/plugin.js';

describe('budget', () => {
  it.each<[number, number, { daemonMs: number; httpMs: number }]>([
    [50_000, 0, { daemonMs: 45_000, httpMs: 47_500 }],
    [50_000, 30, { daemonMs: 44_970, httpMs: 47_470 }],
    [120_000, 0, { daemonMs: 115_000, httpMs: 117_500 }],
    [10_000, 0, { daemonMs: 9000, httpMs: 9500 }],
    [2000, 40.4, { daemonMs: 960, httpMs: 1460 }],
    [1000, 0, { daemonMs: 0, httpMs: 500 }],
    [300, 0, { daemonMs: 0, httpMs: 0 }],
    [50_000, 60_000, { daemonMs: 0, httpMs: 0 }],
  ])('of %i ms, %f ms gone', (total, elapsed, expected) => {
    expect(budget(total, elapsed)).toEqual(expected);
  });
});
