/**
 * Headless rendering of charts: Vega-Lite spec -> Vega spec -> SVG string (vega's View.toSVG() with
 * the 'none' renderer, so no canvas and no DOM are needed; works in Node and browsers), and SVG -> PNG
 * with @resvg/resvg-js (Node only, loaded lazily so browser bundles never import it).
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { ConfigError, LowbitError } from '../errors.js';
import { importHidden } from '../util/node.js';
import type { VegaLiteSpec } from './chart.js';

/** Renders a Vega (not Vega-Lite) spec to an SVG string. */
export async function vegaToSvg(spec: Record<string, unknown>): Promise<string> {
  if (!spec || typeof spec !== 'object') {
    throw new ConfigError({ where: 'plot.vegaToSvg spec', received: spec, expected: 'a Vega spec object' });
  }
  const view = new vega.View(vega.parse(spec as vega.Spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Renders a Vega-Lite spec (for example from {@link lineChart}) to an SVG string.
 * @example const svg = await renderSvg(lineChart({ panels: [...] }));
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  if (!spec || typeof spec !== 'object') {
    throw new ConfigError({
      where: 'plot.renderSvg spec',
      received: spec,
      expected: 'a Vega-Lite spec object',
    });
  }
  // biome-ignore lint/suspicious/noExplicitAny: vega-lite's TopLevelSpec union is too deep to build statically.
  const compiled = compile(spec as any).spec;
  return vegaToSvg(compiled as unknown as Record<string, unknown>);
}

/** Options of {@link svgToPng}. */
export interface PngOptions {
  /** Pixel scale relative to the SVG's size (default 2, for sharp images). */
  scale?: number;
}

/**
 * Converts an SVG string to PNG bytes with @resvg/resvg-js (Node only; system fonts are used for text).
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  if (typeof svg !== 'string' || !svg.includes('<svg')) {
    throw new ConfigError({
      where: 'plot.svgToPng svg',
      received: typeof svg === 'string' ? `${svg.slice(0, 40)}...` : svg,
      expected: 'an SVG document string',
    });
  }
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 16)) {
    throw new ConfigError({ where: 'plot.svgToPng scale', received: scale, expected: 'a number in (0, 16]' });
  }
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    ({ Resvg } = await importHidden<typeof import('@resvg/resvg-js')>('@resvg/resvg-js'));
  } catch (cause) {
    throw new LowbitError(
      `plot.svgToPng: @resvg/resvg-js could not be loaded (${String(cause)}); PNG output needs Node with that package.`,
    );
  }
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: { loadSystemFonts: true } })
    .render()
    .asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
