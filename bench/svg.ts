// Hand-written SVG plots for the bench report (html.ts): curves on linear or log axes, with
// ticks, axis titles that carry the unit, and a legend.
// Rules: pure (numbers and strings in, one `<svg>` string out; no I/O, no clock); every text
// escaped; a fixed size; no scripts, styles by attribute only, no external assets, so the
// report opens anywhere offline. `plot` drops points a log axis cannot show (≤ 0) and points
// that are not finite; the caller counts them and says so in its caption.

/** Escapes text for HTML and SVG (element content and quoted attribute values). */
export const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export type CurveStyle = 'ours' | 'baseline' | 'reference';

export interface Curve {
  /** Short: it is drawn in the legend (the caption under the plot says the rest). */
  readonly label: string;
  readonly style: CurveStyle;
  readonly points: readonly (readonly [number, number])[];
  /** Drawn as a staircase (an empirical CDF), not point to point. */
  readonly step?: boolean;
  /** A circle per point, with its values as a tooltip. */
  readonly markers?: boolean;
  /** A guide (e.g. linear growth): it does not widen the axes, and is clipped to the plot. */
  readonly guide?: boolean;
}

export interface AxisSpec {
  readonly title: string;
  readonly log: boolean;
  /** Fixed domain and ticks (e.g. a CDF's 0..1); else from the data. */
  readonly fixed?: { readonly min: number; readonly max: number; readonly ticks: readonly number[] };
  readonly format?: (v: number) => string;
}

export interface PlotSpec {
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  readonly curves: readonly Curve[];
  /** Accessible name of the figure. */
  readonly title: string;
}

const WIDTH = 640;
const HEIGHT = 340;
const MARGIN = { left: 72, right: 24, top: 40, bottom: 52 };
const COLORS: Readonly<Record<CurveStyle, { stroke: string; dash: string }>> = {
  ours: { stroke: '#1f5fbf', dash: '' },
  baseline: { stroke: '#d9480f', dash: '6 4' },
  reference: { stroke: '#868e96', dash: '2 4' },
};

/** A number as a tick label: at most 3 significant digits, with k/M/G for thousands up. */
export const formatTick = (v: number): string => {
  const abs = Math.abs(v);
  const short = (n: number): string => String(Number(n.toPrecision(3)));
  if (abs >= 1e9) return `${short(v / 1e9)}G`;
  if (abs >= 1e6) return `${short(v / 1e6)}M`;
  if (abs >= 1e4) return `${short(v / 1e3)}k`;
  return short(v);
};

/** The least and greatest of `values` ([Infinity, -Infinity] for none), without spreading them
 *  into arguments (a latency figure may carry 100,000 samples). */
export const extent = (values: readonly number[]): [number, number] =>
  values.reduce<[number, number]>(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], [Infinity, -Infinity]);

interface Axis {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  readonly log: boolean;
}

/** Ticks 1, 2 or 5 × 10^k apart covering [min, max], about five of them; the domain is
 *  widened to the outer ticks. */
const linearAxis = (min: number, max: number): Axis => {
  if (min === max) [min, max] = min === 0 ? [0, 1] : [Math.min(0, min), Math.max(0, max)];
  const raw = (max - min) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min: lo, max: hi, ticks, log: false };
};

/** Decades covering [min, max] (min > 0); with 1, 2, 5 per decade when there are few. */
const logAxis = (min: number, max: number): Axis => {
  let lo = Math.floor(Math.log10(min));
  let hi = Math.ceil(Math.log10(max));
  if (hi === lo) hi = lo + 1;
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) {
    for (const m of hi - lo <= 2 ? [1, 2, 5] : [1]) {
      const t = Number((m * 10 ** e).toPrecision(12));
      if (t <= 10 ** hi) ticks.push(t);
    }
  }
  // Trim decades the data does not reach into, keeping one tick either side.
  let first = 0;
  ticks.forEach((t, i) => (first = t <= min ? i : first));
  const last = ticks.findIndex((t) => t >= max);
  // Within a decade (e.g. 30 to 32 MiB) the whole decade stays: a flat curve looks flat.
  const kept = hi - lo > 1 ? ticks.slice(first, last === -1 ? undefined : last + 1) : ticks;
  [lo, hi] = [kept[0] ?? 10 ** lo, kept.at(-1) ?? 10 ** hi];
  return { min: lo, max: hi, ticks: kept, log: true };
};

const axisOf = (spec: AxisSpec, values: readonly number[]): Axis => {
  if (spec.fixed !== undefined) return { ...spec.fixed, log: spec.log };
  if (values.length === 0) return spec.log ? logAxis(1, 10) : linearAxis(0, 1);
  const [min, max] = extent(values);
  return spec.log ? logAxis(min, max) : linearAxis(min, max);
};

/** Where `v` falls along an axis of `length` pixels, 0 at the axis's minimum. */
const position = (a: Axis, v: number, length: number): number => {
  const [lo, hi, at] = a.log ? [Math.log10(a.min), Math.log10(a.max), Math.log10(v)] : [a.min, a.max, v];
  return hi === lo ? 0 : ((at - lo) / (hi - lo)) * length;
};

