/**
 * Vega-Lite chart specs for lowbit's reports and CLI: line charts with several series, side-by-side
 * panels and log axes. Specs are plain JSON (vega-lite v6), rendered by {@link ./render.ts}.
 */
import { ConfigError } from '../errors.js';

/** One line of a chart: a name (legend entry) and its points. Non-finite y values are dropped. */
export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Draw with a dashed stroke (e.g. a reference curve). */
  dashed?: boolean;
  /** Draw points as well as the line. */
  points?: boolean;
}

/** An axis: title and scale type. */
export interface AxisOptions {
  title?: string;
  /** 'linear' (default), 'log' (values <= 0 are dropped) or 'symlog'. */
  scale?: 'linear' | 'log' | 'symlog';
  /** Fixed domain [min, max]. */
  domain?: [number, number];
  /** Include zero in a linear domain (default false). */
  zero?: boolean;
}

/** One panel: series sharing the same axes. */
export interface Panel {
  title?: string;
  series: Series[];
  x?: AxisOptions;
  y?: AxisOptions;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Chart title over all panels. */
  title?: string;
  /** One or more panels, laid out side by side and wrapped after `columns`. */
  panels: Panel[];
  /** Panels per row (default: all in one row). */
  columns?: number;
  /** Size of each panel in pixels (default 320 x 220). */
  width?: number;
  height?: number;
  /** Legend title (default 'series'). */
  legendTitle?: string;
  /**
   * Longest series drawn as is (default 1000 points); longer ones are reduced by {@link downsample},
   * which keeps each bucket's minimum and maximum so spikes and oscillations stay visible.
   */
  maxPoints?: number;
}

/**
 * Reduces a series to at most about `maxPoints` points: the index range is cut into maxPoints / 2
 * buckets and each keeps its points of minimum and maximum y, in index order, plus the first and last
 * point. Series no longer than `maxPoints` are returned unchanged (as index lists).
 */
export function downsample(y: ArrayLike<number>, maxPoints: number): number[] {
  if (!(Number.isInteger(maxPoints) && maxPoints >= 4)) {
    throw new ConfigError({
      where: 'plot.downsample maxPoints',
      received: maxPoints,
      expected: 'an integer >= 4',
    });
  }
  const n = y.length;
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.floor((maxPoints - 2) / 2);
  const keep: number[] = [0];
  for (let b = 0; b < buckets; b++) {
    const lo = 1 + Math.floor(((n - 2) * b) / buckets);
    const hi = 1 + Math.floor(((n - 2) * (b + 1)) / buckets);
    let iMin = -1;
    let iMax = -1;
    for (let i = lo; i < hi; i++) {
      if (!Number.isFinite(y[i])) continue;
      if (iMin < 0 || y[i] < y[iMin]) iMin = i;
      if (iMax < 0 || y[i] > y[iMax]) iMax = i;
    }
    if (iMin < 0) continue;
    if (iMin === iMax) keep.push(iMin);
    else keep.push(Math.min(iMin, iMax), Math.max(iMin, iMax));
  }
  keep.push(n - 1);
  return keep;
}

/** A Vega-Lite top-level spec (kept as plain JSON; see https://vega.github.io/vega-lite/). */
export type VegaLiteSpec = Record<string, unknown>;

function checkSeries(s: Series, where: string): void {
  if (typeof s.name !== 'string')
    throw new ConfigError({ where: `${where} name`, received: s.name, expected: 'a string' });
  if (!s.x || !s.y || s.x.length !== s.y.length) {
    throw new ConfigError({
      where: `${where} '${s.name}' x/y`,
      received: `lengths ${s.x?.length} and ${s.y?.length}`,
      expected: 'two arrays of equal length',
    });
  }
}

function axisEncoding(field: string, axis: AxisOptions | undefined): Record<string, unknown> {
  const scale: Record<string, unknown> = { type: axis?.scale ?? 'linear' };
  if (axis?.domain) scale.domain = axis.domain;
  if ((axis?.scale ?? 'linear') === 'linear') scale.zero = axis?.zero ?? false;
  return { field, type: 'quantitative', title: axis?.title ?? field, scale };
}

function panelSpec(panel: Panel, index: number, options: LineChartOptions, names: string[]): VegaLiteSpec {
  const values: { x: number; y: number; series: string; dashed: boolean }[] = [];
  const logX = panel.x?.scale === 'log';
  const logY = panel.y?.scale === 'log';
  panel.series.forEach((s, k) => {
    checkSeries(s, `plot.lineChart panel ${index} series ${k}`);
    for (const i of downsample(s.y, options.maxPoints ?? 1000)) {
      const x = s.x[i];
      const y = s.y[i];
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      if ((logX && x <= 0) || (logY && y <= 0)) continue;
      values.push({ x, y, series: s.name, dashed: s.dashed === true });
    }
  });
  const withPoints = panel.series.some((s) => s.points);
  const spec: VegaLiteSpec = {
    width: options.width ?? 320,
    height: options.height ?? 220,
    data: { values },
    mark: { type: 'line', point: withPoints, clip: true },
    encoding: {
      x: axisEncoding('x', panel.x),
      y: axisEncoding('y', panel.y),
      // A shared color domain keeps each series' color the same in every panel.
      color: {
        field: 'series',
        type: 'nominal',
        title: options.legendTitle ?? 'series',
        scale: { domain: names },
      },
      strokeDash: {
        field: 'dashed',
        type: 'nominal',
        legend: null,
        scale: {
          domain: [false, true],
          range: [
            [1, 0],
            [5, 3],
          ],
        },
      },
      detail: { field: 'series', type: 'nominal' },
    },
  };
  if (panel.title) spec.title = panel.title;
  return spec;
}

/**
 * Builds a Vega-Lite spec of line charts: one or several panels (each with its own axes, e.g. one log
 * and one linear), series colored consistently across panels.
 * @example lineChart({ panels: [{ series: [{ name: 'relu', x: [0, 1], y: [1, 0.5] }], y: { scale: 'log' } }] })
 */
export function lineChart(options: LineChartOptions): VegaLiteSpec {
  if (!options || !Array.isArray(options.panels) || options.panels.length === 0) {
    throw new ConfigError({
      where: 'plot.lineChart panels',
      received: options?.panels,
      expected: 'a non-empty array of panels',
    });
  }
  const names: string[] = [];
  for (const p of options.panels) for (const s of p.series) if (!names.includes(s.name)) names.push(s.name);
  const panels = options.panels.map((p, i) => panelSpec(p, i, options, names));
  const top: VegaLiteSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    config: {
      font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
      view: { stroke: '#ddd' },
      legend: { labelLimit: 400 },
      title: { offset: 12 },
    },
  };
  if (options.title) top.title = options.title;
  if (panels.length === 1) return { ...top, ...panels[0], title: options.title ?? panels[0].title };
  return {
    ...top,
    concat: panels,
    columns: options.columns ?? panels.length,
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  };
}
