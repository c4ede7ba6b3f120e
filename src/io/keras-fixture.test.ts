// A model.json + weight shard in the layout tensorflowjs_converter writes for a Keras model (the way a
// Larq model reaches tfjs): 'model_config' wrapper, keras_version, training_config, weights in
// group1-shard1of1.bin. Weights are hand-chosen; the expected outputs are computed here by hand.
import * as path from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from './index.js';

const fixture = path.join(import.meta.dirname, 'fixtures', 'keras-converted');

// dense: kernel [3, 2] (rows = inputs), bias; batch_normalization: gamma, beta, moving mean, variance.
const K = [
  [1, 0.5],
  [-1, 2],
  [0.25, 1],
];
const b = [0.5, -1];
const gamma = [2, 0.5];
const beta = [1, -1];
const mean = [0.5, 0.5];
const variance = [4, 1];
const epsilon = 0.001;

/** relu(x K + b), then gamma (h - mean) / sqrt(variance + epsilon) + beta, in float64. */
function reference(x: number[]): number[] {
  return [0, 1].map((j) => {
    const z = x[0]! * K[0]![j]! + x[1]! * K[1]![j]! + x[2]! * K[2]![j]! + b[j]!;
    const h = Math.max(0, z);
    return (gamma[j]! * (h - mean[j]!)) / Math.sqrt(variance[j]! + epsilon) + beta[j]!;
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('a Keras model converted by tensorflowjs_converter', () => {
  it('loads from its directory and computes the hand-worked outputs', async () => {
    const model = await loadModel(fixture);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['InputLayer', 'Dense', 'BatchNormalization']);
    const inputs = [
      [1, 2, -1], // z = [-0.75, 2.5] -> relu [0, 2.5] -> [0.50006248, -0.00049963]
      [0, 0, 0], //  z = b = [0.5, -1] -> relu [0.5, 0] -> [1, -1.24987506]
    ];
    expect(reference(inputs[0]!)[0]).toBeCloseTo(0.50006248, 7);
    expect(reference(inputs[1]!)[1]).toBeCloseTo(-1.24987506, 7);
    const y = (model.predict(tf.tensor2d(inputs)) as tf.Tensor).arraySync() as number[][];
    inputs.forEach((x, i) => {
      const want = reference(x);
      expect(y[i]![0]).toBeCloseTo(want[0]!, 6);
      expect(y[i]![1]).toBeCloseTo(want[1]!, 6);
    });
  });

  it('also through tfl.loadLayersModel("file://.../model.json")', async () => {
    const model = await tfl.loadLayersModel(`file://${path.join(fixture, 'model.json')}`);
    const kernel = model.getLayer('dense').getWeights()[0]!.arraySync();
    expect(kernel).toEqual(K);
  });
});
