/** benchmark(): structure of the result and errors (no timing assertions). */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, LowbitError, ShapeError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import { setWarningHandler } from '../util/log.js';
import { benchmark, median, percentile, summary } from './index.js';
import './testing.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  setWarningHandler(() => {});
});

const tiny = () =>
  tfl.sequential({
    name: 'tiny',
    layers: [
      quantDense({ units: 4, inputShape: [6], inputQuantizer: 'ste_sign', kernelQuantizer: 'ste_sign' }),
      tfl.layers.dense({ units: 2 }),
    ],
  });

describe('median and percentile', () => {
  it('median of odd and even counts; nearest-rank p90', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // ceil(0.9 x 10) = 9th smallest of 1..10
    expect(percentile([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0.9)).toBe(9);
    // ceil(0.9 x 3) = 3rd smallest
    expect(percentile([5, 1, 3], 0.9)).toBe(5);
  });
});

describe('benchmark', () => {
  it('returns per batch size the median, p90 and samples/s of its runs, with backend and machine', async () => {
    const r = await benchmark(tiny(), { batchSizes: [1, 3], runs: 5, warmup: 1 });
    expect(r.model).toBe('tiny');
    expect(r.inputShapes).toEqual([[6]]);
    expect(r.backend.name).toBe('cpu');
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.machine.node).toBe(process.versions.node);
    expect(r.machine.cpu.length).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(r.date))).toBe(false);
    expect(r.results.map((t) => t.batchSize)).toEqual([1, 3]);
    for (const t of r.results) {
      expect(t.timesMs).toHaveLength(5);
      expect(t.medianMs).toBe(median(t.timesMs));
      expect(t.p90Ms).toBe(percentile(t.timesMs, 0.9));
      expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
      expect(t.p90Ms).toBeLessThanOrEqual(t.maxMs);
      expect(t.samplesPerSecond).toBeCloseTo(t.batchSize / (t.medianMs / 1000), 9);
    }
    expect(JSON.parse(JSON.stringify(r)).results).toHaveLength(2);
  });

  it('leaves no tensors behind', async () => {
    const model = tiny();
    await benchmark(model, { batchSizes: [2], runs: 2, warmup: 0 });
    const before = tf.memory().numTensors;
    await benchmark(model, { batchSizes: [2], runs: 2, warmup: 0 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('summary prints a latency table from a benchmark result', async () => {
    const model = tiny();
    const result = await benchmark(model, { batchSizes: [1], runs: 2, warmup: 0 });
    const out: string[] = [];
    summary(model, { metrics: ['latency'], benchmark: result, printFn: (s) => out.push(s) });
    expect(out[2]).toMatch(/^\+tiny latency/);
    expect(out[2]).toContain('| Batch  Median (ms)  p90 (ms)  Samples/s  Runs |');
    expect(out[2]).toMatch(/Measured on backend cpu, .*cores.*Node /);
  });

  it('rejects bad options with ConfigError', async () => {
    const model = tiny();
    await expect(benchmark(model, { batchSizes: [] })).rejects.toThrow(
      /batchSizes: received an array of length 0/,
    );
    await expect(benchmark(model, { batchSizes: [1.5] })).rejects.toThrow(ConfigError);
    await expect(benchmark(model, { runs: 0 })).rejects.toThrow(/runs: received 0; expected an integer >= 1/);
    await expect(benchmark(model, { warmup: -1 })).rejects.toThrow(ConfigError);
    await expect(benchmark(tfl.sequential({ name: 'empty' }))).rejects.toThrow(/no layers/);
  });

  it('a model with unknown input dimensions gets a ShapeError', async () => {
    const x = tfl.input({ shape: [null, 3] });
    const model = tfl.model({
      inputs: x,
      outputs: tfl.layers.dense({ units: 2 }).apply(x) as tfl.SymbolicTensor,
    });
    await expect(benchmark(model)).rejects.toThrow(ShapeError);
    await expect(benchmark(model)).rejects.toThrow(/input 0: received shape \[null, null, 3\]/);
  });

  it('a model that does not run gets a LowbitError naming the input shape and the cause', async () => {
    const model = tiny();
    // Break the model: give its second layer a 5 x 2 kernel where 4 inputs arrive, so predict fails.
    const wrong = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [5] })] });
    (model.layers[1] as unknown as { kernel: unknown }).kernel = (
      wrong.layers[0] as unknown as { kernel: unknown }
    ).kernel;
    const error = await benchmark(model, { batchSizes: [2], runs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LowbitError);
    expect((error as Error).message).toMatch(
      /^benchmark\(\): model 'tiny' failed on input shape\(s\) \[2, 6\]: /,
    );
  });
});
