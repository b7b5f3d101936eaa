// Bench output: one JSON line per figure, with its unit, and beside it (when it has one) the
// baseline measured in the same run and the ratio, so noisy shared machines still compare.
// Every figure reported is also kept (with its samples, which the line leaves out) for the
// HTML report written at the end of `npm run bench` (runner.ts writes it, html.ts renders it).
import { loadavg } from 'node:os';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: number;
  readonly baselineName?: string;
  readonly ratio?: number;
  readonly target?: string;
  /** Every sample the value summarises (e.g. each pod's latency in ms), for a distribution plot. */
  readonly samples?: readonly number[];
  /** The baseline's samples, plotted beside `samples`. */
  readonly baselineSamples?: readonly number[];
  /** A point of a scaling curve: figures with the same `series` are one curve, `x` its size
   *  (e.g. pods), plotted on log axes. */
  readonly scale?: { readonly series: string; readonly x: number };
}

/** A reported figure as kept for the HTML report: rounded, with the 1-minute load average when
 *  it was reported (the machine may be shared). */
export type Recorded = Figure & { readonly load1: number };

const recorded: Recorded[] = [];

/** Every figure reported so far in this process, in order. */
export const recordedFigures = (): readonly Recorded[] => recorded;

export const report = (figure: Figure): void => {
  const rounded = { ...figure, value: round(figure.value), ...(figure.baseline !== undefined ? { baseline: round(figure.baseline) } : {}), ...(figure.ratio !== undefined ? { ratio: round(figure.ratio) } : {}) };
  recorded.push({ ...rounded, load1: round(loadavg()[0] ?? 0) });
  const { samples: _s, baselineSamples: _b, ...line } = rounded;
  process.stdout.write(JSON.stringify(line) + '\n');
};

/** The p-th percentile (nearest rank) of unsorted values; NaN for none. */
export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};

const round = (n: number): number => Math.round(n * 1000) / 1000;

export const gc = (): void => {
  (globalThis as { gc?: () => void }).gc?.();
};

/** Heap in use, after a collection when --expose-gc is given. */
export const heapMiB = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

/** Runs `work`, sampling the heap through `sample()` calls it makes; returns time and peak growth. */
export const measure = <A>(work: (sample: () => void) => A): { result: A; ms: number; peakMiB: number } => {
  const base = heapMiB();
  let peak = base;
  const sample = () => {
    const used = process.memoryUsage().heapUsed / 2 ** 20;
    if (used > peak) peak = used;
  };
  const start = process.hrtime.bigint();
  const result = work(sample);
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  sample();
  return { result, ms, peakMiB: peak - base };
};
