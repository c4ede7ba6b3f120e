/** FlipRatio: Larq's worked example, reset and shape rules; automatic logging during a real model.fit. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { metricsScope } from '../context/scopes.js';
import { ShapeError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import { Bop, CaseOptimizer, isBinaryVariable } from '../optimizers/index.js';
import { Random } from '../util/random.js';
import { FlipRatio, FlipRatioLogger, trackedKernels } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('FlipRatio (larq/metrics_test.py)', () => {
  it('updates (1, 1), (2, 2), (1, 2) give 0, 1, 0.75', () => {
    const m = new FlipRatio();
    expect([m.result(), m.total, m.count]).toEqual([0, 0, 0]);
    m.updateState([1, 1]);
    expect([m.result(), m.total, m.count]).toEqual([0, 0, 1]);
    expect(Array.from(m.previousValues()?.dataSync() ?? [])).toEqual([1, 1]);
    m.updateState([2, 2]); // both changed: flip 1
    expect([m.result(), m.total, m.count]).toEqual([1, 1, 2]);
    m.updateState(tf.tensor([1, 2])); // one of two changed: flip 0.5
    expect([m.result(), m.total, m.count]).toEqual([0.75, 1.5, 3]);
    expect(Array.from(m.previousValues()?.dataSync() ?? [])).toEqual([1, 2]);
  });

  it('resetStates zeroes total and count but keeps the previous values: the next update contributes 0', () => {
    const m = new FlipRatio();
    m.updateState([1, 1, 1, 1]);
    m.updateState([1, -1, 1, 1]);
    m.resetStates();
    expect([m.result(), m.total, m.count]).toEqual([0, 0, 0]);
    m.updateState([-1, -1, -1, -1]); // 3 of 4 changed, but the first update after a reset counts 0
    expect([m.result(), m.count]).toEqual([0, 1]);
    m.updateState([-1, 1, -1, -1]); // 1 of 4: 0.25 / (2 - 1)
    expect(m.result()).toBe(0.25);
  });

  it('values are cast before comparing: int32 truncates (as Larq casts to int8), float32 is exact', () => {
    const asInt = new FlipRatio();
    const asFloat = new FlipRatio({ valuesDtype: 'float32' });
    for (const m of [asInt, asFloat]) {
      m.updateState([0.3, 0.7, 1.5]);
      m.updateState([0.1, -0.2, 1.9]);
    }
    expect(asInt.result()).toBe(0); // trunc: [0, 0, 1] twice
    expect(asFloat.result()).toBe(1);
  });

  it('a change of shape is a ShapeError; bad options are ConfigErrors; config round trips', () => {
    const m = new FlipRatio({ name: 'mcv' });
    m.updateState([1, 2, 3]);
    expect(() => m.updateState([1, 1])).toThrow(ShapeError);
    expect(() => m.updateState([1, 1])).toThrow(
      "FlipRatio 'mcv' update: received shape [2]; expected the shape of the previous update, [3].",
    );
    expect(() => new FlipRatio({ valuesDtype: 'int8' as 'int32' })).toThrow(
      /FlipRatio option valuesDtype: received "int8"/,
    );
    const copy = FlipRatio.fromConfig(new FlipRatio({ name: 'x', valuesDtype: 'float32' }).getConfig());
    expect(copy.getConfig()).toEqual({ name: 'x', valuesDtype: 'float32' });
  });
});

/** Seeded two-class data, 10 features, linearly separable with margin. */
function data(n: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = new Random(seed);
  const v = Array.from({ length: 10 }, () => rng.normal());
  const norm = Math.hypot(...v);
  const xs: number[] = [];
  const ys: number[] = [];
  while (ys.length < 2 * n) {
    const x = Array.from({ length: 10 }, () => rng.normal());
    const s = x.reduce((a, xi, j) => a + xi * v[j], 0) / norm;
    if (Math.abs(s) < 0.5) continue;
    xs.push(...x);
    ys.push(s > 0 ? 1 : 0, s > 0 ? 0 : 1);
  }
  return { x: tf.tensor2d(xs, [n, 10]), y: tf.tensor2d(ys, [n, 2]) };
}

