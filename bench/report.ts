// Bench output: one JSON line per figure, with its unit, and beside it (when it has one) the
// baseline measured in the same run and the ratio, so noisy shared machines still compare.
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline?: number;
  readonly baselineName?: string;
  readonly ratio?: number;
  readonly target?: string;
}

export const report = (figure: Figure): void => {
  const rounded = { ...figure, value: round(figure.value), ...(figure.baseline !== undefined ? { baseline: round(figure.baseline) } : {}), ...(figure.ratio !== undefined ? { ratio: round(figure.ratio) } : {}) };
  process.stdout.write(JSON.stringify(rounded) + '\n');
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