const num = (v: number): string => String(Math.round(v * 10) / 10);

/** Whether a point can be drawn on these axes. */
const drawable = (x: AxisSpec, y: AxisSpec) => ([px, py]: readonly [number, number]): boolean =>
  Number.isFinite(px) && Number.isFinite(py) && (!x.log || px > 0) && (!y.log || py > 0);

/** One plot as an `<svg>` element: frame, grid, ticks, axis titles, curves, legend. */
export const plot = (spec: PlotSpec): string => {
  const curves = spec.curves.map((c) => ({ ...c, points: c.points.filter(drawable(spec.x, spec.y)) }));
  const all = curves.filter((c) => c.guide !== true).flatMap((c) => c.points);
  const xa = axisOf(spec.x, all.map((p) => p[0]));
  const ya = axisOf(spec.y, all.map((p) => p[1]));
  const [w, h] = [WIDTH - MARGIN.left - MARGIN.right, HEIGHT - MARGIN.top - MARGIN.bottom];
  const X = (v: number): number => MARGIN.left + position(xa, v, w);
  const Y = (v: number): number => MARGIN.top + h - position(ya, v, h);
  const fx = spec.x.format ?? formatTick;
  const fy = spec.y.format ?? formatTick;
  const clip = `clip-${spec.title.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(spec.title)}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(spec.title)}</title>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}" fill="#fff" stroke="#495057"/>`,
    `<clipPath id="${escapeXml(clip)}"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${w}" height="${h}"/></clipPath>`,
  ];
  for (const t of xa.ticks) {
    const x = num(X(t));
    out.push(`<line class="grid" x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + h}" stroke="#e9ecef"/>`,
      `<line x1="${x}" y1="${MARGIN.top + h}" x2="${x}" y2="${MARGIN.top + h + 5}" stroke="#495057"/>`,
      `<text class="tick" x="${x}" y="${MARGIN.top + h + 18}" text-anchor="middle">${escapeXml(fx(t))}</text>`);
  }
  for (const t of ya.ticks) {
    const y = num(Y(t));
    out.push(`<line class="grid" x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + w}" y2="${y}" stroke="#e9ecef"/>`,
      `<line x1="${MARGIN.left - 5}" y1="${y}" x2="${MARGIN.left}" y2="${y}" stroke="#495057"/>`,
      `<text class="tick" x="${MARGIN.left - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(fy(t))}</text>`);
  }
  out.push(`<text class="axis-title" x="${MARGIN.left + w / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(spec.x.title)}${spec.x.log ? ' (log)' : ''}</text>`,
    `<text class="axis-title" transform="translate(16 ${MARGIN.top + h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.y.title)}${spec.y.log ? ' (log)' : ''}</text>`);
  for (const c of curves) out.push(...drawCurve(c, X, Y, fx, fy, clip));
  out.push(...legend(curves));
  out.push('</svg>');
  return out.join('\n');
};

const drawCurve = (c: Curve, X: (v: number) => number, Y: (v: number) => number, fx: (v: number) => string, fy: (v: number) => string, clip: string): string[] => {
  if (c.points.length === 0) return [];
  const { stroke, dash } = COLORS[c.style];
  const d = c.points.map(([x, y], i) => {
    if (i === 0) return `M${num(X(x))} ${num(Y(c.step === true ? 0 : y))}${c.step === true ? ` V${num(Y(y))}` : ''}`;
    return c.step === true ? `H${num(X(x))} V${num(Y(y))}` : `L${num(X(x))} ${num(Y(y))}`;
  }).join(' ');
  const clipped = c.guide === true ? ` clip-path="url(#${escapeXml(clip)})"` : '';
  const out = [`<path class="curve ${c.style}" d="${d}" fill="none" stroke="${stroke}" stroke-width="2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}${clipped}/>`];
  if (c.markers === true) {
    for (const [x, y] of c.points) {
      out.push(`<circle class="marker ${c.style}" cx="${num(X(x))}" cy="${num(Y(y))}" r="4" fill="${stroke}"><title>${escapeXml(`${c.label}: ${fx(x)} → ${fy(y)} (${x}, ${y})`)}</title></circle>`);
    }
  }
  return out;
};

/** The legend, one row above the plot area (where no curve can hide it). */
const legend = (curves: readonly Curve[]): string[] => {
  const out = ['<g class="legend">'];
  let x = MARGIN.left;
  for (const c of curves) {
    const { stroke, dash } = COLORS[c.style];
    out.push(`<line x1="${x}" y1="18" x2="${x + 28}" y2="18" stroke="${stroke}" stroke-width="2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`,
      `<text x="${x + 34}" y="18" dominant-baseline="middle">${escapeXml(c.label)}</text>`);
    x += 34 + 7 * c.label.length + 20;
  }
  out.push('</g>');
  return out;
};
