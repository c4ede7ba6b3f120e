import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { lineChart } from '../plot/chart.js';
import { formatNumber, jsonReplacer, Report, stringifyReport } from './report.js';

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [42, '42'],
    [1.23456, '1.235'],
    [0.000123456, '1.23e-4'],
    [123456.7, '1.23e+5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'inf'],
  ])('%d -> %s', (x, s) => {
    expect(formatNumber(x)).toBe(s);
  });
});

describe('Report', () => {
  function build(): Report {
    const r = new Report({ title: 'Study', intro: 'Intro text.', meta: { seed: 1 } });
    r.section('first', 'First section')
      .text('Some *markdown*.')
      .table({ columns: ['a', 'b|c'], rows: [[1.5, 'x|y']] }, 'A table.')
      .plot(
        'chart-one',
        lineChart({ panels: [{ series: [{ name: 's', x: [0, 1], y: [1, 2] }] }] }),
        'A chart.',
      )
      .set('numbers', Float64Array.from([1, Number.NaN]));
    return r;
  }

  it('renders markdown in order with escaped table cells and image links', () => {
    const md = build().toMarkdown();
    expect(md).toContain('# Study\n\nIntro text.');
    expect(md).toContain('| seed | 1 |');
    expect(md).toContain('## First section');
    expect(md).toContain('| a | b\\|c |\n|---|---|\n| 1.5 | x\\|y |');
    expect(md).toContain('[![A chart.](chart-one.png)](chart-one.svg)');
    expect(md.indexOf('Some *markdown*')).toBeLessThan(md.indexOf('| a |'));
  });

  it('extra sections can be appended by later experiments', () => {
    const r = build();
    r.section('second', 'Second').text('Appended.');
    expect(r.toMarkdown().indexOf('## Second')).toBeGreaterThan(r.toMarkdown().indexOf('## First section'));
    expect(() => r.section('second', 'again')).toThrow(ConfigError);
    expect(() => r.section('Bad Id', 'x')).toThrow(ConfigError);
    expect(() => r.sections[1].plot('chart-one', {}, 'dup')).toThrow(/not used by another plot/);
    expect(() => r.sections[1].table({ columns: ['a'], rows: [[1, 2]] })).toThrow(/2 cells/);
  });

  it('writes report.md, report.json and the charts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lowbit-report-'));
    try {
      const files = await build().write(dir);
      expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(
        ['chart-one.png', 'chart-one.svg', 'report.json', 'report.md'].sort(),
      );
      const json = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
      expect(json.sections[0].data.numbers).toEqual([1, 'NaN']);
      expect(json.sections[0].plots).toEqual([{ name: 'chart-one', caption: 'A chart.' }]);
      expect(json.meta).toEqual({ seed: 1 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stringifyReport keeps arrays of values on one line and round-trips', () => {
    const value = { a: [1, 2.5, -3e-7], b: { c: ['x', 'y'], d: [{ e: 1 }] } };
    const text = stringifyReport(value);
    expect(text).toContain('"a": [1, 2.5, -3e-7]');
    expect(text).toContain('"c": ["x", "y"]');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('jsonReplacer turns typed arrays into arrays', () => {
    expect(JSON.stringify({ a: Float64Array.from([1, 2]) }, jsonReplacer)).toBe('{"a":[1,2]}');
  });
});
