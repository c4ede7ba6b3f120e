/** hard_tanh and leaky_tanh: values and gradients from the formulas, by name in layers, through save and load. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { ACTIVATIONS, hardTanh, leakyTanh } from './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const xs = [-3, -1, -0.5, 0, 0.25, 1, 2];
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('values', () => {
  it('hard_tanh = clip(x, -1, 1)', () => {
    expect(values(hardTanh(tf.tensor(xs)))).toEqual([-1, -1, -0.5, 0, 0.25, 1, 1]);
  });

  it('leaky_tanh(x, 0.2): clip plus slope 0.2 outside [-1, 1]', () => {
    // -3 -> -1 + 0.2 (-3 + 1) = -1.4; 2 -> 1 + 0.2 (2 - 1) = 1.2; inside: x.
    const expected = [-1.4, -1, -0.5, 0, 0.25, 1, 1.2];
    values(leakyTanh(tf.tensor(xs))).forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i], 6);
    });
    // alpha 0.5: -3 -> -2, 2 -> 1.5
    const half = values(leakyTanh(tf.tensor([-3, 2]), 0.5));
    expect(half[0]).toBeCloseTo(-2, 6);
    expect(half[1]).toBeCloseTo(1.5, 6);
    expect(() => leakyTanh(tf.tensor([1]), Number.NaN)).toThrow(ConfigError);
  });

  it('gradients: hard_tanh 1 inside (-1, 1), 0 outside; leaky_tanh 1 inside, alpha outside', () => {
    const at = [-3, -0.5, 0, 0.5, 2];
    expect(values(tf.grad((x: tf.Tensor) => hardTanh(x))(tf.tensor(at)))).toEqual([0, 1, 1, 1, 0]);
    const g = values(tf.grad((x: tf.Tensor) => leakyTanh(x))(tf.tensor(at)));
    [0.2, 1, 1, 1, 0.2].forEach((e, i) => {
      expect(g[i]).toBeCloseTo(e, 6);
    });
  });
});

describe('by name', () => {
  it.each(Object.keys(ACTIVATIONS))(
    "a dense layer with activation '%s' applies it, also after save and load",
    async (name) => {
      const model = tfl.sequential();
      model.add(
        tfl.layers.dense({ units: xs.length, inputShape: [1], useBias: false, kernelInitializer: 'ones' }),
      );
      model.add(tfl.layers.activation({ activation: name as 'linear' }));
      model.add(
        tfl.layers.dense({ units: xs.length, activation: name as 'linear', kernelInitializer: 'identity' }),
      );
      const expected = ACTIVATIONS[name];
      // x -> [x, ..., x] -> f -> identity dense -> f: f(f(x)) per unit.
      const x = tf.tensor2d([[-3], [0.5], [2]]);
      const want = values(expected(expected(tf.tile(x, [1, xs.length]))));
      const got = values(model.predict(x) as tf.Tensor);
      got.forEach((v, i) => {
        expect(v).toBeCloseTo(want[i], 5);
      });
      let saved: tf.io.ModelArtifacts | undefined;
      await model.save(
        tf.io.withSaveHandler(async (artifacts) => {
          saved = artifacts;
          return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
        }),
      );
      // Keras writes snake_case; tfjs camelCases it back on load.
      expect(JSON.stringify(saved?.modelTopology)).toContain(`"activation":"${name}"`);
      const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved as tf.io.ModelArtifacts));
      expect(values(loaded.predict(x) as tf.Tensor)).toEqual(got);
    },
  );
});
