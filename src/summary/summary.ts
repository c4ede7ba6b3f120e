import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfigError } from '../errors.js';
import type { BenchmarkResult } from './benchmark.js';
import { type EnergyEstimate, type EnergyOptions, energyOf } from './energy.js';
import { asciiTable, memoryAsReadable, numberAsReadable, pyFixed } from './format.js';
import type { OpGroup } from './ops.js';
import { type LayerProfile, type ModelProfile, profile } from './profile.js';

/** The extra metrics {@link summary} can print after Larq's two tables. */
export const SUMMARY_METRICS = ['flops', 'energy', 'latency'] as const;

/** One of {@link SUMMARY_METRICS}. */
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];

/** Options of {@link summary} and {@link efficiencyReport}. */
export interface SummaryOptions {
  /** Receives each table as one string (default: console.log), like Larq's `print_fn`. */
  printFn?: (text: string) => void;
  /** Whether Larq's tables show MACs (Larq's `include_macs`). Default true. */
  includeMacs?: boolean;
  /**
   * Extra metrics, printed as further tables: 'flops' (FLOPs and low-bit ops per layer),
   * 'energy' (estimated energy per inference, with its assumptions), 'latency' (needs `benchmark`).
   */
  metrics?: readonly SummaryMetric[];
  /** A {@link benchmark} result to print for the 'latency' metric. */
  benchmark?: BenchmarkResult;
  /** Options of the energy estimate. */
  energy?: EnergyOptions;
}

/** Everything {@link summary} prints, as data (JSON-serializable). */
export interface EfficiencyReport {
  profile: ModelProfile;
  /** Present when the 'energy' metric was asked for. */
  energy?: EnergyEstimate;
  /** Present when a benchmark result was given. */
  latency?: BenchmarkResult;
}

function checkMetrics(metrics: readonly unknown[]): SummaryMetric[] {
  if (!Array.isArray(metrics)) {
    throw new ConfigError({
      where: 'summary() option metrics',
      received: metrics,
      expected: SUMMARY_METRICS,
    });
  }
  for (const m of metrics) {
    if (!(SUMMARY_METRICS as readonly unknown[]).includes(m)) {
      throw new ConfigError({ where: 'summary() option metrics', received: m, expected: SUMMARY_METRICS });
    }
  }
  return metrics as SummaryMetric[];
}

/**
 * The data behind {@link summary}: the model's profile, plus the energy estimate and latency
 * when asked for. `JSON.stringify(efficiencyReport(model, { metrics: ['energy'] }))` is the
 * summary as JSON.
 *
 * @throws ConfigError on an unbuilt model, an unknown metric, or 'latency' without `benchmark`.
 */
export function efficiencyReport(model: tfl.LayersModel, options: SummaryOptions = {}): EfficiencyReport {
  const metrics = checkMetrics(options.metrics ?? []);
  if (metrics.includes('latency') && !options.benchmark) {
    throw new ConfigError({
      where: "summary() metric 'latency'",
      received: 'no benchmark option',
      expected: 'benchmark: await lq.models.benchmark(model) (latency is measured, which is asynchronous)',
    });
  }
  const p = profile(model, { energy: options.energy });
  return {
    profile: p,
    ...(metrics.includes('energy') ? { energy: p.energy } : {}),
    ...(options.benchmark ? { latency: options.benchmark } : {}),
  };
}

/** Larq's `_format_table_entry`: 0 stays "0"; a count at unit 1 as is; else value / units with 2 decimals. */
function entry(value: number, units = 1): string {
  if (value === 0 || units === 1) return String(value);
  return pyFixed(value / units, 2);
}

function count(list: readonly { bits: number; count: number }[], bits: number): number {
  return list.find((c) => c.bits === bits)?.count ?? 0;
}

function statsRow(p: LayerProfile, bitWidths: number[], macPrecisions: number[]): string[] {
  return [
    p.name,
    p.inputPrecision === null ? '-' : String(p.inputPrecision),
    p.outputShapeText,
    ...bitWidths.map((b) => entry(count(p.paramsByBits, b))),
    entry(p.memoryBits, 8 * 1024),
    ...macPrecisions.map((b) => entry(count(p.macsByPrecision, b))),
  ];
}

