/** trainModel and evaluateModel against independent computations on small data. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DataSplit } from '../data/index.js';
import { ConfigError, ShapeError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import { Random } from '../util/random.js';
import { epochOrder, epochSeed, evaluateModel, trainModel } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A split of images [count, h, w, 1] from rows of pixels. */
function split(rows: number[][], labels: number[], h: number, w: number): DataSplit {
  return {
    x: Float32Array.from(rows.flat()),
    y: Uint8Array.from(labels),
    xShape: [rows.length, h, w, 1],
    count: rows.length,
  };
}

/** Softmax regression without bias on [1, d, 1] images. */
function linearModel(d: number, classes: number, weights: number[][]): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [1, d, 1] }),
      tfl.layers.dense({ units: classes, useBias: false, activation: 'softmax' }),
    ],
  });
  model.setWeights([tf.tensor2d(weights)]);
  return model;
}

/** Two separable classes of 4x4 images: class 1 iff the mean pixel is positive. */
function blobs(count: number, seed: number): DataSplit {
  const rng = new Random(seed);
  const rows: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    const c = i % 2;
    rows.push(Array.from({ length: 16 }, () => (c ? 0.5 : -0.5) + 0.6 * rng.normal()));
    labels.push(c);
  }
  return split(rows, labels, 4, 4);
}

function smallBinaryNet(seed: number): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.flatten({ inputShape: [4, 4, 1] }),
      quantDense({
        units: 16,
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
        useBias: false,
        kernelInitializer: tfl.initializers.glorotUniform({ seed }),
      }),
      tfl.layers.batchNormalization({ scale: false, momentum: 0.9 }),
      quantDense({
        units: 2,
        inputQuantizer: 'ste_sign',
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
        useBias: false,
        kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }),
      }),
      tfl.layers.batchNormalization({ scale: false, momentum: 0.9 }),
      tfl.layers.activation({ activation: 'softmax' }),
    ],
  });
}

const weightsOf = (m: tfl.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('epochOrder', () => {
  it('is a seeded permutation, different per epoch and per seed, equal to lq.data batching order', () => {
    const a = Array.from(epochOrder(50, 3, 0));
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(epochOrder(50, 3, 0))).toEqual(a);
    expect(Array.from(epochOrder(50, 3, 1))).not.toEqual(a);
    expect(Array.from(epochOrder(50, 4, 0))).not.toEqual(a);
    // Fisher-Yates with Random(epochSeed): the same as shuffling 0..n-1 by hand.
    const expected = Array.from({ length: 50 }, (_, i) => i);
    new Random(epochSeed(3, 0)).shuffle(expected);
    expect(a).toEqual(expected);
  });

  it('epochSeed(s, e) is the e-th draw of Random(s)', () => {
    const rng = new Random(9);
    const draws = [rng.int(2 ** 31), rng.int(2 ** 31), rng.int(2 ** 31)];
    expect([0, 1, 2].map((e) => epochSeed(9, e))).toEqual(draws);
  });
});

