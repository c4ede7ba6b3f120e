import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import './index.js';
import { describe, expect, it } from 'vitest';

for (const backend of ['cpu', 'wasm']) {
  describe(`BatchNormalization without scale or shift on ${backend}`, () => {
    it('trains with model.fit, and normalizes a batch as (x - mean) / sqrt(var + eps) + beta', async () => {
      await tf.setBackend(backend);
      for (const options of [{ scale: false }, { center: false }, { scale: false, center: false }]) {
        const bn = tfl.layers.batchNormalization({ ...options, epsilon: 1e-3 });
        const model = tfl.sequential({
          layers: [tfl.layers.dense({ units: 2, inputShape: [2], useBias: false }), bn],
        });
        model.setWeights(
          model.getWeights().map((w, i) =>
            i === 0
              ? tf.tensor([
                  [1, 0],
                  [0, 1],
                ])
              : w,
          ),
        );
        // batch [1, 3] and [3, 7] per feature: means 2 and 5, variances 1 and 4
        const x = tf.tensor([
          [1, 3],
          [3, 7],
        ]);
        const y = bn.apply(x, { training: true }) as tf.Tensor;
        const expected = [
          -1 / Math.sqrt(1.001),
          -2 / Math.sqrt(4.001),
          1 / Math.sqrt(1.001),
          2 / Math.sqrt(4.001),
        ];
        for (const [i, v] of Array.from(y.dataSync()).entries()) expect(v).toBeCloseTo(expected[i], 5);
        model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
        const history = await model.fit(
          x,
          tf.tensor([
            [1, 0],
            [0, 1],
          ]),
          { epochs: 2, verbose: 0 },
        );
        expect(history.history.loss.every((l) => Number.isFinite(l as number))).toBe(true);
      }
    });
  });
}
