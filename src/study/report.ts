/**
 * A small report writer shared by lowbit's studies: sections of markdown text, tables and charts, plus
 * machine-readable data, written as report.md + report.json + one SVG and PNG per chart.
 *
 * Studies add sections to one {@link Report}; later experiments append their own sections (see
 * `runSteStudy`'s `extraSections`), so one report can grow from the toy model to deep networks.
 */
import { ConfigError } from '../errors.js';
import type { VegaLiteSpec } from '../plot/chart.js';
import { nodeBuiltin } from '../util/node.js';

/** A table: column headers and rows of cells (numbers are formatted with {@link formatNumber}). */
export interface ReportTable {
  columns: string[];
  rows: (string | number | boolean | null)[][];
}

/** One block of a section, in order. */
export type ReportBlock =
  | { kind: 'text'; markdown: string }
  | { kind: 'table'; table: ReportTable; caption?: string }
  | { kind: 'plot'; name: string; caption: string; spec: VegaLiteSpec };

/** Formats a number for a report: 4 significant digits, exponent form for very small or large values. */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 1e7) return String(x);
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e5) return String(Number(x.toPrecision(4)));
  return x.toExponential(2);
}

const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** A section of a {@link Report}: a title, ordered blocks, and data for report.json. */
export class ReportSection {
  readonly blocks: ReportBlock[] = [];
  readonly data: Record<string, unknown> = {};
  constructor(
    readonly id: string,
    readonly title: string,
    private readonly plotNames: Set<string>,
  ) {}

  /** Appends a markdown paragraph. */
  text(markdown: string): this {
    this.blocks.push({ kind: 'text', markdown });
    return this;
  }

  /** Appends a table (every row must have one cell per column). */
  table(table: ReportTable, caption?: string): this {
    table.rows.forEach((row, i) => {
      if (row.length !== table.columns.length) {
        throw new ConfigError({
          where: `report section '${this.id}' table row ${i}`,
          received: `${row.length} cells`,
          expected: `${table.columns.length} (one per column)`,
        });
      }
    });
    this.blocks.push({ kind: 'table', table, caption });
    return this;
  }

  /** Appends a chart, written as `<name>.svg` and `<name>.png`; names are unique in the report. */
  plot(name: string, spec: VegaLiteSpec, caption: string): this {
    if (!NAME.test(name)) {
      throw new ConfigError({
        where: `report section '${this.id}' plot name`,
        received: name,
        expected: 'lowercase letters, digits, - and _',
      });
    }
    if (this.plotNames.has(name)) {
      throw new ConfigError({
        where: `report section '${this.id}' plot name`,
        received: name,
        expected: 'a name not used by another plot',
      });
    }
    this.plotNames.add(name);
    this.blocks.push({ kind: 'plot', name, caption, spec });
    return this;
  }

  /** Stores machine-readable results under `key` in report.json. */
  set(key: string, value: unknown): this {
    this.data[key] = value;
    return this;
  }
}

/** Options of {@link Report}. */
export interface ReportOptions {
  title: string;
  /** Markdown shown under the title. */
  intro?: string;
  /** Run metadata (seed, mode, timings, machine) stored in report.json and listed in report.md. */
  meta?: Record<string, unknown>;
}

function cell(x: string | number | boolean | null): string {
  if (x === null) return '';
  if (typeof x === 'number') return formatNumber(x);
  return String(x).replace(/\|/g, '\\|');
}

/** A report: ordered sections, written by {@link Report.write}. */
export class Report {
  readonly sections: ReportSection[] = [];
  readonly meta: Record<string, unknown>;
  private readonly plotNames = new Set<string>();
  constructor(readonly options: ReportOptions) {
    this.meta = { ...(options.meta ?? {}) };
  }

