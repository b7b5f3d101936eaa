// The bench report as one HTML page (`npm run bench` writes it; runner.ts): the machine, how
// each section ended, every figure beside its baseline (value, baseline, ratio, target and
// whether it is met, the load average when it was reported), latency distributions (ours
// against the baseline, from `samples` and `baselineSamples`) and scaling curves (figures that
// share `scale.series`, on log-log axes).
// Rules: pure (figures and machine facts in, a string out; no I/O, no clock); every text from
// a figure or the machine is escaped; numbers are printed as the figure holds them (the
// stdout line's value), so the page and the JSON lines can be compared; inline CSS and SVG
// only (svg.ts): no scripts, no external assets, no network.
import { percentile, type Recorded } from './report.js';
import { escapeXml as esc, extent, formatTick, plot, type Curve } from './svg.js';

/** Facts about the run and the machine, gathered by the runner. */
export interface Machine {
  readonly host: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  /** 1, 5 and 15-minute load averages. */
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  /** ISO dates. */
  readonly started: string;
  readonly ended: string;
  /** e.g. `30e8804… (issue15-report, uncommitted changes)`, or `unknown`. */
  readonly commit: string;
  /** The command line, for repeating the run. */
  readonly command: string;
}

/** How one section of the bench ended, and how many of the figures (in order) it reported. */
export interface SectionOutcome {
  readonly name: string;
  readonly status: 'done' | 'failed' | 'skipped';
  readonly ms: number;
  /** Why it failed or was skipped. */
  readonly detail?: string;
  readonly figures: number;
}

export type TargetStatus = 'met' | 'not met' | 'unknown';

/** Whether the figure meets its target. A target reads `[ratio|value] <op> <number>`, with
 *  anything after the number ignored; without a subject it is the ratio when the figure has
 *  one, else the value. Anything else is `unknown` (the text is still shown). */
export const targetStatus = (f: Recorded): TargetStatus => {
  const m = /^\s*(ratio|value)?\s*(<=|>=|<|>|≤|≥)\s*(-?\d+(?:\.\d+)?)/.exec(f.target ?? '');
  if (m === null) return 'unknown';
  const subject = m[1] ?? (f.ratio !== undefined ? 'ratio' : 'value');
  const actual = subject === 'ratio' ? f.ratio : f.value;
  if (actual === undefined || !Number.isFinite(actual)) return 'unknown';
  const bound = Number(m[3]);
  const ok = { '<': actual < bound, '<=': actual <= bound, '≤': actual <= bound, '>': actual > bound, '>=': actual >= bound, '≥': actual >= bound }[m[2] as '<'];
  return ok ? 'met' : 'not met';
};

const STYLE = `
body { font-family: sans-serif; margin: 2em; color: #212529; max-width: 1200px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #dee2e6; } h3 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0; } th, td { border: 1px solid #dee2e6; padding: .25em .5em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.section th { background: #f1f3f5; }
.met { color: #2b8a3e; } .not-met { color: #c92a2a; font-weight: bold; } .unknown { color: #868e96; }
.failed { background: #fff5f5; border: 1px solid #ffa8a8; padding: .5em 1em; } .failed pre { white-space: pre-wrap; }
.caption { color: #495057; font-size: .9em; max-width: 640px; } .plot { display: block; }
`;

/** The whole page. `sections` partition `figures` in order (their `figures` counts); figures
 *  past them are listed under "other". */
