/** recalibrateBatchNorm against population statistics computed by hand loops. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DataSplit } from '../data/index.js';
import { ConfigError, UnsupportedError } from '../errors.js';
import { quantDense } from '../layers/index.js';
import '../constraints/index.js';
import '../quantizers/index.js';
import { Random } from '../util/random.js';
import { recalibrateBatchNorm } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const [H, W, C, UNITS, EPS] = [2, 3, 2, 3, 1e-3];
const GAMMA = [2, 0.5];
const BETA = [0.1, -0.3];

function data(count: number): DataSplit {
  const r = new Random(7);
  // Channel 1 offset by 3 so its mean is far from the initial moving mean 0.
  const x = Float32Array.from(
    { length: count * H * W * C },
    (_, i) => r.normal() * (1 + (i % C)) + 3 * (i % C),
  );
  return { x, y: new Uint8Array(count), xShape: [count, H, W, C], count };
}

/** input -> BN(gamma, beta) -> flatten -> QuantDense(sign kernel) -> BN -> softmax. */
function model(kernel: number[][]): tfl.LayersModel {
  const m = tfl.sequential({
    layers: [
      tfl.layers.batchNormalization({ inputShape: [H, W, C], epsilon: EPS }),
      tfl.layers.flatten(),
      quantDense({
        units: UNITS,
        useBias: false,
        kernelQuantizer: 'ste_sign',
        kernelConstraint: 'weight_clip',
      }),
      tfl.layers.batchNormalization({ epsilon: EPS }),
      tfl.layers.softmax(),
    ],
  });
  const [, , mm, mv] = m.layers[0].getWeights();
  m.layers[0].setWeights([tf.tensor1d(GAMMA), tf.tensor1d(BETA), mm, mv]);
  m.layers[2].setWeights([tf.tensor2d(kernel)]);
  return m;
}

/** Population mean and variance of column c of rows (float64). */
function moments(rows: number[][], c: number): [number, number] {
  const mean = rows.reduce((s, r) => s + r[c], 0) / rows.length;
  return [mean, rows.reduce((s, r) => s + (r[c] - mean) ** 2, 0) / rows.length];
}

/** The expected statistics of both BatchNorm layers, by loops over the examples. */
function expected(d: DataSplit, kernel: number[][]) {
  const pixels: number[][] = [];
  for (let i = 0; i < d.count * H * W; i++) pixels.push([d.x[i * C], d.x[i * C + 1]]);
  const bn1 = [0, 1].map((c) => moments(pixels, c));
  const hidden: number[][] = [];
  for (let n = 0; n < d.count; n++) {
    const z: number[] = [];
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) {
        const x = d.x[(n * H * W + p) * C + c];
        z.push(((x - bn1[c][0]) / Math.sqrt(bn1[c][1] + EPS)) * GAMMA[c] + BETA[c]);
      }
    }
    hidden.push(
      Array.from({ length: UNITS }, (_, u) => z.reduce((s, v, k) => s + v * (kernel[k][u] >= 0 ? 1 : -1), 0)),
    );
  }
  return { bn1, bn2: [0, 1, 2].map((u) => moments(hidden, u)) };
}

const kernel = (() => {
  const r = new Random(3);
  return Array.from({ length: H * W * C }, () => Array.from({ length: UNITS }, () => r.normal()));
})();

function movingStats(layer: tfl.layers.Layer): [Float32Array, Float32Array] {
  const w = layer.getWeights();
  return [w[w.length - 2].dataSync() as Float32Array, w[w.length - 1].dataSync() as Float32Array];
}

describe('recalibrateBatchNorm', () => {
  it('sets every moving mean and variance to the population statistics of the final network', () => {
    const d = data(37); // not a multiple of the batch size: batches are combined
    const m = model(kernel);
    const report = recalibrateBatchNorm(m, d, { batchSize: 8 });
    const want = expected(d, kernel);
    for (const [layer, stats] of [
      [m.layers[0], want.bn1],
      [m.layers[3], want.bn2],
    ] as const) {
      const [mean, variance] = movingStats(layer);
      stats.forEach(([mu, v], c) => {
        expect(mean[c]).toBeCloseTo(mu, 4);
        expect(variance[c] / v).toBeCloseTo(1, 5);
      });
    }
    // The initial moving statistics are mean 0 and variance 1.
    const shift1 = Math.max(...want.bn1.map(([mu, v]) => Math.abs(mu) / Math.sqrt(v + EPS)));
    expect(report.map((r) => r.name)).toEqual([m.layers[0].name, m.layers[3].name]);
    expect(report[0].meanShift).toBeCloseTo(shift1, 4);
    expect(report[0].logVarianceShift).toBeCloseTo(
      Math.max(...want.bn1.map(([, v]) => Math.abs(Math.log((1 + EPS) / (v + EPS))))),
      4,
    );
    m.dispose();
  });

  it('uses only the first `count` examples when asked', () => {
    const d = data(37);
    const m = model(kernel);
    recalibrateBatchNorm(m, d, { count: 10, batchSize: 4 });
    const first: DataSplit = {
      ...d,
      x: d.x.subarray(0, 10 * H * W * C),
      y: d.y.subarray(0, 10),
      count: 10,
      xShape: [10, H, W, C],
    };
    const want = expected(first, kernel);
    const [mean] = movingStats(m.layers[3]);
    for (const [u, [mu]] of want.bn2.entries()) expect(mean[u]).toBeCloseTo(mu, 4);
    m.dispose();
  });

  it('rejects bad options and shared BatchNormalization layers', () => {
    const d = data(5);
    const m = model(kernel);
    expect(() => recalibrateBatchNorm(m, d, { count: 6 })).toThrow(ConfigError);
    expect(() => recalibrateBatchNorm(m, d, { count: 0 })).toThrow(/count/);
    expect(() => recalibrateBatchNorm(m, d, { batchSize: 1.5 })).toThrow(/batchSize/);
    m.dispose();
    const input = tfl.input({ shape: [H, W, C] });
    const bn = tfl.layers.batchNormalization();
    const twice = bn.apply(bn.apply(input)) as tfl.SymbolicTensor;
    const shared = tfl.model({ inputs: input, outputs: twice });
    expect(() => recalibrateBatchNorm(shared, d)).toThrow(UnsupportedError);
    shared.dispose();
  });
});
