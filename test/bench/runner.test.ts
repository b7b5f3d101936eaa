// The bench's runner (bench/runner.ts) in this process, on sections of its own: the command
// line (--only, --report, BENCH_REPORT, --quick, and errors that name what is wrong), and a
// section that throws: the rest still run, the report holds every figure and the failure, and
// the exit code is 1. (test/bench/main.test.ts runs the built bench itself.)
import { afterAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { report } from '../../bench/report.js';
import { DEFAULT_REPORT, parseOptions, runBench, type Section } from '../../bench/runner.js';
import { makeTempDir } from '../harness/tmp.js';

const ran: string[] = [];
const section = (name: string, quick = false): Section => ({ name, run: () => void ran.push(name), ...(quick ? { quick: () => void ran.push(`${name} quick`) } : {}) });
const table = [section('core', true), section('planner'), section('pools', true)];
const names = (argv: string[], env: NodeJS.ProcessEnv = {}): string[] | string => {
  const p = parseOptions(table, argv, env);
  return 'options' in p ? p.options.sections.map((s) => s.name) : 'error' in p ? p.error : 'help';
};

describe('parseOptions', () => {
  it.each([
    [[], ['core', 'planner', 'pools']],
    [['--only', 'pools,core'], ['core', 'pools']],
    [['--only', 'planner', '--only', ' pools '], ['planner', 'pools']],
    [['--only=core'], ['core']],
    [['--quick'], ['core', 'pools']],
    [['--quick', '--only', 'pools'], ['pools']],
    [['-h'], 'help'],
    [['--only', 'core,nosuch,other'], 'unknown sections "nosuch", "other"; the sections are core, planner, pools'],
    [['--only', 'Core'], 'unknown section "Core"; the sections are core, planner, pools'],
    [['--only', ','], '--only names no section'],
    [['--quick', '--only', 'core,planner'], '--quick: no quick form for planner; sections with one: core, pools'],
    [['--report', ''], 'the report path is empty'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['core'], "Unexpected argument 'core'. This command does not take positional arguments"],
  ])('%j selects %j', (argv, expected) => {
    expect(names(argv)).toEqual(expected);
  });

  it.each([
    [[], {}, DEFAULT_REPORT],
    [[], { BENCH_REPORT: 'out/r.html' }, resolve('out/r.html')],
    [['--report', '/tmp/x.html'], { BENCH_REPORT: 'out/r.html' }, '/tmp/x.html'],
  ])('%j with %j writes the report to %s', (argv, env, path) => {
    const p = parseOptions(table, argv, env);
    expect('options' in p && p.options.report).toBe(path);
  });

  it('puts the default report in the repository root', () => {
    expect(DEFAULT_REPORT).toBe(resolve(import.meta.dirname, '../../bench-report.html'));
  });
});

describe('runBench', () => {
  const dir = makeTempDir('bench-runner');
  afterAll(() => dir.remove());

  it('runs the selected sections in the table order', async () => {
    ran.length = 0;
    expect(await runBench(table, ['--quick', '--report', join(dir.path, 'quick.html')], {})).toBe(0);
    expect(ran).toEqual(['core quick', 'pools quick']);
  });

  it('refuses an unknown section before running anything, and writes no report', async () => {
    ran.length = 0;
    const path = join(dir.path, 'never.html');
    expect(await runBench(table, ['--only', 'core,nosuch', '--report', path], {})).toBe(2);
    expect(ran).toEqual([]);
    expect(existsSync(path)).toBe(false);
  });

  it('notes a failed section in the report, runs the rest, and exits 1', async () => {
    const path = join(dir.path, 'sub', 'failed.html');
    const sections: Section[] = [
      { name: 'first', run: () => report({ name: 'runner.first', value: 1.5, unit: 'ms' }) },
      {
        name: 'boom', run: async () => {
          report({ name: 'runner.before_boom', value: 2.25, unit: 'ms', baseline: 1, baselineName: 'one', ratio: 2.25 });
          await Promise.resolve();
          throw new Error('boom <at> the third step');
        },
      },
      { name: 'skipped', run: () => report({ name: 'runner.never', value: 9, unit: 'ms' }), skip: () => 'needs a GPU' },
      { name: 'last', run: () => report({ name: 'runner.last', value: 3, unit: 'MiB' }) },
    ];
    expect(await runBench(sections, ['--report', path], { BENCH_REPORT: join(dir.path, 'not-this.html') })).toBe(1);
    const html = readFileSync(path, 'utf8');
    expect(existsSync(join(dir.path, 'not-this.html'))).toBe(false);
    // Only this run's figures, each in its section.
    expect([...html.matchAll(/<tr id="fig-\d+"><td>([^<]*)<\/td><td class="num">([^<]*)<\/td>/g)].map((m) => [m[1], m[2]])).toEqual([
      ['runner.first', '1.5 ms'], ['runner.before_boom', '2.25 ms'], ['runner.last', '3 MiB'],
    ]);
    expect([...html.matchAll(/<tr class="section"><th colspan="6">([^<]*)<\/th><\/tr>/g)].map((m) => m[1])).toEqual(['first', 'boom', 'last']);
    expect(html).toMatch(/<div class="failed"><strong>Section boom failed<\/strong> after [\d.]+ s, having reported 1 figures:<pre>Error: boom &lt;at&gt; the third step\n/);
    expect(html).toMatch(/<tr><td>skipped<\/td><td class="">skipped<\/td><td class="num">0.0 s<\/td><td class="num">0<\/td><td>needs a GPU<\/td><\/tr>/);
    expect(html).toContain('1 section(s) failed: boom');
  });
});