export const renderReport = (figures: readonly Recorded[], machine: Machine, sections: readonly SectionOutcome[] = []): string => {
  const failed = sections.filter((s) => s.status === 'failed');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>kube-ovn-ipam bench ${esc(machine.started)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>kube-ovn-ipam bench report</h1>`,
    summary(figures, failed),
    ...failed.map((s) => `<div class="failed"><strong>Section ${esc(s.name)} failed</strong> after ${esc(seconds(s.ms))}, having reported ${s.figures} figures:<pre>${esc(s.detail ?? '')}</pre></div>`),
    machineTable(machine),
    sectionTable(sections),
    figureTable(figures, sections),
    distributions(figures),
    scalingCurves(figures),
    '</body></html>',
    '',
  ].join('\n');
};

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const summary = (figures: readonly Recorded[], failed: readonly SectionOutcome[]): string => {
  const counts = { met: 0, 'not met': 0, unknown: 0 };
  for (const f of figures) if (f.target !== undefined) counts[targetStatus(f)]++;
  const parts = [`${figures.length} figures`, `targets: ${counts.met} met, ${counts['not met']} not met${counts.unknown > 0 ? `, ${counts.unknown} unreadable` : ''}`];
  if (failed.length > 0) parts.push(`<span class="not-met">${failed.length} section(s) failed: ${failed.map((s) => esc(s.name)).join(', ')}</span>`);
  return `<p class="summary">${parts.join('; ')}.</p>`;
};

const machineTable = (m: Machine): string => {
  const load = (l: readonly number[]): string => `${l.map((v) => v.toFixed(2)).join(' ')} (1, 5, 15 min)`;
  const rows: [string, string][] = [
    ['date', `${m.started} to ${m.ended}`], ['commit', m.commit], ['command', m.command], ['host', m.host], ['CPU', `${m.cores} cores: ${m.cpu}`],
    ['memory', `${m.memoryGiB.toFixed(1)} GiB`], ['OS', m.os], ['node', m.node], ['load average at start', load(m.loadStart)], ['load average at end', load(m.loadEnd)],
  ];
  return `<h2>Machine</h2>\n<table class="machine">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
};

const sectionTable = (sections: readonly SectionOutcome[]): string => {
  if (sections.length === 0) return '';
  const rows = sections.map((s) => `<tr><td>${esc(s.name)}</td><td class="${s.status === 'failed' ? 'not-met' : ''}">${s.status}</td><td class="num">${esc(seconds(s.ms))}</td><td class="num">${s.figures}</td><td>${esc(s.detail?.split('\n')[0] ?? '')}</td></tr>`);
  return `<h2>Sections</h2>\n<table class="sections"><tr><th>section</th><th>status</th><th>time</th><th>figures</th><th>note</th></tr>${rows.join('')}</table>`;
};

/** Figures with their index in `figures` (the anchors of rows and plots). */
type Indexed = readonly (readonly [Recorded, number])[];

/** `figures` cut into the sections' runs, in order; what is left over is "other". */
const groups = (figures: readonly Recorded[], sections: readonly SectionOutcome[]): { title: string; rows: Indexed }[] => {
  const indexed = figures.map((f, i) => [f, i] as const);
  let at = 0;
  const out = sections.filter((s) => s.figures > 0).map((s) => ({ title: s.name, rows: indexed.slice(at, (at += s.figures)) }));
  if (at < figures.length) out.push({ title: sections.length === 0 ? '' : 'other', rows: indexed.slice(at) });
  return out;
};

const figureTable = (figures: readonly Recorded[], sections: readonly SectionOutcome[]): string => {
  const head = '<tr><th>figure</th><th>value</th><th>baseline</th><th>ratio</th><th>target</th><th>load (1 min)</th></tr>';
  const body = groups(figures, sections).flatMap((g) => [
    ...(g.title === '' ? [] : [`<tr class="section"><th colspan="6">${esc(g.title)}</th></tr>`]),
    ...g.rows.map(([f, i]) => figureRow(f, i)),
  ]);
  return `<h2>Figures</h2>\n<p class="caption">Each figure beside its baseline, measured in the same run. The ratio is the figure's own (see its baseline's description for which way round).</p>\n<table class="figures">${head}\n${body.join('\n')}</table>`;
};

const figureRow = (f: Recorded, i: number): string => {
  const status = f.target === undefined ? undefined : targetStatus(f);
  const links = [
    ...(hasSamples(f) ? [`<a href="#dist-${i}">distribution</a>`] : []),
    ...(f.scale !== undefined ? [`<a href="#series-${esc(slug(seriesKey(f)))}">curve ${esc(f.scale.series)} at ${f.scale.x}</a>`] : []),
  ];
  const cells = [
    `<td>${esc(f.name)}${links.length > 0 ? ` <small>(${links.join(', ')})</small>` : ''}</td>`,
    `<td class="num">${f.value} ${esc(f.unit)}</td>`,
    f.baseline === undefined ? '<td></td>' : `<td><span class="num">${f.baseline} ${esc(f.unit)}</span>: ${esc(f.baselineName ?? '')}</td>`,
    `<td class="num">${f.ratio ?? ''}</td>`,
    status === undefined ? '<td></td>' : `<td class="${status.replace(' ', '-')}">${esc(f.target ?? '')}: ${status}</td>`,
    `<td class="num">${f.load1}</td>`,
  ];
  return `<tr id="fig-${i}">${cells.join('')}</tr>`;
};

const hasSamples = (f: Recorded): boolean => (f.samples?.length ?? 0) > 0 || (f.baselineSamples?.length ?? 0) > 0;

const slug = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** One curve per series and unit. */
const seriesKey = (f: Recorded): string => `${f.scale?.series ?? ''} (${f.unit})`;

/** At most this many steps are drawn per CDF: quantiles, when there are more samples. */
const CDF_POINTS = 1000;

/** The empirical CDF of the finite values: (value, fraction of samples ≤ it). */
export const ecdf = (values: readonly number[]): [number, number][] => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  const ranks = n <= CDF_POINTS ? sorted.map((_, i) => i) : Array.from({ length: CDF_POINTS + 1 }, (_, k) => Math.round((k * (n - 1)) / CDF_POINTS));
  return ranks.map((r) => [sorted[r]!, (r + 1) / n]);
};

