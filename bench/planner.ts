// Benchmarks of the planner and `plan` (issues 4 and 15): planAll at 1,000, 10,000 and 100,000
// pods (x3 networks, 100 subnets), each in its own process; and `kube-ovn-ipam plan` as a whole
// process on generated YAML files of those sizes, beside a process that only reads and parses
// the same file, with the plan process's peak RSS.
// Rules:
// - Sizes come from BENCH_PLAN_PODS (default `1000,10000,100000`, ascending): every scaling
//   ratio is the largest size against the one before it (target <= 12 for 10x the pods).
// - Alternating blocks: the size before the largest is measured again after the largest (its
//   best run is the baseline, so the machine's noise cannot flatter the ratio), and each file's
//   parse-only process runs just before its plan process, round by round.
// - The files are generated once per run into a temporary folder, removed at the end.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { plannerObjects } from './plannerWorkload.js';
import { report } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const node = process.execPath;
const SIZES = (process.env['BENCH_PLAN_PODS'] ?? '1000,10000,100000').split(',').map(Number);
/** Rounds per file (the largest gets one: it is the expensive one). */
const ROUNDS = 3;
/** 1.5 GB, the ceiling on the plan process at 100,000 pods. */
const RSS_LIMIT_MIB = 1.5e9 / 2 ** 20;

interface WorkerResult { readonly ms: number; readonly peakRssMiB: number; readonly allocations: number }

const worker = (pods: number): WorkerResult =>
  JSON.parse(execFileSync(node, ['--expose-gc', join(here, 'planWorker.js'), String(pods)], { encoding: 'utf8', maxBuffer: 1 << 26 })) as WorkerResult;

/** Runs `node script args…` with stdout discarded; its wall-clock ms and its own peak RSS in MiB. */
const runProcess = (dir: string, script: string, args: readonly string[]): { ms: number; rssMiB: number } => {
  const probe = join(dir, 'rss');
  const start = process.hrtime.bigint();
  const child = spawnSync(node, ['--import', pathToFileURL(join(here, 'rssProbe.js')).href, script, ...args], {
    stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, RSS_PROBE_FILE: probe },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (child.status !== 0) throw new Error(`${script} ${args.join(' ')}: exit ${child.status ?? child.signal}`);
  return { ms, rssMiB: Number(readFileSync(probe, 'utf8')) / 1024 };
};

const label = (pods: number): string => `${pods}_pods`;

/** planAll per size, each in a fresh process; the next-to-largest again after the largest. */
const benchPlanAll = (): void => {
  const runs = new Map<number, WorkerResult[]>();
  const order = SIZES.length > 1 ? [...SIZES, SIZES[SIZES.length - 2]!] : SIZES;
  for (const pods of order) {
    const r = worker(pods);
    process.stderr.write(`planAll ${pods} pods: ${r.ms.toFixed(0)} ms\n`);
    runs.set(pods, [...(runs.get(pods) ?? []), r]);
  }
  const best = (pods: number): WorkerResult => (runs.get(pods) ?? []).reduce((a, b) => (b.ms < a.ms ? b : a));
  SIZES.forEach((pods, i) => {
    const r = best(pods);
    const before = i > 0 ? best(SIZES[i - 1]!) : undefined;
    const scale = { series: 'planner.planAll', x: pods };
    report({
      name: `planner.planAll.${label(pods)}_x3`, value: r.ms, unit: 'ms', scale,
      ...(before === undefined ? {} : { baseline: before.ms, baselineName: `planAll at ${SIZES[i - 1]} pods`, ratio: r.ms / before.ms, target: 'ratio <= 12' }),
    });
    report({
      name: `planner.planAll.${label(pods)}_x3.peak_rss_growth`, value: r.peakRssMiB, unit: 'MiB',
      ...(before === undefined ? {} : { baseline: before.peakRssMiB, baselineName: `at ${SIZES[i - 1]} pods`, ratio: r.peakRssMiB / Math.max(before.peakRssMiB, 1e-9) }),
    });
  });
};

/** `plan` and parse-only processes per generated file, alternating round by round. */
const benchPlanProcess = (): void => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-bench-'));
  try {
    const measured = SIZES.map((pods, i) => {
      const file = join(dir, `cluster-${pods}.yaml`);
      writeFileSync(file, plannerObjects(pods).map((o) => stringify(o)).join('---\n'));
      const rounds = i === SIZES.length - 1 && SIZES.length > 1 ? 1 : ROUNDS;
      let parse = { ms: Infinity, rssMiB: 0 };
      let plan = { ms: Infinity, rssMiB: 0 };
      for (let round = 0; round < rounds; round++) {
        const p = runProcess(dir, join(here, 'parseOnly.js'), [file]);
        const q = runProcess(dir, join(here, '..', 'src', 'cli', 'main.js'), ['plan', '--snapshot', file, '--output', 'json']);
        parse = { ms: Math.min(parse.ms, p.ms), rssMiB: Math.max(parse.rssMiB, p.rssMiB) };
        plan = { ms: Math.min(plan.ms, q.ms), rssMiB: Math.max(plan.rssMiB, q.rssMiB) };
      }
      rmSync(file);
      process.stderr.write(`plan ${pods} pods: ${plan.ms.toFixed(0)} ms, ${plan.rssMiB.toFixed(0)} MiB; parse only ${parse.ms.toFixed(0)} ms, ${parse.rssMiB.toFixed(0)} MiB\n`);
      report({ name: `cli.plan.${label(pods)}_file`, value: plan.ms, unit: 'ms', baseline: parse.ms, baselineName: 'a process that only reads and parses the file', ratio: plan.ms / parse.ms, scale: { series: 'cli.plan', x: pods } });
      report({ name: `cli.plan.${label(pods)}_file.peak_rss`, value: plan.rssMiB, unit: 'MiB', baseline: parse.rssMiB, baselineName: 'peak RSS of the parse-only process', ratio: plan.rssMiB / parse.rssMiB, ...(i === SIZES.length - 1 ? { target: `value < ${RSS_LIMIT_MIB.toFixed(0)} MiB (1.5 GB)` } : {}) });
      return { pods, parse, plan };
    });
    const [small, large] = measured.slice(-2);
    if (small !== undefined && large !== undefined && small !== large) {
      report({ name: `cli.plan.${label(large.pods)}_vs_${label(small.pods)}`, value: large.plan.ms, unit: 'ms', baseline: small.plan.ms, baselineName: `plan on the ${small.pods}-pod file`, ratio: large.plan.ms / small.plan.ms, target: 'ratio <= 12' });
      report({ name: `cli.parse_only.${label(large.pods)}_vs_${label(small.pods)}`, value: large.parse.ms, unit: 'ms', baseline: small.parse.ms, baselineName: `parse only of the ${small.pods}-pod file`, ratio: large.parse.ms / small.parse.ms });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const benchPlanner = (): void => {
  benchPlanAll();
  benchPlanProcess();
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) benchPlanner();
