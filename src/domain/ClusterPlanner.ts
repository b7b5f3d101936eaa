// (being written)
import type { Plan } from './Plan.js';
import type { Snapshot } from './Snapshot.js';

export interface PlanOptions {
  /** The clock, as data (milliseconds since the epoch). */
  readonly now: number;
  /** Milliseconds a released address rests before reuse. */
  readonly cooldownMs?: number;
}

export const planAll = (_snapshot: Snapshot, _options: PlanOptions): Plan => ({ allocations: [], actions: [], errors: [] });
