import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { downsample, lineChart } from './chart.js';
import { writeChart, writeFileAtomic } from './files.js';
import { renderSvg, svgToPng } from './render.js';

function pngSize(png: Uint8Array): { width: number; height: number } {
  // PNG signature, then the IHDR chunk: width and height as big-endian uint32 at bytes 16 and 20.
  expect(Array.from(png.slice(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('lineChart', () => {
  it('builds one layer per panel with log axes and drops points a log axis cannot show', () => {
    const spec = lineChart({
      title: 'T',
      panels: [
        { title: 'lin', series: [{ name: 'a', x: [0, 1, 2], y: [3, 4, 5] }] },
        {
          title: 'log',
          y: { scale: 'log', title: 'loss' },
          series: [{ name: 'b', x: [0, 1, 2], y: [1, 0, 1e-3] }],
        },
      ],
      columns: 1,
    });
    const panels = spec.concat as Record<string, unknown>[];
    expect(panels).toHaveLength(2);
    expect(spec.columns).toBe(1);
    const enc = panels[1].encoding as Record<string, { scale: { type: string } }>;
    expect(enc.y.scale.type).toBe('log');
    const values = (panels[1].data as { values: { x: number; y: number }[] }).values;
    expect(values.map((v) => v.x)).toEqual([0, 2]);
    // The color domain lists every series of every panel, so colors agree across panels.
    expect(
      (panels[0].encoding as Record<string, { scale: { domain: string[] } }>).color.scale.domain,
    ).toEqual(['a', 'b']);
  });

  it('rejects empty or mismatched input', () => {
    expect(() => lineChart({ panels: [] })).toThrow(ConfigError);
    expect(() => lineChart({ panels: [{ series: [{ name: 'a', x: [1, 2], y: [1] }] }] })).toThrow(
      /equal length/,
    );
  });
});

describe('downsample', () => {
  it('keeps short series whole', () => {
    expect(downsample([1, 2, 3], 10)).toEqual([0, 1, 2]);
  });

  it('keeps the extremes of every bucket, in order, including a single spike', () => {
    const y: number[] = Array.from({ length: 10000 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    y[5001] = 100;
    const keep = downsample(y, 100);
    expect(keep.length).toBeLessThanOrEqual(100);
    expect(keep[0]).toBe(0);
    expect(keep[keep.length - 1]).toBe(9999);
    expect(keep).toContain(5001);
    for (let i = 1; i < keep.length; i++) expect(keep[i]).toBeGreaterThan(keep[i - 1]);
    // The oscillation survives: both +1 and -1 are kept.
    const kept = keep.map((i) => y[i]);
    expect(kept).toContain(1);
    expect(kept).toContain(-1);
  });
});

describe('rendering', () => {
  const spec = lineChart({
    title: 'Loss curves',
    panels: [
      { title: 'left panel', series: [{ name: 'relu', x: [1, 2, 3], y: [3, 2, 1] }] },
      {
        title: 'right panel',
        x: { scale: 'log' },
        series: [{ name: 'identity', x: [1, 10, 100], y: [1, 2, 3], dashed: true }],
      },
    ],
    width: 200,
    height: 100,
  });

  it('renders an SVG with the titles, legend and axes (headless, no canvas)', async () => {
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['Loss curves', 'left panel', 'right panel', 'relu', 'identity'])
      expect(svg).toContain(text);
    // The log axis has tick labels at the decades.
    expect(svg).toContain('>100<');
  });

  it('converts SVG to PNG at the requested scale', async () => {
    const svg = await renderSvg(spec);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const height = Number(/height="(\d+)"/.exec(svg)![1]);
    const png = await svgToPng(svg, { scale: 2 });
    expect(pngSize(png)).toEqual({ width: 2 * width, height: 2 * height });
    await expect(svgToPng('not svg')).rejects.toThrow(ConfigError);
  });

  it('writes SVG and PNG files atomically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lowbit-plot-'));
    try {
      const out = await writeChart(spec, join(dir, 'sub', 'chart'));
      expect((await readFile(out.svg, 'utf8')).startsWith('<svg')).toBe(true);
      pngSize(new Uint8Array(await readFile(out.png)));
      await writeFileAtomic(join(dir, 'a.txt'), 'x');
      await writeFileAtomic(join(dir, 'a.txt'), 'y');
      expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('y');
      // No temp files are left behind.
      expect((await readdir(dir)).sort()).toEqual(['a.txt', 'sub']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
