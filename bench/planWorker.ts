// One planner measurement in a fresh process (so its peak memory is its own):
// `node planWorker.js PODS` prints {"ms":…, "peakRssMiB":…, "allocations":…, "errors":…}.
import { planAll } from '../src/domain/ClusterPlanner.js';
import { buildSnapshot } from '../src/domain/Snapshot.js';
import { plannerObjects } from './plannerWorkload.js';

const pods = Number(process.argv[2] ?? '1000');
const { snapshot, problems } = buildSnapshot(plannerObjects(pods).map((value, document) => ({ origin: { file: 'bench', document }, value })));
if (problems.length > 0) throw new Error(problems[0]!.message);
(globalThis as { gc?: () => void }).gc?.();
const rssBefore = process.resourceUsage().maxRSS;
const start = process.hrtime.bigint();
const plan = planAll(snapshot, { now: 0 });
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const peakRssMiB = Math.max(0, process.resourceUsage().maxRSS - rssBefore) / 1024;
process.stdout.write(JSON.stringify({ ms, peakRssMiB, allocations: plan.allocations.length, errors: plan.errors.length }) + '\n');
