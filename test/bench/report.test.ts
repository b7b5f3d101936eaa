// The bench report's renderer (bench/html.ts, bench/svg.ts) on synthetic figures of every kind:
// plain, with a baseline, with a target met and not met, with samples, and points of a scaling
// curve. Exact values: every figure's name, value and ratio in its row, the plots' SVG elements,
// the percentile tables, and escaped text.
import { describe, expect, it } from '@jest/globals';
import { ecdf, renderReport, targetStatus, type Machine, type SectionOutcome } from '../../bench/html.js';
import type { Recorded } from '../../bench/report.js';
import { escapeXml, formatTick } from '../../bench/svg.js';

const machine: Machine = {
  host: 'bench-host', cpu: 'Test CPU @ 2.0GHz', cores: 2, memoryGiB: 7.5, os: 'Linux 6.1.0 x64', node: 'v20.20.2',
  loadStart: [0.5, 0.25, 0.125], loadEnd: [1.75, 1, 0.5], started: '2026-12-07T20:00:00.000Z', ended: '2026-12-07T20:10:00.000Z',
  commit: '30e8804c0ffee (issue15-report)', command: 'node --expose-gc dist/bench/main.js --only core',
};

const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
const figures: readonly Recorded[] = [
  { name: 'core.plain', value: 12.5, unit: 'ms', load1: 0.5 },
  { name: 'core.with_baseline', value: 30, unit: 'ms', baseline: 10, baselineName: 'bare <LIST> & "friends"', ratio: 3, target: 'ratio <= 2', load1: 1.25 },
  { name: 'cni.target_met', value: 20.125, unit: 'ms', baseline: 500, baselineName: 'a 1 s poll', ratio: 0.04, target: 'value < 50', load1: 2 },
  { name: 'ovn.add.p50', value: 50, unit: 'ms', baseline: 25, baselineName: 'the floor', ratio: 2, samples: hundred, baselineSamples: hundred.map((v) => v / 2), load1: 3 },
  { name: 'planner.planAll.1k', value: 100, unit: 'ms', baseline: 40, baselineName: 'parse only', ratio: 2.5, scale: { series: 'planAll', x: 1000 }, load1: 0.75 },
  { name: 'planner.planAll.10k', value: 1200, unit: 'ms', baseline: 300, baselineName: 'parse only', ratio: 4, scale: { series: 'planAll', x: 10_000 }, load1: 0.75 },
  { name: 'planner.planAll.100k', value: 15000, unit: 'ms', baseline: 2800, baselineName: 'parse only', ratio: 5.357, scale: { series: 'planAll', x: 100_000 }, target: 'ratio <= 12', load1: 0.875 },
  { name: 'weird.<script>alert("x")</script>', value: -1, unit: 'µs & <b>', load1: 0 },
];
const sections: readonly SectionOutcome[] = [
  { name: 'core', status: 'done', ms: 1500, figures: 2 },
  { name: 'cni', status: 'done', ms: 2500, figures: 1 },
  { name: 'ovn', status: 'failed', ms: 4000, detail: 'Error: boom <at> step & "this"\n    at somewhere', figures: 1 },
  { name: 'cluster', status: 'skipped', ms: 0, detail: 'needs root', figures: 0 },
];
const html = renderReport(figures, machine, sections);

/** The row of figure `i`. */
const row = (i: number): string => {
  const m = new RegExp(`<tr id="fig-${i}">(.*?)</tr>`).exec(html);
  if (m === null) throw new Error(`no row fig-${i}`);
  return m[1]!;
};
/** From the heading with `id` to the next heading. */
const block = (id: string): string => {
  const start = html.indexOf(`id="${id}"`);
  if (start === -1) throw new Error(`no ${id}`);
  const end = html.indexOf('<h3', start);
  return html.slice(start, end === -1 ? undefined : end);
};
const count = (text: string, part: string): number => text.split(part).length - 1;

