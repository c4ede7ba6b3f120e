import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { type BackendInfo, backendInfo } from '../backend/select.js';
import { ConfigError, LowbitError, ShapeError } from '../errors.js';
import { nodeBuiltin } from '../util/node.js';
import { Random } from '../util/random.js';
import { checkBuilt } from './profile.js';

/** The machine a benchmark ran on. */
export interface MachineInfo {
  /** e.g. 'linux 6.1.0 (x64)', or the browser's user agent. */
  os: string;
  /** CPU model name, or 'unknown' (browsers do not tell). */
  cpu: string;
  /** Logical cores. */
  cores: number;
  /** Node.js version, or null in a browser. */
  node: string | null;
}

/** Options of {@link benchmark}. */
export interface BenchmarkOptions {
  /** Batch sizes to time, each a positive integer. Default [1, 32]. */
  batchSizes?: number[];
  /** Timed runs per batch size (>= 1). Default 20. */
  runs?: number;
  /**
   * Untimed runs before timing (>= 0), for kernel compilation and caches. Default 3. One untimed
   * run always happens (it checks that the model runs), so 0 and 1 are the same.
   */
  warmup?: number;
  /** Seed of the random inputs (uniform in [-1, 1)). Default 0. */
  seed?: number;
}

/** Timings at one batch size. */
export interface BatchTiming {
  batchSize: number;
  runs: number;
  warmup: number;
  /** Median wall time of one model.predict + dataSync, in milliseconds. */
  medianMs: number;
  /** 90th percentile (nearest rank: the ceil(0.9 n)-th smallest), in milliseconds. */
  p90Ms: number;
  minMs: number;
  maxMs: number;
  /** batchSize / median seconds. */
  samplesPerSecond: number;
  /** Every timed run, in order. */
  timesMs: number[];
}

/** What {@link benchmark} measured, and where. */
export interface BenchmarkResult {
  model: string;
  /** Per-example input shape(s) used. */
  inputShapes: number[][];
  backend: BackendInfo;
  machine: MachineInfo;
  /** ISO time of the run. */
  date: string;
  results: BatchTiming[];
}

interface NodeOs {
  cpus: () => Array<{ model: string }>;
  platform: () => string;
  release: () => string;
  arch: () => string;
  availableParallelism?: () => number;
}

/** Describes the machine: os, cpu model, cores, Node version (browser: user agent and core count). */
export async function machineInfo(): Promise<MachineInfo> {
  const proc = (
    globalThis as {
      process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown };
    }
  ).process;
  if (proc?.versions?.node) {
    const os = await nodeBuiltin<NodeOs>('os', 'machineInfo');
    const cpus = os.cpus();
    return {
      os: `${os.platform()} ${os.release()} (${os.arch()})`,
      cpu: cpus[0]?.model?.trim() || 'unknown',
      cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
      node: proc.versions.node,
    };
  }
  const nav = (globalThis as { navigator?: { userAgent?: string; hardwareConcurrency?: number } }).navigator;
  return {
    os: nav?.userAgent ?? 'unknown',
    cpu: 'unknown',
    cores: nav?.hardwareConcurrency ?? 1,
    node: null,
  };
}