  /** Adds a section with a unique id (lowercase, digits, - and _). */
  section(id: string, title: string): ReportSection {
    if (!NAME.test(id) || this.sections.some((s) => s.id === id)) {
      throw new ConfigError({
        where: 'report section id',
        received: id,
        expected: 'a new id of lowercase letters, digits, - and _',
      });
    }
    const s = new ReportSection(id, title, this.plotNames);
    this.sections.push(s);
    return s;
  }

  /** The markdown text of report.md; charts are embedded as PNG images linking to their SVG. */
  toMarkdown(): string {
    const out: string[] = [`# ${this.options.title}`, ''];
    if (this.options.intro) out.push(this.options.intro, '');
    const metaKeys = Object.keys(this.meta);
    if (metaKeys.length > 0) {
      out.push('| run | |', '|---|---|');
      for (const k of metaKeys) {
        const v = this.meta[k];
        out.push(
          `| ${k} | ${cell(typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean | null))} |`,
        );
      }
      out.push('');
    }
    for (const s of this.sections) {
      out.push(`## ${s.title}`, '');
      for (const b of s.blocks) {
        if (b.kind === 'text') out.push(b.markdown, '');
        else if (b.kind === 'plot')
          out.push(`[![${b.caption}](${b.name}.png)](${b.name}.svg)`, '', `*${b.caption}*`, '');
        else {
          if (b.caption) out.push(`*${b.caption}*`, '');
          out.push(
            `| ${b.table.columns.map(cell).join(' | ')} |`,
            `|${b.table.columns.map(() => '---').join('|')}|`,
          );
          for (const row of b.table.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
          out.push('');
        }
      }
    }
    return `${out.join('\n').trimEnd()}\n`;
  }

  /** The content of report.json: title, meta, and per section its data, tables and plot names. */
  toJSON(): Record<string, unknown> {
    return {
      title: this.options.title,
      meta: this.meta,
      sections: this.sections.map((s) => ({
        id: s.id,
        title: s.title,
        data: s.data,
        tables: s.blocks
          .filter((b) => b.kind === 'table')
          .map((b) => (b.kind === 'table' ? { caption: b.caption, ...b.table } : null)),
        plots: s.blocks
          .filter((b) => b.kind === 'plot')
          .map((b) => (b.kind === 'plot' ? { name: b.name, caption: b.caption } : null)),
      })),
    };
  }

  /**
   * Writes report.md, report.json and `<plot>.svg` / `<plot>.png` for every chart into `outDir`
   * (atomically, file by file). Node only. Returns the written paths.
   */
  async write(outDir: string): Promise<string[]> {
    if (typeof outDir !== 'string' || outDir.length === 0) {
      throw new ConfigError({ where: 'Report.write outDir', received: outDir, expected: 'a directory path' });
    }
    const { writeChart, writeFileAtomic } = await import('../plot/files.js');
    const nodePath = await nodeBuiltin<typeof import('node:path')>('path', 'the study report');
    const files: string[] = [];
    for (const s of this.sections) {
      for (const b of s.blocks) {
        if (b.kind !== 'plot') continue;
        const written = await writeChart(b.spec, nodePath.join(outDir, b.name));
        files.push(written.svg, written.png);
      }
    }
    const md = nodePath.join(outDir, 'report.md');
    const json = nodePath.join(outDir, 'report.json');
    await writeFileAtomic(json, `${stringifyReport(this.toJSON())}\n`);
    await writeFileAtomic(md, this.toMarkdown());
    files.push(json, md);
    return files;
  }
}

/**
 * JSON text of a report: indented objects, but arrays of plain values (numbers, strings) on one line so
 * long trajectories stay compact and diffable.
 */
export function stringifyReport(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2).replace(
    /\[\n\s+([^[\]{}]*?)\n\s*\]/g,
    (_m, inner: string) => `[${inner.split(/,\n\s*/).join(', ')}]`,
  );
}

/** JSON replacer: typed arrays become arrays; non-finite numbers become strings ('NaN', 'inf'). */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'number' && !Number.isFinite(value)) return formatNumber(value);
  return value;
}
