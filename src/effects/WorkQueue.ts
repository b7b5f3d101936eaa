// A keyed work queue (controller-runtime's contract): a key waiting is queued once however
// often it is added; a key being processed is never processed by two workers at once (added
// again meanwhile, it runs once more afterwards); failures come back after a per-key
// exponential backoff that resets on success; `workers` keys are processed concurrently.
// The queue is the boundary of what one key can break: a process that throws (or rejects) is
// a failure of that key only, retried with the same backoff as a `retry`, told to `onThrow`
// (with whether it repeats the key's last throw, so it is reported once per distinct error),
// and every other key goes on. A hook that throws is ignored for the same reason.
import type { Clock } from './ports.js';

export type Outcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly reason: string } | { readonly kind: 'after'; readonly ms: number };

export interface QueueOptions {
  readonly workers: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface QueueHooks {
  /** Called when a key starts, with how long it waited. */
  onStart?(key: string, waitedMs: number): void;
  onDepth?(depth: number): void;
  /** Called when processing a key threw; `repeated`: the key's last attempt threw the same
   *  message (it is retried with backoff either way). */
  onThrow?(key: string, error: unknown, repeated: boolean): void;
}

/** What is kept per key between attempts: failures in a row, and the message of the last
 *  throw (cleared once an attempt returns instead of throwing). */
interface KeyState {
  readonly failures: number;
  readonly thrown: string | undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Calls a hook; a hook that throws must not take the queue down with it. */
const safely = (f: () => void): void => {
  try {
    f();
  } catch {
    // ignored: hooks only observe
  }
};

export class WorkQueue {
  private readonly waiting = new Map<string, number>();
  /** Keys in the order they were added, from `head` on: a head index, not `shift()`, which
   *  copies the whole array each time once it is large (50,000 keys at a restart). */
  private order: string[] = [];
  private head = 0;
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly keys = new Map<string, KeyState>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly process: (key: string) => Promise<Outcome>,
    private readonly clock: Clock,
    private readonly options: QueueOptions,
    private readonly hooks: QueueHooks = {},
  ) {}

  get depth(): number {
    return this.waiting.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.set(key, this.clock.now());
    this.order.push(key);
    safely(() => this.hooks.onDepth?.(this.waiting.size));
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.add(key);
    }, ms);
    this.timers.add(t);
  }

  /** Resolves when nothing is waiting or running (delayed adds are not waited for). */
  idle(): Promise<void> {
    if (this.waiting.size === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.waiting.clear();
    this.order = [];
    this.head = 0;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.options.workers && this.head < this.order.length) {
      const key = this.order[this.head++]!;
      if (this.head === this.order.length) [this.order, this.head] = [[], 0];
      else if (this.head >= 1024 && this.head * 2 >= this.order.length) [this.order, this.head] = [this.order.slice(this.head), 0];
      const since = this.waiting.get(key);
      if (since === undefined) continue;
      this.waiting.delete(key);
      this.active.add(key);
      this.running++;
      safely(() => this.hooks.onStart?.(key, this.clock.now() - since));
      safely(() => this.hooks.onDepth?.(this.waiting.size));
      void this.run(key);
    }
    if (this.waiting.size === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string): Promise<void> {
    let outcome: Outcome;
    const before = this.keys.get(key);
    let thrown: string | undefined;
    // One turn of the event loop per key, so a long queue never starves I/O callbacks.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      outcome = await this.process(key);
    } catch (err) {
      thrown = messageOf(err);
      const repeated = thrown === before?.thrown;
      safely(() => this.hooks.onThrow?.(key, err, repeated));
      outcome = { kind: 'retry', reason: thrown };
    }
    this.active.delete(key);
    this.running--;
    if (outcome.kind === 'retry') {
      const n = (before?.failures ?? 0) + 1;
      this.keys.set(key, { failures: n, thrown });
      this.addAfter(key, Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** (n - 1)));
    } else if (outcome.kind === 'done') {
      this.keys.delete(key);
    } else {
      if (before !== undefined) this.keys.set(key, { failures: before.failures, thrown: undefined });
      this.addAfter(key, outcome.ms);
    }
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }
}
