// One ip_pool measurement in a fresh process (so its peak memory is its own):
// `node poolsWorker.js FORM PATH POOL REPLICAS` prints {"ms":…, "perPodMs":…, "peakRssMiB":…,
// "allocations":…, "errors":…}. FORM: `list` (an ip_pool annotation listing POOL addresses) or
// `ippool` (the annotation names an IPPool whose spec.ips lists them). PATH: `plan` (planAll
// over a StatefulSet of REPLICAS simulated pods) or `controller` (the controller's incremental
// planner: prepare over REPLICAS live pods of the StatefulSet, then planPodWith for each).
import { planAll } from '../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../src/domain/IncrementalPlanner.js';
import { buildSnapshot } from '../src/domain/Snapshot.js';
import { poolObjects } from './poolsWorkload.js';

const [form, path, poolText, replicasText] = process.argv.slice(2);
const pool = Number(poolText ?? '1000');
const replicas = Number(replicasText ?? '200');
const live = path === 'controller';
const { snapshot, problems } = buildSnapshot(poolObjects({ form: form === 'ippool' ? 'ippool' : 'list', pool, replicas, live }).map((value, document) => ({ origin: { file: 'bench', document }, value })));
if (problems.length > 0) throw new Error(problems[0]!.message);
(globalThis as { gc?: () => void }).gc?.();
const rssBefore = process.resourceUsage().maxRSS;
const start = process.hrtime.bigint();
let allocations = 0;
let errors = 0;
if (live) {
  let state = prepare(snapshot, { now: 0 });
  for (const key of snapshot.pods.keys()) {
    const { plan, state: next } = planPodWith(state, snapshot, key, { now: 0 });
    state = next;
    allocations += plan.allocations.length;
    errors += plan.errors.length;
  }
} else {
  const plan = planAll(snapshot, { now: 0 });
  allocations = plan.allocations.length;
  errors = plan.errors.length;
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const peakRssMiB = Math.max(0, process.resourceUsage().maxRSS - rssBefore) / 1024;
process.stdout.write(JSON.stringify({ ms, perPodMs: ms / replicas, peakRssMiB, allocations, errors }) + '\n');