describe('trainModel', () => {
  it('matches SGD on softmax regression computed by hand, in the seeded order, with the lr schedule', async () => {
    const xs = [
      [1, 0.5],
      [-0.5, 1],
      [0.2, -1],
      [1.5, 0.3],
      [-1, -0.4],
    ];
    const ys = [0, 1, 2, 0, 1];
    const w0 = [
      [0.1, -0.2, 0.05],
      [0.3, 0.0, -0.1],
    ];
    const data = split(xs, ys, 1, 2);
    const model = linearModel(2, 3, w0);
    const seed = 12;
    const lr = (e: number) => 0.5 / (e + 1);
    const result = await trainModel({
      model,
      data,
      epochs: 2,
      batchSize: 2,
      optimizer: tf.train.sgd(0.5),
      seed,
      learningRate: lr,
      yieldEvery: 'never',
    });

    // Independent float64 implementation: dL/dW[i][j] = 1/|B| sum_b x_b[i] (p_b[j] - [j = y_b]).
    const w = w0.map((r) => [...r]);
    for (let e = 0; e < 2; e++) {
      const order = Array.from(epochOrder(5, seed, e));
      for (let s = 0; s < order.length; s += 2) {
        const batch = order.slice(s, s + 2);
        const grad = w.map((r) => r.map(() => 0));
        for (const b of batch) {
          const logits = [0, 1, 2].map((j) => xs[b][0] * w[0][j] + xs[b][1] * w[1][j]);
          const m = Math.max(...logits);
          const ex = logits.map((z) => Math.exp(z - m));
          const sum = ex.reduce((p, q) => p + q, 0);
          for (let i = 0; i < 2; i++) {
            for (let j = 0; j < 3; j++)
              grad[i][j] += (xs[b][i] * (ex[j] / sum - (j === ys[b] ? 1 : 0))) / batch.length;
          }
        }
        for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) w[i][j] -= lr(e) * grad[i][j];
      }
    }
    const got = weightsOf(model)[0];
    w.flat().forEach((v, k) => {
      expect(got[k]).toBeCloseTo(v, 5);
    });
    expect(result.epochs.map((e) => e.learningRate)).toEqual([0.5, 0.25]);
    expect(result.samples).toBe(10);
    expect(result.stoppedEarly).toBe(false);
  });

  it("sets a schedule's learning rate on Adam too (which reads it every step)", async () => {
    const model = smallBinaryNet(2);
    const optimizer = tf.train.adam(0.1);
    const result = await trainModel({
      model,
      data: blobs(32, 1),
      epochs: 3,
      batchSize: 16,
      optimizer,
      learningRate: (e) => 0.01 * 2 ** -e,
      yieldEvery: 'never',
    });
    expect(result.epochs.map((e) => e.learningRate)).toEqual([0.01, 0.005, 0.0025]);
    expect((optimizer as unknown as { learningRate: number }).learningRate).toBe(0.0025);
  });

  it('a binarized network (BatchNorm without scale) learns a separable task; weight_clip holds', async () => {
    const model = smallBinaryNet(1);
    const result = await trainModel({
      model,
      data: blobs(256, 1),
      epochs: 4,
      batchSize: 16,
      optimizer: tf.train.adam(0.01),
      seed: 1,
      validation: blobs(128, 2),
      yieldEvery: 'never',
    });
    const last = result.epochs[result.epochs.length - 1];
    expect(result.epochs.length).toBe(4);
    expect(last.valAccuracy).toBeGreaterThan(0.9);
    expect(last.loss).toBeLessThan(result.epochs[0].loss);
    // The final val_loss (tfjs's evaluate) equals evaluateModel's on the same split and weights.
    const ev = evaluateModel(model, blobs(128, 2));
    expect(ev.loss).toBeCloseTo(last.valLoss as number, 4);
    expect(ev.accuracy).toBeCloseTo(last.valAccuracy as number, 6);
    const kernels = model.layers.filter((l) => l.getClassName() === 'QuantDense');
    for (const l of kernels) {
      const max = Math.max(...Array.from(l.getWeights()[0].dataSync(), Math.abs));
      expect(max).toBeLessThanOrEqual(1);
    }
  });

  it('is reproducible: same seeds, same weights; another data seed, other weights', async () => {
    const run = async (seed: number) => {
      const model = smallBinaryNet(3);
      await trainModel({ model, data: blobs(96, 5), epochs: 2, batchSize: 16, seed, yieldEvery: 'never' });
      return weightsOf(model);
    };
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
  });

  it('resuming at initialEpoch continues with the same epoch order', async () => {
    const data = blobs(40, 7);
    const opts = { data, batchSize: 8, seed: 4, yieldEvery: 'never' as const };
    const flat = () => {
      const m = tfl.sequential({
        layers: [
          tfl.layers.flatten({ inputShape: [4, 4, 1] }),
          tfl.layers.dense({ units: 2, useBias: false, activation: 'softmax' }),
        ],
      });
      m.setWeights([tf.zeros([16, 2])]);
      return m;
    };
    const a = flat();
    await trainModel({ ...opts, model: a, epochs: 3, optimizer: tf.train.sgd(0.1) });
    const b = flat();
    await trainModel({ ...opts, model: b, epochs: 2, optimizer: tf.train.sgd(0.1) });
    const resumed = await trainModel({ ...opts, model: b, epochs: 3, initialEpoch: 2 });
    expect(resumed.epochs.map((e) => e.epoch)).toEqual([2]);
    weightsOf(a)[0].forEach((v, k) => {
      expect(weightsOf(b)[0][k]).toBeCloseTo(v, 6);
    });
  });

  it('leaks no tensors across a training run (batches, validation, flattening)', async () => {
    const model = smallBinaryNet(4);
    const opts = {
      model,
      data: blobs(48, 1),
      validation: blobs(16, 2),
      batchSize: 16,
      yieldEvery: 'never' as const,
    };
    await trainModel({ ...opts, epochs: 1, optimizer: tf.train.adam(0.01) });
    const before = tf.memory().numTensors;
    await trainModel({ ...opts, epochs: 2 });
    evaluateModel(model, blobs(16, 3));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('takes callbacks as configs and objects together; stopTraining ends early', async () => {
    const model = smallBinaryNet(5);
    const seen: number[] = [];
    const result = await trainModel({
      model,
      data: blobs(64, 3),
      epochs: 5,
      batchSize: 16,
      yieldEvery: 'never',
      callbacks: [
        {
          onEpochEnd: async (epoch: number) => {
            seen.push(epoch);
            if (epoch === 1) model.stopTraining = true;
          },
        },
        tfl.callbacks.earlyStopping({ monitor: 'loss', patience: 100 }),
      ] as never,
    });
    expect(seen).toEqual([0, 1]);
    expect(result.stoppedEarly).toBe(true);
    expect(result.epochs.length).toBe(2);
  });

  it('rejects bad options and data that does not fit the model', async () => {
    const model = smallBinaryNet(6);
    const data = blobs(8, 1);
    await expect(trainModel({ model, data, epochs: 0 })).rejects.toThrow(ConfigError);
    await expect(trainModel({ model, data, epochs: 1, batchSize: 1.5 })).rejects.toThrow(/batchSize.*1.5/);
    await expect(trainModel({ model, data, epochs: 2, initialEpoch: 2 })).rejects.toThrow(/initialEpoch/);
    await expect(trainModel({ model, data, epochs: 1, seed: 0.5 })).rejects.toThrow(/seed/);
    const wrong = split([Array(25).fill(0)], [0], 5, 5);
    await expect(trainModel({ model, data: wrong, epochs: 1 })).rejects.toThrow(ShapeError);
    await expect(trainModel({ model, data: wrong, epochs: 1 })).rejects.toThrow(/5, 5, 1.*4, 4, 1/);
  });
});

describe('evaluateModel', () => {
  it('gives the hand-computed cross-entropy and accuracy', () => {
    // W = ln 3 * I: logits [ln3, 0] -> p = [3/4, 1/4]; [0, ln3] -> [1/4, 3/4]; [2 ln3, ln3] -> [3/4, 1/4].
    const a = Math.log(3);
    const model = linearModel(2, 2, [
      [a, 0],
      [0, a],
    ]);
    const data = split(
      [
        [1, 0],
        [0, 1],
        [2, 1],
      ],
      [0, 0, 1],
      1,
      2,
    );
    // Losses: -ln(3/4), -ln(1/4), -ln(1/4); correct: first only.
    const expected = (Math.log(4 / 3) + Math.log(4) + Math.log(4)) / 3;
    for (const batchSize of [1, 2, 256]) {
      const ev = evaluateModel(model, data, { batchSize });
      expect(ev.loss).toBeCloseTo(expected, 6);
      expect(ev.accuracy).toBeCloseTo(1 / 3, 12);
      expect(ev.count).toBe(3);
      // Predicted classes 0, 1, 0 for labels 0, 0, 1: class 0 has 2 examples, 1 right; class 1 has 1, 0 right.
      expect(ev.perClass).toEqual([
        { count: 2, correct: 1 },
        { count: 1, correct: 0 },
      ]);
    }
  });

  it('rejects a bad batch size and an empty split', () => {
    const model = linearModel(2, 2, [
      [1, 0],
      [0, 1],
    ]);
    expect(() => evaluateModel(model, split([[1, 0]], [0], 1, 2), { batchSize: 0 })).toThrow(ConfigError);
    expect(() => evaluateModel(model, split([], [], 1, 2))).toThrow(/empty/);
    expect(() => evaluateModel(model, split([[1, 0]], [2], 1, 2))).toThrow(/label 2.*labels 0 to 1/);
  });
});
