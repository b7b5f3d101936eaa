// The work queue as the boundary of what one key can break (src/effects/WorkQueue.ts): a key
// whose processing throws (or rejects) is told to onThrow once per distinct error, retried
// after the same exponential backoff as a `retry` (200 ms, then 400 ms, …, here with fake
// timers so the delays are exact), and every other key is processed meanwhile; a hook that
// throws stops nothing.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { Outcome, QueueHooks } from '../../src/effects/WorkQueue.js';
import { WorkQueue } from '../../src/effects/WorkQueue.js';

const clock = { now: () => 0, sleep: () => Promise.resolve() };
const options = { workers: 2, initialBackoffMs: 200, maxBackoffMs: 30_000 };

/** A queue over `process` that records each key processed and each onThrow. */
const queueOf = (process: (key: string, attempt: number) => Outcome | Promise<Outcome>, hooks: QueueHooks = {}) => {
  const processed: string[] = [];
  const thrown: string[] = [];
  const attempts = new Map<string, number>();
  const queue = new WorkQueue((key) => {
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    processed.push(key);
    return Promise.resolve().then(() => process(key, n));
  }, clock, options, {
    ...hooks,
    onThrow: (key, err, repeated) => {
      thrown.push(`${key} ${err instanceof Error ? err.message : String(err)}${repeated ? ' (repeated)' : ''}`);
      hooks.onThrow?.(key, err, repeated);
    },
  });
  return { queue, processed, thrown };
};

/** Lets the queue's setImmediate turns and promise callbacks run (timers stay fake). */
const settle = async (queue: WorkQueue): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await new Promise<void>((r) => setImmediate(r));
    await queue.idle();
  }
};

beforeEach(() => {
  jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('WorkQueue: a key that throws', () => {
  it('is reported, retried after 200 ms then 400 ms, while every other key is processed', async () => {
    const { queue, processed, thrown } = queueOf((key, n) => {
      if (key === 'bad' && n <= 2) throw new Error('boom');
      return { kind: 'done' };
    });
    for (const key of ['bad', 'a', 'b', 'c', 'd', 'e']) queue.add(key);
    await settle(queue);
    expect(processed.sort()).toEqual(['a', 'b', 'bad', 'c', 'd', 'e']);
    expect(thrown).toEqual(['bad boom']);
    jest.advanceTimersByTime(199);
    await settle(queue);
    expect(processed.filter((k) => k === 'bad')).toHaveLength(1);
    jest.advanceTimersByTime(1);
    await settle(queue);
    expect(thrown).toEqual(['bad boom', 'bad boom (repeated)']);
    jest.advanceTimersByTime(399);
    await settle(queue);
    expect(processed.filter((k) => k === 'bad')).toHaveLength(2);
    jest.advanceTimersByTime(1);
    await settle(queue);
    expect(processed.filter((k) => k === 'bad')).toHaveLength(3);
    expect(thrown).toHaveLength(2);
    queue.stop();
  });

  it.each<[string, readonly (string | 'retry')[], readonly string[]]>([
    ['the same error twice: the second is a repeat', ['x', 'x'], ['k x', 'k x (repeated)']],
    ['another error: not a repeat', ['x', 'y', 'y'], ['k x', 'k y', 'k y (repeated)']],
    ['a plain retry in between: the next throw is new again', ['x', 'retry', 'x'], ['k x', 'k x']],
  ])('%s', async (_name, script, expected) => {
    const { queue, thrown } = queueOf((_key, n) => {
      const step = script[n - 1];
      if (step === undefined) return { kind: 'done' };
      if (step === 'retry') return { kind: 'retry', reason: 'write failed' };
      throw new Error(step);
    });
    queue.add('k');
    for (let i = 0; i <= script.length; i++) {
      await settle(queue);
      jest.advanceTimersByTime(30_000);
    }
    await settle(queue);
    expect(thrown).toEqual(expected);
    queue.stop();
  });

  it('a process that throws synchronously, or throws a non-Error, is caught the same way', async () => {
    const processed: string[] = [];
    const thrown: string[] = [];
    const queue = new WorkQueue((key) => {
      processed.push(key);
      if (key === 'sync') throw new Error('sync boom');
      if (key === 'string') return Promise.reject('a string');
      return Promise.resolve({ kind: 'done' });
    }, clock, options, { onThrow: (key, err) => thrown.push(`${key} ${err instanceof Error ? err.message : String(err)}`) });
    for (const key of ['sync', 'string', 'ok']) queue.add(key);
    await settle(queue);
    expect([processed.sort(), thrown.sort()]).toEqual([['ok', 'string', 'sync'], ['string a string', 'sync sync boom']]);
    queue.stop();
  });

  it('hooks that throw stop nothing: every key is still processed and retried', async () => {
    const explode = (): never => {
      throw new Error('hook bug');
    };
    const { queue, processed } = queueOf((key, n) => {
      if (key === 'bad' && n === 1) throw new Error('boom');
      return { kind: 'done' };
    }, { onStart: explode, onDepth: explode, onThrow: explode });
    for (const key of ['bad', 'a', 'b']) queue.add(key);
    await settle(queue);
    jest.advanceTimersByTime(200);
    await settle(queue);
    expect(processed.sort()).toEqual(['a', 'b', 'bad', 'bad']);
    queue.stop();
  });
});
