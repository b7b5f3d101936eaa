// What the controller measures (the adapter in src/adapters/metrics.ts backs it with
// prom-client): allocations and failures by kind, queue depth and wait, the time from a pod's
// first sighting to its annotations being written, reconciles that threw, and each subnet's used/available counts.
import type { SubnetStatusView } from '../domain/Plan.js';

export interface CounterLike<L extends string> {
  inc(labels: Readonly<Record<L, string>>): void;
}
export interface GaugeLike<L extends string> {
  set(labels: Readonly<Record<L, string>>, value: number): void;
}
export interface HistogramLike<L extends string> {
  observe(labels: Readonly<Record<L, string>>, seconds: number): void;
}

export interface Metrics {
  readonly allocations: CounterLike<'source'>;
  readonly failures: CounterLike<'code'>;
  readonly queueDepth: GaugeLike<'queue'>;
  readonly queueLatency: HistogramLike<'queue'>;
  /** Reconciles that threw (caught at the queue, retried), by queue ('events': a watch event, 'sweep': the sweep). */
  readonly reconcilePanics: CounterLike<'queue'>;
  readonly allocationLatency: { observe(seconds: number): void };
  subnetUsage(subnet: string, status: SubnetStatusView): void;
}
