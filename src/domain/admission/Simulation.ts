// The planner's workload simulation (Workloads.ts, ClusterPlanner step 5) for one workload:
// its missing pods and a Deployment's rollout surge, planned after everything the cluster
// already holds, as `plan` does, but without planning the rest of the cluster's workloads.
// Rules: the state is the start-up rebuild (IncrementalPlanner.prepare: existing claims, held
// addresses, IPPool ranges, earlier releases); live pods still waiting for addresses are
// planned first (as planAll plans live pods before simulated ones), then the workload's
// simulated pods in order, each holding what its template names. Only their errors are kept.
// planSimulatedWith does the same from a prepared state (Prepared.ts: the rebuild and the
// waiting pods derived once), in a Draft over it: O(simulated and waiting pods × log n).
import * as E from 'fp-ts/lib/Either.js';
import type { PlanOptions } from '../ClusterPlanner.js';
import type { PodItems } from '../ClusterPlanner.js';
import { holdItemsIn } from '../PoolHolds.js';
import { PlanBuilder, planPodIn, resolvePod } from '../ClusterPlanner.js';
import { Draft } from '../Draft.js';
import type { PlannerState } from '../IncrementalPlanner.js';
import { prepare } from '../IncrementalPlanner.js';
import { claimIdOf } from '../IpamState.js';
import type { PlanError } from '../Plan.js';
import { inCreationOrder } from '../PlanContext.js';
import type { Snapshot } from '../Snapshot.js';
import type { SimulatedPod } from '../Workloads.js';
import { isGone, simulatedPods } from '../Workloads.js';
import type { Decoded } from './AdmittedObject.js';
import type { AdmissionState } from './Prepared.js';

/** The simulated pods of the one workload `stored` (in a snapshot that holds it). */
export const simulatedPodsOf = (snapshot: Snapshot, stored: Decoded<unknown>): readonly SimulatedPod[] =>
  simulatedPods({
    ...snapshot,
    deployments: new Map(),
    replicasets: new Map(),
    statefulsets: new Map(),
    [stored.kind]: new Map([[stored.key, stored.entry]]),
  });

export interface SimulatedErrors {
  readonly sim: SimulatedPod;
  readonly errors: readonly PlanError[];
}

/** Plans `sims` against `snapshot` and returns each one's errors. */
export const planSimulated = (snapshot: Snapshot, sims: readonly SimulatedPod[], options: PlanOptions): readonly SimulatedErrors[] => {
  if (sims.length === 0) return [];
  const ps = prepare(snapshot, options);
  const waiting = inCreationOrder(snapshot.pods.values())
    .map((e) => e.object)
    .filter((p) => p.spec.hostNetwork !== true && !isGone(p))
    .map((p) => resolvePod(ps.ctx, p))
    .filter((r) => r.items.some((i) => E.isRight(i.resolved) && !ps.ipam.claims.has(claimIdOf(i.live.key))));
  return planAfter(ps, waiting, sims, options);
};

/** planSimulated from a prepared state of `snapshot` (which holds the workload already). */
export const planSimulatedWith = (state: AdmissionState, snapshot: Snapshot, sims: readonly SimulatedPod[], options: PlanOptions): readonly SimulatedErrors[] =>
  sims.length === 0 ? [] : planAfter({ ...state.planner, ctx: { ...state.planner.ctx, snapshot } }, state.waiting, sims, options);

/** Holds what the simulated pods name, plans the waiting pods, then each simulated pod. */
const planAfter = (ps: PlannerState, waiting: readonly PodItems[], sims: readonly SimulatedPod[], options: PlanOptions): readonly SimulatedErrors[] => {
  const d = new Draft(ps.ipam);
  const simulated = sims.map((s) => resolvePod(ps.ctx, s.pod, s.workload));
  holdItemsIn(d, simulated, ps.heldPools);
  const scratch = new PlanBuilder();
  for (const r of waiting) planPodIn(ps.ctx, d, r, ps.loaded, scratch, options.now);
  return simulated.map((r, i) => {
    const out = new PlanBuilder();
    planPodIn(ps.ctx, d, r, ps.loaded, out, options.now);
    return { sim: sims[i]!, errors: out.errors };
  });
};
