/**
 * End to end: tfjs-layers models using every conv family, pooling and embeddings compute the same
 * loss gradients on wasm (with lowbit's kernels) as on cpu, and one fit step gives the same weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import './index.js';
import { relError, runOn, seededValues } from './testing.js';

const TOL = 1e-4;

interface Case {
  name: string;
  input: number[];
  build: () => tfl.layers.Layer[];
  intInput?: number;
}

const cases: Case[] = [
  {
    name: 'conv2d + bias, maxPooling2d, separableConv2d, depthwiseConv2d, dense',
    input: [4, 12, 12, 2],
    build: () => [
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.separableConv2d({ filters: 5, kernelSize: 3, padding: 'same', depthMultiplier: 2 }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, depthMultiplier: 2, padding: 'same' }),
      tfl.layers.averagePooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 3 }),
    ],
  },
  {
    name: 'conv1d (strided; same), maxPooling1d',
    input: [3, 15, 3],
    build: () => [
      tfl.layers.conv1d({ filters: 4, kernelSize: 3, strides: 2 }),
      tfl.layers.conv1d({ filters: 4, kernelSize: 2, padding: 'same' }),
      tfl.layers.maxPooling1d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 }),
    ],
  },
  {
    name: 'conv2dTranspose, conv2d stride 2',
    input: [2, 5, 6, 3],
    build: () => [
      tfl.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      tfl.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 }),
    ],
  },
  {
    name: 'conv3d, maxPooling3d, conv3dTranspose',
    input: [2, 6, 6, 5, 2],
    build: () => [
      tfl.layers.conv3d({ filters: 3, kernelSize: 3, strides: 1, padding: 'same' }),
      tfl.layers.maxPooling3d({ poolSize: 2 }),
      tfl.layers.conv3dTranspose({ filters: 2, kernelSize: 2, strides: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 }),
    ],
  },
  {
    name: 'batchNormalization (training mode) after conv2d and dense, globalAveragePooling2d',
    input: [6, 8, 8, 3],
    build: () => [
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, useBias: false }),
      tfl.layers.batchNormalization({ momentum: 0.9 }),
      tfl.layers.activation({ activation: 'relu' }),
      tfl.layers.globalAveragePooling2d({}),
      tfl.layers.dense({ units: 5 }),
      tfl.layers.batchNormalization({ center: true, scale: true }),
      tfl.layers.dense({ units: 2 }),
    ],
  },
  {
    name: 'embedding (gather gradient), dense',
    input: [6, 4],
    intInput: 10,
    build: () => [
      tfl.layers.embedding({ inputDim: 10, outputDim: 3 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 2 }),
    ],
  },
];

function buildModel(c: Case): tfl.Sequential {
  const model = tfl.sequential();
  const [first, ...rest] = c.build();
  model.add(tfl.layers.inputLayer({ inputShape: c.input.slice(1) }));
  for (const l of [first!, ...rest]) model.add(l);
  model.setWeights(
    model.getWeights().map((w, i) => tf.mul(tf.tensor(seededValues(w.shape, 100 + i), w.shape), 0.5)),
  );
  return model;
}

function inputs(c: Case): tf.Tensor {
  if (c.intInput) {
    const n = c.input.reduce((a, b) => a * b, 1);
    // Repeated ids, so that the gather gradient must add rows.
    return tf.tensor(
      Array.from({ length: n }, (_, i) => (i * 7) % c.intInput!),
      c.input,
      'int32',
    );
  }
  return tf.tensor(seededValues(c.input, 7), c.input);
}

describe('layers train identically on wasm and cpu', () => {
  it.each(cases)('gradients: $name', async (c) => {
    const run = (backend: string) =>
      runOn(backend, () => {
        const model = buildModel(c);
        const x = inputs(c);
        const out = model.apply(x) as tf.Tensor;
        const target = tf.tensor(seededValues(out.shape, 8), out.shape);
        const { value, grads } = tf.variableGrads(
          () =>
            tf.losses.meanSquaredError(target, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
          model.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        return [value, ...Object.values(grads)];
      });
    const ref = await run('cpu');
    const got = await run('wasm');
    expect(got.length).toBe(ref.length);
    expect(got.length).toBeGreaterThan(2);
    for (let i = 0; i < ref.length; i++) expect(relError(got[i]!, ref[i]!), `output ${i}`).toBeLessThan(TOL);
  });

  it('one model.fit step gives the same weights', async () => {
    const c = cases[0]!;
    const weightsAfterFit = async (backend: string) => {
      await tf.setBackend(backend);
      const model = buildModel(c);
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      const x = inputs(c);
      const y = tf.tensor(seededValues([c.input[0]!, 3], 8), [c.input[0]!, 3]);
      await model.fit(x, y, { epochs: 1, batchSize: c.input[0]!, verbose: 0 });
      return Promise.all(model.getWeights().map(async (w) => Float32Array.from(await w.data())));
    };
    const ref = await weightsAfterFit('cpu');
    const got = await weightsAfterFit('wasm');
    for (let i = 0; i < ref.length; i++) expect(relError(got[i]!, ref[i]!), `weight ${i}`).toBeLessThan(TOL);
  });
});