function positiveInteger(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile: the ceil(q n)-th smallest value (q in (0, 1]). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

function checkOptions(options: BenchmarkOptions): Required<BenchmarkOptions> {
  const { batchSizes = [1, 32], runs = 20, warmup = 3, seed = 0 } = options;
  if (
    !Array.isArray(batchSizes) ||
    batchSizes.length === 0 ||
    !batchSizes.every((b) => positiveInteger(b, 1))
  ) {
    throw new ConfigError({
      where: 'benchmark() option batchSizes',
      received: batchSizes,
      expected: 'a non-empty array of positive integers',
    });
  }
  if (!positiveInteger(runs, 1)) {
    throw new ConfigError({ where: 'benchmark() option runs', received: runs, expected: 'an integer >= 1' });
  }
  if (!positiveInteger(warmup, 0)) {
    throw new ConfigError({
      where: 'benchmark() option warmup',
      received: warmup,
      expected: 'an integer >= 0',
    });
  }
  if (!Number.isFinite(seed)) {
    throw new ConfigError({ where: 'benchmark() option seed', received: seed, expected: 'a finite number' });
  }
  return { batchSizes, runs, warmup, seed };
}

/** The model's per-example input shapes; every non-batch dimension must be known. */
function exampleShapes(model: tfl.LayersModel): number[][] {
  return model.inputs.map((input, i) => {
    const shape = input.shape.slice(1);
    if (shape.some((d) => d === null || d === undefined)) {
      throw new ShapeError({
        where: `benchmark() model '${model.name}' input ${i}`,
        received: `shape [${input.shape.map((d) => d ?? 'null').join(', ')}]`,
        expected: 'an input whose dimensions besides the batch are all known',
      });
    }
    return shape as number[];
  });
}

/** One prediction, waited for: model.predict + dataSync of every output. */
function runOnce(model: tfl.LayersModel, inputs: tf.Tensor[]): void {
  tf.tidy(() => {
    const out = model.predict(inputs.length === 1 ? inputs[0] : inputs);
    for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
  });
}

/**
 * Measures a model's latency and throughput on the active backend: for each batch size, `warmup`
 * untimed runs, then `runs` timed runs of model.predict + dataSync on seeded random inputs in
 * [-1, 1). Reports the median and 90th-percentile latency and samples/s = batch / median, with the
 * backend and machine it ran on. Latency and throughput depend on hardware, backend and batch
 * size: compare figures only from the same run (seed 002's efficiency metrics table).
 *
 * @example
 * const r = await lq.models.benchmark(model, { batchSizes: [1, 64], runs: 30 });
 * r.results[0].medianMs; r.backend.name; r.machine.cpu;
 * @throws ConfigError on bad options or an unbuilt model; ShapeError on unknown input dimensions;
 *   LowbitError when the model does not run (naming the input shape and tfjs's message).
 */
export async function benchmark(
  model: tfl.LayersModel,
  options: BenchmarkOptions = {},
): Promise<BenchmarkResult> {
  const { batchSizes, runs, warmup, seed } = checkOptions(options);
  checkBuilt(model, 'benchmark()');
  const shapes = exampleShapes(model);
  await tf.ready();
  const random = new Random(seed);
  const results: BatchTiming[] = [];
  for (const batchSize of batchSizes) {
    const inputs = shapes.map((shape) => {
      const values = new Float32Array(batchSize * shape.reduce((p, d) => p * d, 1));
      for (let i = 0; i < values.length; i++) values[i] = 2 * random.next() - 1;
      return tf.tensor(values, [batchSize, ...shape]);
    });
    try {
      try {
        runOnce(model, inputs);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new LowbitError(
          `benchmark(): model '${model.name}' failed on input shape(s) ${inputs.map((t) => `[${t.shape.join(', ')}]`).join(', ')}: ${message}`,
        );
      }
      for (let i = 1; i < warmup; i++) runOnce(model, inputs);
      const timesMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        runOnce(model, inputs);
        timesMs.push(performance.now() - start);
      }
      const medianMs = median(timesMs);
      results.push({
        batchSize,
        runs,
        warmup,
        medianMs,
        p90Ms: percentile(timesMs, 0.9),
        minMs: Math.min(...timesMs),
        maxMs: Math.max(...timesMs),
        samplesPerSecond: batchSize / (medianMs / 1000),
        timesMs,
      });
    } finally {
      for (const t of inputs) t.dispose();
    }
  }
  return {
    model: model.name,
    inputShapes: shapes,
    backend: await backendInfo(),
    machine: await machineInfo(),
    date: new Date().toISOString(),
    results,
  };
}
