// One ip_pool measurement in a fresh process (so its peak memory is its own):
// `node poolsWorker.js FORM PATH POOL REPLICAS` prints one JSON line:
// {"ms", "prepareMs", "podMs": [...], "peakRssMiB", "allocations", "errors"}.
// FORM: `list` (the template's ip_pool annotation lists POOL addresses) or `ippool` (it names
// an IPPool whose spec.ips lists them). PATH: `plan` (planAll over a StatefulSet of REPLICAS
// simulated pods: `ms` is the first, whole plan, reading the pool included; then planAll's
// steps again, one by one, so that `podMs` is each simulated pod's own time: resolvePod and
// planPodIn, after the pool was read and held) or `controller` (the controller's incremental
// planner over REPLICAS live pods: `prepareMs` the start-up rebuild, then per pod, as the
// controller does on its event and its reconcile, holdPod and planPodWith: `podMs` each pod's time).
import * as E from 'fp-ts/lib/Either.js';
import { PlanBuilder, planAll, planPodIn, reservePoolsIn, resolvePod } from '../src/domain/ClusterPlanner.js';
import { Draft } from '../src/domain/Draft.js';
import { loadExisting } from '../src/domain/ExistingClaims.js';
import { emptyState } from '../src/domain/IpamState.js';
import { buildContext } from '../src/domain/PlanContext.js';
import { holdItemsIn } from '../src/domain/PoolHolds.js';
import { simulatedPods } from '../src/domain/Workloads.js';
import { holdPod, planPodWith, prepare } from '../src/domain/IncrementalPlanner.js';
import type { Snapshot } from '../src/domain/Snapshot.js';
import { buildSnapshot } from '../src/domain/Snapshot.js';
import { poolObjects } from './poolsWorkload.js';

const [form, path, poolText, replicasText] = process.argv.slice(2);
const pool = Number(poolText ?? '1000');
const replicas = Number(replicasText ?? '200');
const live = path === 'controller';
const snapshotOf = (n: number): Snapshot => {
  const decoded = buildSnapshot(poolObjects({ form: form === 'ippool' ? 'ippool' : 'list', pool, replicas: n, live }).map((value, document) => ({ origin: { file: 'bench', document }, value })));
  if (decoded.problems.length > 0) throw new Error(decoded.problems[0]!.message);
  return decoded.snapshot;
};
const snapshot = snapshotOf(replicas);
const elapsed = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** The controller's way: its start-up rebuild sees the first pod only, then every pod arrives
 *  as the controller meets it: holdPod on its event, planPodWith on its reconcile. */
const controller = (s: Snapshot) => {
  const keys = [...s.pods.keys()];
  const first = keys[0]!;
  const start = process.hrtime.bigint();
  let state = prepare({ ...s, pods: new Map([[first, s.pods.get(first)!]]) }, { now: 0 });
  const prepareMs = elapsed(start);
  const podMs: number[] = [];
  let allocations = 0;
  let errors = 0;
  for (const key of keys) {
    const t = process.hrtime.bigint();
    state = holdPod(state, s, s.pods.get(key)!.object);
    const { plan, state: next } = planPodWith(state, s, key, { now: 0 });
    podMs.push(elapsed(t));
    state = next;
    allocations += plan.allocations.length;
    errors += plan.errors.length;
  }
  return { prepareMs, podMs, allocations, errors };
};

(globalThis as { gc?: () => void }).gc?.();
const rssBefore = process.resourceUsage().maxRSS;
const start = process.hrtime.bigint();
const result = live ? controller(snapshot) : (() => {
  const plan = planAll(snapshot, { now: 0 });
  return { prepareMs: 0, podMs: [] as number[], allocations: plan.allocations.length, errors: plan.errors.length };
})();
const ms = elapsed(start);
const peakRssMiB = Math.max(0, process.resourceUsage().maxRSS - rssBefore) / 1024;

/** planAll's steps for the simulated pods (ClusterPlanner.ts planSnapshot), each pod timed. */
const perPlannedPod = (s: Snapshot): number[] => {
  const ctx = buildContext(s, {});
  const valid = ctx.subnetOrder.flatMap((name) => {
    const v = ctx.subnets.get(name)!;
    return E.isRight(v) ? [v.right] : [];
  });
  const d = new Draft(emptyState(valid));
  const loaded = loadExisting(ctx, d, [], 0);
  reservePoolsIn(ctx, d);
  const resolveMs: number[] = [];
  const sims = simulatedPods(s).map((sim) => {
    const t = process.hrtime.bigint();
    const r = resolvePod(ctx, sim.pod, sim.workload);
    resolveMs.push(elapsed(t));
    return r;
  });
  holdItemsIn(d, sims);
  const out = new PlanBuilder();
  return sims.map((r, i) => {
    const t = process.hrtime.bigint();
    planPodIn(ctx, d, r, loaded, out, 0);
    return resolveMs[i]! + elapsed(t);
  });
};
// The read's garbage collected first (V8 marks a heap grown by 100,000 entries in steps taken
// from later allocations): the per-pod figure is a pod's cost, not the read's leftover GC.
(globalThis as { gc?: () => void }).gc?.();
const podMs = live ? result.podMs : perPlannedPod(snapshot);
process.stdout.write(JSON.stringify({ ms, peakRssMiB, ...result, podMs }) + '\n');