/** Larq's "<name> stats" table. */
export function statsTable(p: ModelProfile, includeMacs = true): string {
  const macPrecisions = includeMacs ? p.macPrecisions : [];
  const header = [
    'Layer',
    'Input prec.\n(bit)',
    'Outputs',
    ...p.paramBitWidths.map((b) => `# ${b}-bit\nx 1`),
    'Memory\n(kB)',
    ...macPrecisions.map((b) => `${b}-bit MACs`),
  ];
  const total = ['Total', '', '', ...statsRow(p, p.paramBitWidths, macPrecisions).slice(3)];
  const rows = [header, ...p.layers.map((l) => statsRow(l, p.paramBitWidths, macPrecisions)), total];
  return asciiTable(rows, {
    title: `${p.name} stats`,
    justify: header.map((_, i) => (i === 0 ? 'left' : 'right')),
    headingBorder: true,
    footingBorder: true,
  });
}

/** Larq's "<name> summary" table. */
export function summaryTable(p: ModelProfile, includeMacs = true): string {
  const rows = [
    ['Total params', numberAsReadable(p.params)],
    ['Trainable params', numberAsReadable(p.trainableParams)],
    ['Non-trainable params', numberAsReadable(p.nonTrainableParams)],
    ['Model size', memoryAsReadable(p.memoryBits)],
    ['Model size (8-bit FP weights)', memoryAsReadable(p.int8FpWeightsMemoryBits)],
    ['Float-32 Equivalent', memoryAsReadable(p.float32EquivalentBits)],
    ['Compression Ratio of Memory', pyFixed(p.compressionRatio, 2)],
  ];
  if (includeMacs) {
    rows.push(['Number of MACs', numberAsReadable(p.macs)]);
    if (p.binarizedRatio > 0) rows.push(['Ratio of MACs that are binarized', pyFixed(p.binarizedRatio, 4)]);
    if (p.ternarizedRatio > 0)
      rows.push(['Ratio of MACs that are ternarized', pyFixed(p.ternarizedRatio, 4)]);
  }
  return asciiTable(rows, { title: `${p.name} summary` });
}

/** An integer with thousands separators: 2599552 -> "2,599,552". */
function grouped(n: number): string {
  return pyFixed(n, 0, true);
}

/** Energy in the largest unit that keeps the value >= 1: pJ, nJ, uJ, mJ, J; two decimals. */
export function energyAsReadable(pj: number): string {
  const units = ['pJ', 'nJ', 'uJ', 'mJ', 'J'];
  let value = pj;
  let i = 0;
  while (Math.abs(value) >= 1000 && i < units.length - 1) {
    value /= 1000;
    i += 1;
  }
  return `${pyFixed(value, 2, true)} ${units[i]}`;
}

function groupHeader(g: OpGroup): string {
  const unit =
    g.kind === 'float'
      ? 'FLOPs'
      : g.kind === 'binary'
        ? 'binary ops'
        : g.kind === 'ternary'
          ? 'ternary ops'
          : 'int ops';
  return `${g.precision}-bit\n${unit}`;
}

/** The "<name> operations" table: per layer, operations per example by kind, and estimated energy. */
export function operationsTable(report: EfficiencyReport, showOps: boolean): string {
  const p = report.profile;
  const groups = showOps ? p.ops.groups : [];
  const energy = report.energy;
  const layerEnergy = (l: LayerProfile) => (energy ? energyOf(l, { table: energy.table }) : null);
  const row = (l: LayerProfile) => {
    const e = layerEnergy(l);
    return [
      ...groups.map((g) => grouped(l.ops.groups.find((h) => h.precision === g.precision)?.ops ?? 0)),
      ...(e
        ? [
            pyFixed(e.computePj, 1, true),
            pyFixed(e.weightsSramPj, 1, true),
            pyFixed(e.weightsDramPj, 1, true),
          ]
        : []),
    ];
  };
  const header = [
    'Layer',
    ...groups.map(groupHeader),
    ...(energy ? ['Compute\n(pJ, est.)', 'Weights SRAM\n(pJ, est.)', 'Weights DRAM\n(pJ, est.)'] : []),
  ];
  const rows = [header, ...p.layers.map((l) => [l.name, ...row(l)]), ['Total', ...row(p)]];
  return asciiTable(rows, {
    title: `${p.name} operations`,
    justify: header.map((_, i) => (i === 0 ? 'left' : 'right')),
    headingBorder: true,
    footingBorder: true,
  });
}

