// `npm run bench`: every benchmark of the project, one JSON line per figure on stdout (see
// report.ts), and at the end an HTML report of them all (html.ts; its path is printed on stderr).
//
//   node --expose-gc dist/bench/main.js [--only <section,...>] [--report <path>] [--quick]
//   (through npm: npm run bench -- --only core,planner)
//
// --only core,planner   run these sections only (in the table's order); an unknown name is an
//                       error that names it, and nothing runs
// --report <path>       where to write the report (also env BENCH_REPORT); default
//                       bench-report.html in the repository root
// --quick               the small form of each section that has one (today: core), as a smoke
//                       test of the bench and its report; not a measurement
// A section that throws is noted in the report and on stderr, the rest still run, and the exit
// code is 1 (runner.ts). Each section is also runnable alone (`node dist/bench/<file>.js`).
//
// SECTIONS is the table: a new section is one more row (name, run; quick and skip optional).
// Each row imports its module when it runs, so `--only core` does not load the API server's
// client and the test harness.
import { runBench, type Section } from './runner.js';

const SECTIONS: readonly Section[] = [
  {
    name: 'core',
    run: async () => {
      const core = await import('./core.js');
      core.benchScale();
      core.benchAgainstNaive();
      core.benchGrowth();
      core.benchMemory();
    },
    quick: async () => {
      const core = await import('./core.js');
      core.benchScale(4_000);
      core.benchAgainstNaive(4_000);
      core.benchGrowth(4_000, 2);
      core.benchMemory();
    },
  },
  { name: 'planner', run: async () => (await import('./planner.js')).benchPlanner() },
  { name: 'pools', run: async () => (await import('./pools.js')).benchPools() },
  // The restart at 10,000 and 50,000 allocated pods, and 5,000 pods x3 at once (the longest section).
  { name: 'controller', run: async () => (await import('./controller.js')).benchController(50_000, 5_000) },
  { name: 'cni', run: async () => (await import('./cni.js')).benchCni() },
  { name: 'ovn', run: async () => (await import('./ovn.js')).benchOvn() },
  { name: 'cluster', run: async () => (await import('./cluster.js')).benchCluster(), skip: () => (process.getuid?.() === 0 ? undefined : 'needs root (a real one-node cluster)') },
];

process.exitCode = await runBench(SECTIONS, process.argv.slice(2));
