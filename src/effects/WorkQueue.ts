// A keyed work queue (controller-runtime's contract): a key waiting is queued once however
// often it is added; a key being processed is never processed by two workers at once (added
// again meanwhile, it runs once more afterwards); failures come back after a per-key
// exponential backoff that resets on success; `workers` keys are processed concurrently.
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
}

export class WorkQueue {
  private readonly waiting = new Map<string, number>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
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
    this.hooks.onDepth?.(this.waiting.size);
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
    this.order.length = 0;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.options.workers && this.order.length > 0) {
      const key = this.order.shift()!;
      const since = this.waiting.get(key);
      if (since === undefined) continue;
      this.waiting.delete(key);
      this.active.add(key);
      this.running++;
      this.hooks.onStart?.(key, this.clock.now() - since);
      this.hooks.onDepth?.(this.waiting.size);
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
    // One turn of the event loop per key, so a long queue never starves I/O callbacks.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      outcome = await this.process(key);
    } catch (err) {
      outcome = { kind: 'retry', reason: err instanceof Error ? err.message : String(err) };
    }
    this.active.delete(key);
    this.running--;
    if (outcome.kind === 'done') this.failures.delete(key);
    if (outcome.kind === 'retry') {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      this.addAfter(key, Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** (n - 1)));
    }
    if (outcome.kind === 'after') this.addAfter(key, outcome.ms);
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }
}
