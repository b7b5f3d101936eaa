// Pools of any size (issue #15 item 3): a pod's cost with an ip_pool must not grow with the
// pool beyond reading it once, and memory must not grow with the replicas. Every measurement
// runs in a fresh process (poolsWorker.ts; peak RSS is its own), in RUNS blocks whose order of
// pool sizes alternates; each figure is the median over the blocks.
// - plan (planAll over a StatefulSet of simulated pods), both forms: the ip_pool list in the
//   template, and an IPPool it names. A pod's cost: each simulated pod's own steps of planAll
//   (resolvePod and planPodIn, timed one by one after the pool was read once; poolsWorker.ts).
//   The target (within 2x of a 1,000-entry pool) is on that per-pod cost: the issue leaves out
//   reading the pool once. The first, whole plan at 200 replicas is reported too, with its ratio
//   and no target (reading the pool included), and its peak RSS growth at 200 vs 50 replicas.
// - controller (the incremental planner: prepare, then holdPod + planPodWith per pod), per-pod
//   samples. A list is measured up to 10,000 addresses: a pod's annotations may not pass
//   256 KiB (the API server's limit; ~17,000 IPv4 addresses), so a live pod never has more.
// Env: POOLS_RUNS (blocks, default 3), POOLS_BIG (the big pool, default 100000).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { percentile, report } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const RUNS = Number(process.env['POOLS_RUNS'] ?? '3');
const BIG = Number(process.env['POOLS_BIG'] ?? '100000');
const REPLICAS = 200;
const FEW = 50;
const SMALL = 1_000;
const LIST_LIVE_MAX = 10_000;

interface Measured {
  readonly ms: number;
  readonly peakRssMiB: number;
  readonly prepareMs: number;
  readonly podMs: readonly number[];
  readonly allocations: number;
  readonly errors: number;
}

type Form = 'list' | 'ippool';
type Path = 'plan' | 'controller';

const worker = (form: Form, path: Path, pool: number, replicas: number): Measured => {
  const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', join(here, 'poolsWorker.js'), form, path, String(pool), String(replicas)], { encoding: 'utf8', maxBuffer: 1 << 26 })) as Measured;
  if (out.allocations !== replicas || out.errors !== 0) throw new Error(`${form} ${path} pool ${pool} x${replicas}: ${out.allocations} allocations, ${out.errors} errors`);
  process.stderr.write(`pools: ${form} ${path} pool ${pool} x${replicas}: ${out.ms.toFixed(0)} ms, peak RSS +${out.peakRssMiB.toFixed(1)} MiB\n`);
  return out;
};

const median = (values: readonly number[]): number => percentile(values, 50);

/** Every (form, path, pool, replicas) measurement RUNS times, sizes in alternating order. */
const measureAll = (cases: readonly (readonly [Form, Path, number, number])[]): Map<string, Measured[]> => {
  const out = new Map<string, Measured[]>();
  for (let run = 0; run < RUNS; run++) {
    for (const c of run % 2 === 0 ? cases : [...cases].reverse()) {
      const key = c.join(' ');
      out.set(key, [...(out.get(key) ?? []), worker(...c)]);
    }
  }
  return out;
};

const sizes = [...new Set([SMALL, 10_000, BIG])].sort((a, b) => a - b);

/** One figure per pool size: the median of every pod's time, beside the smallest pool's. */
const perPod = (form: Form, path: Path, pools: readonly number[], samples: (pool: number) => number[]): void => {
  for (const pool of pools) {
    const p50 = median(samples(pool));
    const vs = pool === SMALL ? {} : { baseline: median(samples(SMALL)), baselineName: `per pod with a ${SMALL}-entry pool`, ratio: p50 / median(samples(SMALL)), target: 'ratio <= 2', baselineSamples: samples(SMALL) };
    report({ name: `pools.${path}.${form}.pod_ms_p50.${pool}_entries`, value: p50, unit: 'ms', samples: samples(pool), ...vs, scale: { series: `pools.${path}.${form}.pod_ms_p50`, x: pool } });
  }
};

export const benchPools = (): void => {
  const cases: (readonly [Form, Path, number, number])[] = [];
  for (const form of ['list', 'ippool'] as const) {
    for (const pool of sizes) cases.push([form, 'plan', pool, REPLICAS]);
    cases.push([form, 'plan', BIG, FEW]);
    for (const pool of sizes) if (form === 'ippool' || pool <= LIST_LIVE_MAX) cases.push([form, 'controller', pool, REPLICAS]);
  }
  const all = measureAll(cases);
  const runs = (form: Form, path: Path, pool: number, replicas: number): Measured[] => all.get([form, path, pool, replicas].join(' '))!;
  const total = (form: Form, pool: number, replicas: number): number => median(runs(form, 'plan', pool, replicas).map((m) => m.ms));
  for (const form of ['list', 'ippool'] as const) {
    perPod(form, 'plan', sizes, (pool) => runs(form, 'plan', pool, REPLICAS).flatMap((m) => m.podMs));
    for (const pool of sizes) {
      // No target: this time holds the one read of the pool (parse, hold, an IPPool's status over
      // all its ranges), which the target leaves out; the per-pod figures carry it.
      const vs = pool === SMALL ? {} : { baseline: total(form, SMALL, REPLICAS), baselineName: `planAll, ${SMALL}-entry pool, ${REPLICAS} replicas (both with the one read of their pool)`, ratio: total(form, pool, REPLICAS) / total(form, SMALL, REPLICAS) };
      report({ name: `pools.plan.${form}.${REPLICAS}_replicas_ms.${pool}_entries`, value: total(form, pool, REPLICAS), unit: 'ms', ...vs, scale: { series: `pools.plan.${form}.${REPLICAS}_replicas_ms`, x: pool } });
    }
    const rss = (replicas: number): number => median(runs(form, 'plan', BIG, replicas).map((m) => m.peakRssMiB));
    report({ name: `pools.plan.${form}.${BIG}_entries.peak_rss_growth.${REPLICAS}_replicas`, value: rss(REPLICAS), unit: 'MiB', baseline: rss(FEW), baselineName: `${FEW} replicas`, ratio: rss(REPLICAS) / Math.max(rss(FEW), 1e-9), target: 'ratio <= 1.25' });
    const live = sizes.filter((pool) => form === 'ippool' || pool <= LIST_LIVE_MAX);
    perPod(form, 'controller', live, (pool) => runs(form, 'controller', pool, REPLICAS).flatMap((m) => m.podMs));
    const biggest = live[live.length - 1]!;
    const prepare = (pool: number): number => median(runs(form, 'controller', pool, REPLICAS).map((m) => m.prepareMs));
    report({ name: `pools.controller.${form}.prepare_ms.${biggest}_entries`, value: prepare(biggest), unit: 'ms', baseline: prepare(SMALL), baselineName: `with a ${SMALL}-entry pool (the start-up rebuild reads the pool once)`, ratio: prepare(biggest) / prepare(SMALL) });
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) benchPools();