/** The "<name> efficiency" table: FLOPs and low-bit ops kept apart, energy per inference. */
export function efficiencyTable(report: EfficiencyReport, showOps: boolean): string {
  const p = report.profile;
  const rows: string[][] = [];
  if (showOps) {
    for (const g of p.ops.groups) rows.push([`${g.precision}-bit MACs`, grouped(g.macs)]);
    rows.push(['FLOPs (float, 2 per MAC)', grouped(p.ops.flops)]);
    rows.push(['Binary ops (XNOR + popcount, 2 per MAC)', grouped(p.ops.binaryOps)]);
    if (p.ops.lowBitOps > 0) rows.push(['Low-bit ops (2..8-bit, 2 per MAC)', grouped(p.ops.lowBitOps)]);
  }
  const e = report.energy;
  if (e) {
    rows.push(['Energy, compute (estimate)', energyAsReadable(e.computePj)]);
    rows.push(['Energy, weights from SRAM (estimate)', energyAsReadable(e.weightsSramPj)]);
    rows.push(['Energy, weights from DRAM (estimate)', energyAsReadable(e.weightsDramPj)]);
    rows.push(['Energy per inference, SRAM (estimate)', energyAsReadable(e.totalSramPj)]);
    rows.push(['Energy per inference, DRAM (estimate)', energyAsReadable(e.totalDramPj)]);
  }
  return asciiTable(rows, { title: `${p.name} efficiency` });
}

/** The "<name> latency" table of a benchmark, headed by the backend and machine. */
export function latencyTable(b: BenchmarkResult): string {
  const rows = [
    ['Batch', 'Median (ms)', 'p90 (ms)', 'Samples/s', 'Runs'],
    ...b.results.map((r) => [
      String(r.batchSize),
      pyFixed(r.medianMs, 3),
      pyFixed(r.p90Ms, 3),
      pyFixed(r.samplesPerSecond, 1, true),
      String(r.runs),
    ]),
  ];
  const table = asciiTable(rows, {
    title: `${b.model} latency`,
    justify: ['right', 'right', 'right', 'right', 'right'],
    headingBorder: true,
  });
  const where = `backend ${b.backend.name}${b.backend.simd ? ' (SIMD)' : ''}, ${b.machine.cpu}, ${b.machine.cores} cores, ${b.machine.os}${b.machine.node ? `, Node ${b.machine.node}` : ''}`;
  return `${table}\nMeasured on ${where}; model.predict + dataSync after ${b.results[0]?.warmup ?? 0} warm-up runs.`;
}

/**
 * Prints Larq's two tables for `model` ("<name> stats": per layer input precision, outputs,
 * parameters per bit-width, memory in kB = bits / 8192, MACs per precision, a Total row;
 * "<name> summary": parameter counts, model size, 8-bit-FP size, float-32 equivalent,
 * compression ratio, MACs and the binarized / ternarized ratios), then notes on layers it could
 * not fully count, then the tables of the requested `metrics`.
 *
 * Reference: Larq's `larq.models.summary`, whose snapshot tests this output reproduces.
 *
 * @example
 * lq.models.summary(model);
 * lq.models.summary(model, { metrics: ['flops', 'energy'], printFn: (s) => lines.push(s) });
 * @returns The printed figures as data ({@link efficiencyReport}).
 * @throws ConfigError on an unbuilt model, an unknown metric, or 'latency' without `benchmark`.
 */
export function summary(model: tfl.LayersModel, options: SummaryOptions = {}): EfficiencyReport {
  const report = efficiencyReport(model, options);
  const print = options.printFn ?? ((text: string) => console.log(text));
  const includeMacs = options.includeMacs ?? true;
  const p = report.profile;
  print(statsTable(p, includeMacs));
  print(summaryTable(p, includeMacs));
  if (p.notes.length > 0) print(p.notes.map((n) => `Note: ${n}`).join('\n'));
  const metrics = options.metrics ?? [];
  const showOps = metrics.includes('flops');
  if (showOps || report.energy) {
    print(operationsTable(report, showOps));
    print(efficiencyTable(report, showOps));
  }
  if (report.energy) {
    print(
      [
        `Energy is an estimate (source: ${report.energy.source}). Assumptions:`,
        ...report.energy.assumptions.map((a) => `- ${a}`),
      ].join('\n'),
    );
  }
  if (report.latency) print(latencyTable(report.latency));
  return report;
}
