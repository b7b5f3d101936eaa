// Benchmarks of the planner and `plan` (issue 4): planAll at 1,000 and 10,000 pods (x3
// networks, 100 subnets), each in its own process; and `kube-ovn-ipam plan` as a whole process
// on the 10,000-pod file beside a process that only parses that file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { plannerObjects } from './plannerWorkload.js';
import { report } from './report.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const node = process.execPath;

const worker = (pods: number): { ms: number; peakRssMiB: number; allocations: number } =>
  JSON.parse(execFileSync(node, ['--expose-gc', join(here, 'planWorker.js'), String(pods)], { encoding: 'utf8', maxBuffer: 1 << 26 })) as { ms: number; peakRssMiB: number; allocations: number };

/** Best of `runs` wall-clock times of a command, in ms. */
const timeProcess = (args: string[], runs: number): number => {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    execFileSync(node, args, { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 28 });
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
};

export const benchPlanner = (): void => {
  const small = worker(1_000);
  const large = worker(10_000);
  report({ name: 'planner.planAll.1000_pods_x3', value: small.ms, unit: 'ms' });
  report({ name: 'planner.planAll.1000_pods_x3.peak_rss_growth', value: small.peakRssMiB, unit: 'MiB' });
  report({ name: 'planner.planAll.10000_pods_x3', value: large.ms, unit: 'ms', baseline: small.ms, baselineName: 'planAll at 1,000 pods', ratio: large.ms / small.ms, target: 'ratio <= 12' });
  report({ name: 'planner.planAll.10000_pods_x3.peak_rss_growth', value: large.peakRssMiB, unit: 'MiB', baseline: small.peakRssMiB, baselineName: 'at 1,000 pods', ratio: large.peakRssMiB / Math.max(small.peakRssMiB, 1e-9) });

  const dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-bench-'));
  try {
    const file = join(dir, 'cluster-10000.yaml');
    writeFileSync(file, plannerObjects(10_000).map((o) => stringify(o)).join('---\n'));
    const parse = timeProcess([join(here, 'parseOnly.js'), file], 3);
    const plan = timeProcess([join(here, '..', 'src', 'cli', 'main.js'), 'plan', '--snapshot', file, '--output', 'json'], 3);
    report({ name: 'cli.plan.10000_pods_file', value: plan, unit: 'ms', baseline: parse, baselineName: 'a process that only reads and parses the file', ratio: plan / parse });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