const distributions = (figures: readonly Recorded[]): string => {
  const plots = figures.flatMap((f, i) => (hasSamples(f) ? [distribution(f, i)] : []));
  if (plots.length === 0) return '';
  return `<h2>Latency distributions</h2>\n<p class="caption">Empirical CDFs: for each value on the x axis, the share of samples at or below it. Solid: ours; dashed: the baseline.</p>\n${plots.join('\n')}`;
};

const STATS = [['min', 0], ['p50', 50], ['p90', 90], ['p99', 99], ['max', 100]] as const;

const distribution = (f: Recorded, i: number): string => {
  const sets = [['ours', f.samples ?? []], ['baseline', f.baselineSamples ?? []]] as const;
  const finite = sets.map(([label, v]) => [label, v.filter(Number.isFinite)] as const).filter(([, v]) => v.length > 0);
  const all = finite.flatMap(([, v]) => v);
  const [min, max] = extent(all);
  const log = min > 0 && max / min >= 20;
  const curves: Curve[] = finite.map(([label, v]) => ({ label, style: label, points: ecdf(v), step: true }));
  const svg = plot({
    title: `${f.name}: distribution`, curves,
    x: { title: `${f.unit}`, log },
    y: { title: 'share of samples ≤ x', log: false, fixed: { min: 0, max: 1, ticks: [0, 0.25, 0.5, 0.75, 0.9, 1] }, format: (v) => `${Math.round(v * 100)}%` },
  });
  const dropped = sets.map(([label, v]) => [label, v.length - v.filter(Number.isFinite).length] as const).filter(([, d]) => d > 0);
  const stat = (v: readonly number[], p: number): number => Math.round(percentile(v, p) * 1000) / 1000;
  const rows = finite.map(([label, v]) => `<tr><th>${label}</th><td class="num">${v.length}</td>${STATS.map(([, p]) => `<td class="num">${stat(v, p)}</td>`).join('')}</tr>`);
  const [ours, base] = [f.samples?.filter(Number.isFinite) ?? [], f.baselineSamples?.filter(Number.isFinite) ?? []];
  if (ours.length > 0 && base.length > 0) {
    rows.push(`<tr><th>ours / baseline</th><td></td>${STATS.map(([, p]) => `<td class="num">${Math.round((percentile(ours, p) / percentile(base, p)) * 1000) / 1000}</td>`).join('')}</tr>`);
  }
  return [
    `<h3 id="dist-${i}"><a href="#fig-${i}">${esc(f.name)}</a></h3>`, svg,
    `<p class="caption">ours: ${esc(f.name)} (${ours.length} samples, ${esc(f.unit)})${f.baselineSamples !== undefined ? `; baseline: ${esc(f.baselineName ?? 'baseline')} (${base.length} samples)` : ''}` +
      `${dropped.length > 0 ? `; left out as not finite: ${dropped.map(([l, d]) => `${d} of ${l}`).join(', ')}` : ''}.</p>`,
    `<table class="stats"><tr><th></th><th>n</th>${STATS.map(([name]) => `<th>${name}</th>`).join('')}</tr>${rows.join('')}</table>`,
  ].join('\n');
};