describe('flip ratio in model.fit logs', () => {
  it("kernels with metrics ['flip_ratio'] (option or scope) are logged per epoch, matching flips counted by hand", async () => {
    const hidden = metricsScope(['flip_ratio'], () =>
      quantDense({
        units: 16,
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
        inputShape: [10],
        name: 'fr_hidden',
      }),
    );
    const out = quantDense({
      units: 2,
      inputQuantizer: 'ste_sign',
      kernelQuantizer: { className: 'SteSign', config: { metrics: ['flip_ratio'] } },
      kernelConstraint: 'weight_clip',
      name: 'fr_out',
    });
    const plain = quantDense({
      units: 2,
      kernelQuantizer: 'ste_sign',
      kernelConstraint: 'weight_clip',
      name: 'fr_plain',
    });
    const model = tfl.sequential({
      layers: [
        hidden,
        tfl.layers.batchNormalization(),
        out,
        plain,
        tfl.layers.activation({ activation: 'softmax' }),
      ],
    });
    const optimizer = new CaseOptimizer(
      [[isBinaryVariable, new Bop({ threshold: 1e-7, gamma: 1e-2 })]],
      tf.train.adam(0.01),
    );
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });

    // An independent observer: the signs of both kernels before each step, per epoch.
    const kernels = [hidden, out].map((l) => (l as unknown as { kernel: tfl.LayerVariable }).kernel);
    const snapshots: number[][][][] = [];
    const { x, y } = data(96, 3);
    const history = await model.fit(x, y, {
      epochs: 3,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: {
        onEpochBegin: async () => {
          snapshots.push([]);
        },
        onBatchBegin: async () => {
          snapshots[snapshots.length - 1].push(kernels.map((k) => Array.from(tf.sign(k.read()).dataSync())));
        },
      },
    });

    const expected = (kernel: number) =>
      snapshots.map((epoch) => {
        let total = 0;
        for (let s = 1; s < epoch.length; s++) {
          const [a, b] = [epoch[s - 1][kernel], epoch[s][kernel]];
          total += a.filter((v, i) => v !== b[i]).length / a.length;
        }
        return total / (epoch.length - 1);
      });
    expect(Object.keys(history.history).sort()).toEqual([
      'flip_ratio/fr_hidden',
      'flip_ratio/fr_out',
      'loss',
    ]);
    const got = history.history['flip_ratio/fr_hidden'] as number[];
    expect(got).toHaveLength(3);
    got.forEach((v, i) => {
      expect(v).toBeCloseTo(expected(0)[i], 6);
    });
    (history.history['flip_ratio/fr_out'] as number[]).forEach((v, i) => {
      expect(v).toBeCloseTo(expected(1)[i], 6);
    });
    // Bop does flip weights here, so the figures are not trivially 0.
    expect(Math.max(...got)).toBeGreaterThan(0);
  });

  it('a model without flip_ratio quantizers gets no extra logs; functional models are covered too', async () => {
    const input = tfl.input({ shape: [10] });
    const k = quantDense({
      units: 2,
      kernelQuantizer: { className: 'SteSign', config: { metrics: ['flip_ratio'] } },
      kernelConstraint: 'weight_clip',
      name: 'fr_functional',
    });
    const functional = tfl.model({ inputs: input, outputs: k.apply(input) as tfl.SymbolicTensor });
    functional.compile({ optimizer: tf.train.sgd(0.5), loss: 'meanSquaredError' });
    const { x, y } = data(32, 5);
    const h1 = await functional.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
    expect(Object.keys(h1.history).sort()).toEqual(['flip_ratio/fr_functional', 'loss']);
    expect(trackedKernels(functional).map((t) => t.key)).toEqual(['flip_ratio/fr_functional']);

    const plain = tfl.sequential({ layers: [tfl.layers.dense({ units: 2, inputShape: [10] })] });
    plain.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h2 = await plain.fit(x, y, { epochs: 1, verbose: 0 });
    expect(Object.keys(h2.history)).toEqual(['loss']);
  });

  it('fitDataset logs them too, and user callbacks (objects and callback instances) still run', async () => {
    const model = tfl.sequential({
      layers: [
        quantDense({
          units: 4,
          kernelQuantizer: { className: 'SteSign', config: { metrics: ['flip_ratio'] } },
          kernelConstraint: 'weight_clip',
          inputShape: [10],
          useBias: false,
          name: 'fr_dataset',
        }),
      ],
    });
    model.compile({ optimizer: new Bop({ threshold: 0, gamma: 1 }), loss: 'meanSquaredError' });
    const { x } = data(8, 4);
    // A minimal tf.data-like dataset: 3 batches of the same inputs (fresh tensors: fitDataset disposes them).
    const dataset = {
      size: 3,
      iterator: async () => {
        let i = 0;
        return {
          next: async () =>
            i++ < 3
              ? { value: { xs: tf.clone(x), ys: tf.fill([8, 4], 100) }, done: false }
              : { value: undefined, done: true },
        };
      },
    };
    const seen: string[] = [];
    class Marker extends tfl.Callback {
      override async onEpochEnd(_: number, logs?: tfl.Logs) {
        seen.push(`instance:${Object.keys(logs ?? {}).join(',')}`);
      }
    }
    const history = await model.fitDataset(dataset as never, {
      epochs: 2,
      verbose: 0,
      callbacks: [{ onEpochEnd: async () => void seen.push('object') }, new Marker() as never],
    });
    expect(Object.keys(history.history).sort()).toEqual(['flip_ratio/fr_dataset', 'loss']);
    // The logger runs first, so later callbacks see the flip ratio in the epoch logs.
    expect(seen).toEqual([
      'object',
      'instance:loss,flip_ratio/fr_dataset',
      'object',
      'instance:loss,flip_ratio/fr_dataset',
    ]);
  });

  it('repeated fits with Bop, CaseOptimizer and flip-ratio logging hold no extra tensors', async () => {
    const model = metricsScope(['flip_ratio'], () =>
      tfl.sequential({
        layers: [
          quantDense({
            units: 8,
            kernelQuantizer: 'ste_sign',
            kernelConstraint: 'weight_clip',
            inputShape: [10],
          }),
          tfl.layers.batchNormalization(),
          tfl.layers.dense({ units: 2 }),
        ],
      }),
    );
    model.compile({
      optimizer: new CaseOptimizer([[isBinaryVariable, new Bop()]], tf.train.adam(0.01)),
      loss: 'meanSquaredError',
    });
    const { x, y } = data(32, 9);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      await model.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
  });

  it('FlipRatioLogger is a tfjs callback that can also be passed by hand', () => {
    expect(new FlipRatioLogger()).toBeInstanceOf(tfl.Callback);
  });
});
