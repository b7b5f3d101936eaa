// The IPPool side of a plan: the UpdateIPPoolStatus action of each pool whose status is not
// what it should be (IPPools.ts poolStatusOf).
// Rules:
// - Pools in name order, one action each at most; a pool already showing its status plans
//   nothing, so a converged cluster writes nothing.
// - A pool that is not ready is no plan error (every error is a pod's, DESIGN §3.7): its status
//   action says so with the reason ("mark it not ready: …"), and each pod that would take an
//   address from it gets NoAvailableAddress naming the pool and that reason (PlanContext.ts).
import * as E from 'fp-ts/lib/Either.js';
import { poolStatusMatches, poolStatusOf, poolStatusReason } from './IPPools.js';
import type { IpamState } from './IpamState.js';
import type { Action } from './Plan.js';
import type { PlanContext } from './PlanContext.js';

/** The status action of one IPPool from the state, if its status is not right. */
export const planPoolStatusOf = (ctx: PlanContext, state: IpamState, name: string): Action | undefined => {
  const verdict = ctx.pools.get(name);
  const pool = ctx.snapshot.ippools.get(name)?.object;
  if (verdict === undefined || pool === undefined) return undefined;
  const status = poolStatusOf(verdict, state);
  if (poolStatusMatches(pool.status, status)) return undefined;
  const s = ctx.subnets.get(pool.spec.subnet);
  return { type: 'UpdateIPPoolStatus', target: name, reason: poolStatusReason(verdict, status, s !== undefined && E.isRight(s) ? s.right : undefined), status };
};

/** The status actions of the pools (all, or those of the given Subnets), by name. */
export const planPoolStatuses = (ctx: PlanContext, state: IpamState, subnets?: ReadonlySet<string>): Action[] =>
  [...ctx.snapshot.ippools.keys()].sort()
    .filter((name) => subnets === undefined || subnets.has(ctx.snapshot.ippools.get(name)!.object.spec.subnet))
    .flatMap((name) => {
      const a = planPoolStatusOf(ctx, state, name);
      return a === undefined ? [] : [a];
    });