describe('renderReport', () => {
  it('is one self-contained page: no script, no external reference', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|@import|url\((?!#)/i);
    expect(html.match(/href="([^"]*)"/g)?.every((h) => h.startsWith('href="#'))).toBe(true);
    expect(count(html, '<svg')).toBe(2);
    expect(count(html, '</svg>')).toBe(2);
  });

  it.each(figures.map((f, i) => [f.name, i] as const))('holds %s with its value and ratio in its row', (_, i) => {
    const f = figures[i]!;
    const r = row(i);
    expect(r).toContain(`<td>${escapeXml(f.name)}`);
    expect(r).toContain(`<td class="num">${f.value} ${escapeXml(f.unit)}</td>`);
    expect(r).toContain(`<td class="num">${f.ratio ?? ''}</td>`);
    expect(r).toContain(`<td class="num">${f.load1}</td>`);
  });

  it('puts each baseline, target and its status beside the figure', () => {
    expect(row(0)).toBe('<td>core.plain</td><td class="num">12.5 ms</td><td></td><td class="num"></td><td></td><td class="num">0.5</td>');
    expect(row(1)).toBe('<td>core.with_baseline</td><td class="num">30 ms</td><td><span class="num">10 ms</span>: bare &lt;LIST&gt; &amp; &quot;friends&quot;</td>' +
      '<td class="num">3</td><td class="not-met">ratio &lt;= 2: not met</td><td class="num">1.25</td>');
    expect(row(2)).toContain('<td class="met">value &lt; 50: met</td>');
    expect(row(6)).toContain('<td class="met">ratio &lt;= 12: met</td>');
    expect(html).toContain('<p class="summary">8 figures; targets: 2 met, 1 not met; <span class="not-met">1 section(s) failed: ovn</span>.</p>');
  });

  it('escapes every text', () => {
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<b>');
    expect(html).not.toContain('<LIST>');
    expect(row(7)).toBe('<td>weird.&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td><td class="num">-1 µs &amp; &lt;b&gt;</td><td></td><td class="num"></td><td></td><td class="num">0</td>');
    expect(html).toContain('<pre>Error: boom &lt;at&gt; step &amp; &quot;this&quot;\n    at somewhere</pre>');
  });

  it('groups the figures by section, and notes the failed and the skipped', () => {
    const heads = [...html.matchAll(/<tr class="section"><th colspan="6">([^<]*)<\/th><\/tr>/g)].map((m) => m[1]);
    expect(heads).toEqual(['core', 'cni', 'ovn', 'other']);
    expect(html).toContain('<div class="failed"><strong>Section ovn failed</strong> after 4.0 s, having reported 1 figures:');
    expect(html).toContain('<tr><td>cluster</td><td class="">skipped</td><td class="num">0.0 s</td><td class="num">0</td><td>needs root</td></tr>');
    expect(html).toContain('<tr><td>ovn</td><td class="not-met">failed</td><td class="num">4.0 s</td><td class="num">1</td><td>Error: boom &lt;at&gt; step &amp; &quot;this&quot;</td></tr>');
  });

  it('notes the machine: cores, memory, load at start and end, node, date, commit', () => {
    for (const text of ['<th>CPU</th><td>2 cores: Test CPU @ 2.0GHz</td>', '<th>memory</th><td>7.5 GiB</td>', '<th>node</th><td>v20.20.2</td>',
      '<th>load average at start</th><td>0.50 0.25 0.13 (1, 5, 15 min)</td>', '<th>load average at end</th><td>1.75 1.00 0.50 (1, 5, 15 min)</td>',
      '<th>date</th><td>2026-12-07T20:00:00.000Z to 2026-12-07T20:10:00.000Z</td>', '<th>commit</th><td>30e8804c0ffee (issue15-report)</td>',
      '<th>command</th><td>node --expose-gc dist/bench/main.js --only core</td>']) expect(html).toContain(text);
  });

  it('plots a latency distribution, ours against the baseline, with its percentiles', () => {
    expect(row(3)).toContain('<a href="#dist-3">distribution</a>');
    const d = block('dist-3');
    expect(count(d, '<path class="curve ours"')).toBe(1);
    expect(count(d, '<path class="curve baseline"')).toBe(1);
    // A CDF's y axis: 0 to 100 %.
    expect([...d.matchAll(/<text class="tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1] ?? '').filter((t) => t.endsWith('%'))).toEqual(['0%', '25%', '50%', '75%', '90%', '100%']);
    expect(d).toContain('<text class="axis-title" x="344" y="330" text-anchor="middle">ms (log)</text>');
    expect(d).toContain('<tr><th>ours</th><td class="num">100</td><td class="num">1</td><td class="num">50</td><td class="num">90</td><td class="num">99</td><td class="num">100</td></tr>');
    expect(d).toContain('<tr><th>baseline</th><td class="num">100</td><td class="num">0.5</td><td class="num">25</td><td class="num">45</td><td class="num">49.5</td><td class="num">50</td></tr>');
    expect(d).toContain('<tr><th>ours / baseline</th><td></td><td class="num">2</td><td class="num">2</td><td class="num">2</td><td class="num">2</td><td class="num">2</td></tr>');
    expect(d).toContain('ours: ovn.add.p50 (100 samples, ms); baseline: the floor (100 samples).');
  });

  it('plots a scaling curve on log-log axes, with the baseline and a linear reference', () => {
    expect(row(4)).toContain('<a href="#series-planAll__ms_">curve planAll at 1000</a>');
    const s = block('series-planAll__ms_');
    expect(s).toContain('>planAll (ms)</h3>');
    expect(count(s, '<circle class="marker ours"')).toBe(3);
    expect(count(s, '<circle class="marker baseline"')).toBe(3);
    expect(count(s, '<path class="curve reference"')).toBe(1);
    expect(s).toContain('<title>ours: 100k → 15k (100000, 15000)</title>');
    expect(s).toContain('<title>baseline: 10k → 300 (10000, 300)</title>');
    const ticks = [...s.matchAll(/<text class="tick"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(ticks).toEqual(['1000', '2000', '5000', '10k', '20k', '50k', '100k', '10', '100', '1000', '10k', '100k']);
    expect(s).toContain('size (log)</text>');
    expect(s).toContain('ms (log)</text>');
    expect(s).toContain('<tr><td class="num">100k</td><td>planner.planAll.100k</td><td class="num">15000 ms</td><td class="num">2800</td><td class="num">5.357</td></tr>');
  });

  it('says which samples it could not draw', () => {
    const page = renderReport([{ name: 'n', value: 1, unit: 'ms', samples: [1, Number.NaN, 2], load1: 0 }], machine);
    expect(page).toContain('left out as not finite: 1 of ours.');
    expect(page).not.toContain('class="section"');
  });
});

describe('a figure with 200,000 samples', () => {
  it('is drawn from 1,001 quantiles per curve, its percentiles from every sample', () => {
    const samples = Array.from({ length: 200_000 }, (_, i) => (i % 1000) + 1);
    const page = renderReport([{ name: 'big', value: 500, unit: 'ms', samples, baselineSamples: samples, load1: 0 }], machine);
    const d = page.slice(page.indexOf('id="dist-0"'));
    expect(count(d, ' H')).toBe(2 * 1000);
    expect(d).toContain('<tr><th>ours</th><td class="num">200000</td><td class="num">1</td><td class="num">500</td><td class="num">900</td><td class="num">990</td><td class="num">1000</td></tr>');
  });
});

describe('targetStatus', () => {
  const f = (target: string, value: number, ratio?: number): Recorded => ({ name: 'f', value, unit: 'ms', target, load1: 0, ...(ratio !== undefined ? { ratio } : {}) });
  it.each([
    ['ratio >= 20', 1, 25, 'met'], ['ratio >= 20', 1, 12.5, 'not met'], ['ratio <= 1.5', 1, 1.5, 'met'], ['ratio < 1.5', 1, 1.5, 'not met'],
    ['value < 50', 49.9, 3, 'met'], ['value < 50', 50, 0.1, 'not met'], ['<= 1.2', 99, 1.1, 'met'], ['<= 1.2', 1, 1.3, 'not met'],
    ['<= 1.2', 1.1, undefined, 'met'], ['ratio <= 1.3 at p50 and p99', 1, 1.2, 'met'], ['ratio ≤ 2', 1, 2.5, 'not met'],
    ['under 1 GiB', 1, 1, 'unknown'], ['ratio <= 2', 1, undefined, 'unknown'], ['ratio <= 2', 1, Number.NaN, 'unknown'],
  ] as const)('%s with value %d and ratio %s: %s', (target, value, ratio, status) => {
    expect(targetStatus(f(target, value, ratio))).toBe(status);
  });
});

describe('ecdf', () => {
  it('is each finite sample with the share at or below it', () => {
    expect(ecdf([3, 1, Number.NaN, 2])).toEqual([[1, 1 / 3], [2, 2 / 3], [3, 1]]);
    expect(ecdf([])).toEqual([]);
  });
  it('keeps 1,001 quantiles of a large sample, its minimum and maximum among them', () => {
    const points = ecdf(Array.from({ length: 5000 }, (_, i) => 5000 - i));
    expect(points.length).toBe(1001);
    expect(points[0]).toEqual([1, 1 / 5000]);
    expect(points[500]).toEqual([2501, 2501 / 5000]);
    expect(points[1000]).toEqual([5000, 1]);
  });
});

describe('formatTick', () => {
  it.each([[0, '0'], [0.25, '0.25'], [1000, '1000'], [12_345, '12.3k'], [100_000, '100k'], [2_500_000, '2.5M'], [3e9, '3G'], [-20_000, '-20k'], [1 / 3, '0.333']])('%d is %s', (v, text) => {
    expect(formatTick(v)).toBe(text);
  });
});
