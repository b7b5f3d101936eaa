// The controller's Subnet key (DESIGN §3.3, §1): a Subnet's status from the planner state, and
// with OVN its logical switch.
// Rules:
// - At most one status write per Subnet every STATUS_EVERY_MS: a burst of pods costs a few.
// - The status is written before the switch, so OVN being down never stops status.
// - A correction of the spec (SubnetEvents.ts) is told by a Warning Event after the status write
//   that records it succeeded: once per change, not on every resync.
// - A reservation (a hand-written IP object) of this Subnet that cannot hold its address gets
//   its Warning Event (Reservations.ts) once per message while this process runs; one that
//   holds again is forgotten, so a later loss is told again.
// - The switch, the router and the Subnet's router port (its gateway, OvnRouter.ts) are
//   written in one transaction when their views (CIDR, excludeIps, gateway) differ from the
//   last ones written: once per Subnet at start, then at each change (a gateway change moves
//   the router port's address). A Subnet written here that goes, or stops being a valid OVN
//   Subnet, has its router port and peer deleted and is forgotten, so one made again under
//   the name gets its rows again. One gone while the controller was down is the audit's.
import type { PlannerState } from '../domain/IncrementalPlanner.js';
import { statusViewWith, subnetStatusWith } from '../domain/IncrementalPlanner.js';
import { deleteRouterPortOf, subnetOvnActions } from '../domain/OvnRouter.js';
import { reservationEventOf } from '../domain/Reservations.js';
import { subnetEventOf } from '../domain/SubnetEvents.js';
import type { ApplyDeps, ApplyResult } from './apply.js';
import { applyActions } from './apply.js';
import type { Metrics } from './metrics.js';
import type { Clock } from './ports.js';
import type { Outcome } from './WorkQueue.js';

/** Status writes per subnet are at least this far apart: a second, so a burst of pods on a
 *  few Subnets costs the API server a few writes a second (at 250 ms, the 5,000-pod burst of
 *  `npm run bench` made 928 status patches beside its 20,000 allocation writes). */
export const STATUS_EVERY_MS = 1_000;

export interface SubnetDeps extends ApplyDeps {
  readonly clock: Clock;
  readonly metrics: Metrics;
}

/** What the work queue does after an apply's result. */
export const outcomeOf = (result: ApplyResult): Outcome => {
  switch (result.kind) {
    case 'applied': return { kind: 'done' };
    case 'replan': return { kind: 'after', ms: 0 };
    case 'retry': return { kind: 'retry', reason: result.error };
    case 'fenced': return { kind: 'after', ms: 1000 };
    case 'terminal': return { kind: 'done' };
  }
};

export class SubnetReconciler {
  /** The logical switch last written per OVN Subnet (its view as JSON). */
  private readonly switchWritten = new Map<string, string>();
  /** When each subnet's status was last written. */
  private readonly statusWritten = new Map<string, number>();
  /** The ClaimConflict told per lost reservation (IP object name → message). */
  private readonly toldReservations = new Map<string, string>();

  constructor(private readonly deps: SubnetDeps, private readonly plannerState: () => PlannerState) {}

  async reconcile(name: string): Promise<Outcome> {
    const { clock, live } = this.deps;
    const snap = live.snapshot;
    if (!snap.subnets.has(name)) {
      // A reservation naming a Subnet that does not exist is told too.
      await this.tellLostReservations(this.plannerState(), name);
      return (await this.unplugRouter(name)) ?? { kind: 'done' };
    }
    const since = clock.now() - (this.statusWritten.get(name) ?? -Infinity);
    if (since < STATUS_EVERY_MS) return { kind: 'after', ms: STATUS_EVERY_MS - since };
    const state = this.plannerState();
    const status = statusViewWith(state, snap, name);
    if (status !== undefined) this.deps.metrics.subnetUsage(name, status);
    const action = subnetStatusWith(state, snap, name);
    let outcome: Outcome = { kind: 'done' };
    if (action?.type === 'UpdateSubnetStatus') {
      // A correction's Warning Event goes with the status write that records it (once per change).
      const event = subnetEventOf({ ...state.ctx, snapshot: snap }, name);
      this.statusWritten.set(name, clock.now());
      live.applyIntended([action]);
      const result = await applyActions(this.deps, [action]);
      // Not written: the status held is the old one again, so the retry plans the write anew.
      if (result.kind !== 'applied') live.revertIntended([action]);
      outcome = outcomeOf(result);
      if (result.kind === 'applied' && event !== undefined) await applyActions(this.deps, [event]);
    }
    await this.tellLostReservations(state, name);
    return (await this.ensureSwitch(state, name)) ?? outcome;
  }

  /** Emits the Event of each lost reservation of `subnet` not told yet (see the rules above).
   *  Events are best effort (apply logs a failed one). */
  private async tellLostReservations(state: PlannerState, subnet: string): Promise<void> {
    const lost = state.loaded.reservations;
    for (const [name, message] of this.toldReservations) if (lost.get(name)?.message !== message) this.toldReservations.delete(name);
    const untold = [...lost].filter(([name, r]) => r.claim.subnet === subnet && !this.toldReservations.has(name));
    if (untold.length === 0) return;
    for (const [name, r] of untold) this.toldReservations.set(name, r.message);
    await applyActions(this.deps, untold.map(([name, r]) => reservationEventOf(name, r)));
  }

  /** After a switch was deleted (the audit): the next reconcile of its name writes it again. */
  forgetSwitch(name: string): void {
    this.switchWritten.delete(name);
  }

  /** With OVN: writes the Subnet's logical switch, the router and its router port when they
   *  changed since the last write. Returns an outcome only when that write failed. */
  private async ensureSwitch(state: PlannerState, name: string): Promise<Outcome | undefined> {
    if (this.deps.ovn === undefined) return undefined;
    const actions = subnetOvnActions({ ...state.ctx, snapshot: this.deps.live.snapshot }, name);
    if (actions === undefined) return this.unplugRouter(name);
    const view = JSON.stringify(actions);
    if (this.switchWritten.get(name) === view) return undefined;
    const result = await applyActions(this.deps, actions);
    if (result.kind !== 'applied') return outcomeOf(result);
    this.switchWritten.set(name, view);
    return undefined;
  }

  /** With OVN, for a Subnet this reconciler wrote that is gone or no longer a valid OVN Subnet:
   *  deletes its router port and peer (the switch is the audit's, once it has no port left).
   *  Returns an outcome only when that delete failed. */
  private async unplugRouter(name: string): Promise<Outcome | undefined> {
    if (this.deps.ovn === undefined || !this.switchWritten.has(name)) return undefined;
    const result = await applyActions(this.deps, [deleteRouterPortOf(name, `subnet ${name} is gone or no longer a valid OVN subnet`)]);
    if (result.kind !== 'applied') return outcomeOf(result);
    this.forgetSwitch(name);
    return undefined;
  }
}
