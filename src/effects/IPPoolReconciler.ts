// The controller's IPPool key (Kube-OVN's handleAddOrUpdateIPPool / handleUpdateIPPoolStatus):
// the pool's status (counts, ranges, Ready condition) from the planner state, written through
// the status subresource when it differs from what the pool shows.
// Rules:
// - A pool is reconciled when it changes, when any pool changes (one pool's overlap decides
//   another's readiness), and after each reconcile of its Subnet (allocations and releases
//   there change its counts).
// - At most one status write per pool every STATUS_EVERY_MS, as for Subnets.
// - The written status enters the live snapshot first, so the next compare sees it.
import type { PlannerState } from '../domain/IncrementalPlanner.js';
import { planPoolStatusOf } from '../domain/IPPoolStatus.js';
import type { ApplyDeps } from './apply.js';
import { applyActions } from './apply.js';
import type { Clock } from './ports.js';
import { outcomeOf, STATUS_EVERY_MS } from './SubnetReconciler.js';
import type { Outcome } from './WorkQueue.js';

export interface IPPoolDeps extends ApplyDeps {
  readonly clock: Clock;
}

export class IPPoolReconciler {
  /** When each pool's status was last written. */
  private readonly statusWritten = new Map<string, number>();

  constructor(private readonly deps: IPPoolDeps, private readonly plannerState: () => PlannerState) {}

  async reconcile(name: string): Promise<Outcome> {
    const { clock, live } = this.deps;
    if (!live.snapshot.ippools.has(name)) {
      this.statusWritten.delete(name);
      return { kind: 'done' };
    }
    const since = clock.now() - (this.statusWritten.get(name) ?? -Infinity);
    if (since < STATUS_EVERY_MS) return { kind: 'after', ms: STATUS_EVERY_MS - since };
    const state = this.plannerState();
    const snapshot = live.snapshot;
    const action = planPoolStatusOf({ ...state.ctx, snapshot }, state.ipam, name);
    if (action === undefined) return { kind: 'done' };
    this.statusWritten.set(name, clock.now());
    live.applyIntended([action]);
    const result = await applyActions(this.deps, [action]);
    // Not written: the status held is the old one again, so the retry plans the write anew.
    if (result.kind !== 'applied') live.revertIntended([action]);
    return outcomeOf(result);
  }

  /** The pools of a Subnet (by spec.subnet), to reconcile after the Subnet. */
  poolsOf(subnet: string): string[] {
    return [...this.deps.live.snapshot.ippools.values()].filter((e) => e.object.spec.subnet === subnet).map((e) => e.object.metadata.name);
  }
}