const scalingCurves = (figures: readonly Recorded[]): string => {
  const series = new Map<string, Recorded[]>();
  for (const f of figures) {
    if (f.scale === undefined) continue;
    const key = seriesKey(f);
    series.set(key, [...(series.get(key) ?? []), f]);
  }
  if (series.size === 0) return '';
  const plots = [...series].map(([key, fs]) => scalingCurve(key, [...fs].sort((a, b) => a.scale!.x - b.scale!.x)));
  return `<h2>Scaling curves</h2>\n<p class="caption">Figures of one series against their size, both axes logarithmic. Dotted grey: linear growth from the smallest size (a curve steeper than it grows faster than the size).</p>\n${plots.join('\n')}`;
};

const scalingCurve = (key: string, fs: readonly Recorded[]): string => {
  const first = fs[0]!;
  const point = (f: Recorded, y: number): [number, number] => [f.scale!.x, y];
  const withBaseline = fs.filter((f) => f.baseline !== undefined);
  const curves: Curve[] = [
    { label: 'ours', style: 'ours', points: fs.map((f) => point(f, f.value)), markers: true },
    ...(withBaseline.length > 0 ? [{ label: 'baseline', style: 'baseline' as const, points: withBaseline.map((f) => point(f, f.baseline!)), markers: true }] : []),
    ...(fs.length > 1 ? [{ label: '∝ size', style: 'reference' as const, guide: true, points: fs.map((f) => point(f, (first.value * f.scale!.x) / first.scale!.x)) }] : []),
  ];
  const svg = plot({ title: `${key}: scaling`, curves, x: { title: 'size', log: true }, y: { title: first.unit, log: true } });
  const undrawn = fs.filter((f) => !(f.value > 0 && f.scale!.x > 0)).length;
  const rows = fs.map((f) => `<tr><td class="num">${formatTick(f.scale!.x)}</td><td>${esc(f.name)}</td><td class="num">${f.value} ${esc(f.unit)}</td><td class="num">${f.baseline ?? ''}</td><td class="num">${f.ratio ?? ''}</td></tr>`);
  return [
    `<h3 id="series-${esc(slug(key))}">${esc(key)}</h3>`, svg,
    `<p class="caption">${withBaseline.length > 0 ? `baseline: ${esc(withBaseline[0]!.baselineName ?? 'baseline')}. ` : ''}${undrawn > 0 ? `${undrawn} point(s) not drawn: a log axis cannot show values ≤ 0.` : ''}</p>`,
    `<table class="series"><tr><th>size</th><th>figure</th><th>value</th><th>baseline</th><th>ratio</th></tr>${rows.join('')}</table>`,
  ].join('\n');
};
