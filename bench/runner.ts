// Runs the bench's sections (main.ts holds their table) and writes the HTML report (html.ts)
// of every figure they reported (report.ts keeps them).
// Rules:
// - The command line is read before anything runs: an unknown flag or section is an error
//   that names it (exit 2), and nothing is measured.
// - Sections run in the table's order, one after another. A section that throws is noted
//   (stderr and the report) and the next one runs: what was measured is kept. The exit code
//   is 1 when a section failed or the report could not be written, else 0.
// - The report is written at the end, and also when the process is about to die of an
//   uncaught exception or is interrupted (SIGINT, SIGTERM: written, then the signal is raised
//   again), with the section that was running marked as failed. Its path is printed on stderr.
// - Diagnostics go to stderr; stdout holds only the figures' JSON lines (report.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { arch, cpus, hostname, loadavg, release, totalmem, type } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderReport, type Machine, type SectionOutcome } from './html.js';
import { recordedFigures } from './report.js';

export interface Section {
  /** What `--only` calls it: lower case, no commas. */
  readonly name: string;
  /** The section's measurements; each figure goes through report(). */
  readonly run: () => unknown;
  /** A small form for `--quick` (a smoke test of the bench and its report, not a measurement). */
  readonly quick?: () => unknown;
  /** Why the section cannot run on this machine (e.g. it needs root), else undefined. */
  readonly skip?: () => string | undefined;
}

export interface Options {
  /** The sections to run, in the table's order. */
  readonly sections: readonly Section[];
  /** Absolute path of the HTML report. */
  readonly report: string;
  readonly quick: boolean;
}

/** The repository (this file runs from bench/ or compiled from dist/bench/). */
const REPO = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../' : '../', import.meta.url));
export const DEFAULT_REPORT = resolve(REPO, 'bench-report.html');

export const usage = (sections: readonly Section[]): string =>
  `usage: node --expose-gc dist/bench/main.js [--only <section,...>] [--report <path>] [--quick]\n` +
  `  sections: ${sections.map((s) => s.name).join(', ')}\n` +
  `  --report (or env BENCH_REPORT) default: ${DEFAULT_REPORT}\n`;

const note = (text: string): void => void process.stderr.write(`bench: ${text}\n`);

/** Reads the command line and environment into options, or says what is wrong with them. */
export const parseOptions = (sections: readonly Section[], argv: readonly string[], env: NodeJS.ProcessEnv): { options: Options } | { error: string } | { help: true } => {
  let values: { only?: string[]; report?: string; quick?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv], strict: true, allowPositionals: false,
      options: { only: { type: 'string', multiple: true }, report: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (e) {
    return { error: (e as Error).message };
  }
  if (values.help === true) return { help: true };
  const quick = values.quick === true;
  let selected = sections;
  if (values.only !== undefined) {
    const names = values.only.flatMap((o) => o.split(',')).map((n) => n.trim()).filter((n) => n !== '');
    const unknown = names.filter((n) => !sections.some((s) => s.name === n));
    if (unknown.length > 0) return { error: `unknown section${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}; the sections are ${sections.map((s) => s.name).join(', ')}` };
    if (names.length === 0) return { error: '--only names no section' };
    selected = sections.filter((s) => names.includes(s.name));
    const noQuick = selected.filter((s) => s.quick === undefined);
    if (quick && noQuick.length > 0) return { error: `--quick: no quick form for ${noQuick.map((s) => s.name).join(', ')}; sections with one: ${sections.filter((s) => s.quick !== undefined).map((s) => s.name).join(', ')}` };
  } else if (quick) {
    selected = sections.filter((s) => s.quick !== undefined);
  }
  const report = values.report ?? env['BENCH_REPORT'] ?? DEFAULT_REPORT;
  if (report === '') return { error: 'the report path is empty' };
  return { options: { sections: selected, report: resolve(report), quick } };
};

/** The commit checked out, its branch, and whether tracked files differ from it. */
const gitCommit = (): string => {
  const git = (...args: string[]): string => execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).trim();
  try {
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', 'HEAD')} (${git('rev-parse', '--abbrev-ref', 'HEAD')}${dirty ? ', with uncommitted changes' : ''})`;
  } catch {
    return 'unknown';
  }
};

const machineAtStart = (argv: readonly string[]): Omit<Machine, 'loadEnd' | 'ended'> => ({
  host: hostname(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: totalmem() / 2 ** 30,
  os: `${type()} ${release()} ${arch()}`, node: process.version, loadStart: loadavg(), started: new Date().toISOString(), commit: gitCommit(),
  command: ['node', ...process.execArgv, process.argv[1] ?? '', ...argv].join(' '),
});

/** Writes the report; false (and said on stderr) when it could not. */
const writeReport = (path: string, html: string, figures: number): boolean => {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, html);
    note(`report of ${figures} figures written to ${path} (open it in a browser, e.g. xdg-open ${path})`);
    return true;
  } catch (e) {
    note(`could not write the report to ${path}: ${String(e)}`);
    return false;
  }
};

/** Runs the sections the command line selects and writes the report; resolves with the exit code. */
export const runBench = async (sections: readonly Section[], argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> => {
  const parsed = parseOptions(sections, argv, env);
  if ('help' in parsed) {
    process.stderr.write(usage(sections));
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`bench: ${parsed.error}\n${usage(sections)}`);
    return 2;
  }
  const { options } = parsed;
  const firstFigure = recordedFigures().length;
  const start = machineAtStart(argv);
  const outcomes: SectionOutcome[] = [];
  let running: { name: string; at: number; figures: number } | undefined;
  /** The report as of now; the section still running (if any) ended with `cut`. */
  const finish = (cut?: string): boolean => {
    const figures = recordedFigures().slice(firstFigure);
    const all = running === undefined || cut === undefined ? outcomes
      : [...outcomes, { name: running.name, status: 'failed' as const, ms: performance.now() - running.at, detail: cut, figures: recordedFigures().length - running.figures }];
    return writeReport(options.report, renderReport(figures, { ...start, loadEnd: loadavg(), ended: new Date().toISOString() }, all), figures.length);
  };
  const onCrash = (err: unknown): void => void finish(`the process died of an uncaught exception: ${describe(err)}`);
  const onSignal = (signal: NodeJS.Signals): void => {
    finish(`interrupted by ${signal}`);
    process.kill(process.pid, signal);
  };
  process.on('uncaughtExceptionMonitor', onCrash);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const [k, s] of options.sections.entries()) {
      const skip = s.skip?.();
      if (skip !== undefined) {
        note(`section ${s.name} skipped: ${skip}`);
        outcomes.push({ name: s.name, status: 'skipped', ms: 0, detail: skip, figures: 0 });
        continue;
      }
      note(`section ${s.name} (${k + 1} of ${options.sections.length})${options.quick ? ', quick form' : ''}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
      running = { name: s.name, at: performance.now(), figures: recordedFigures().length };
      try {
        await (options.quick && s.quick !== undefined ? s.quick : s.run)();
        outcomes.push({ name: s.name, status: 'done', ms: performance.now() - running.at, figures: recordedFigures().length - running.figures });
      } catch (e) {
        note(`section ${s.name} failed: ${describe(e)}`);
        outcomes.push({ name: s.name, status: 'failed', ms: performance.now() - running.at, detail: describe(e), figures: recordedFigures().length - running.figures });
      }
      running = undefined;
    }
  } finally {
    process.off('uncaughtExceptionMonitor', onCrash);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const written = finish();
  return outcomes.some((o) => o.status === 'failed') || !written ? 1 : 0;
};

/** An error's stack (its message first), or the thrown value as text. */
const describe = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));
