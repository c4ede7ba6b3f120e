import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-layers registers tfjs-core's gradients, as lowbit's own entry point does.
import '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
// lowbit's kernels, as its entry point registers them (the wasm Sign below).
import '../backend/index.js';
import { heaviside, sign } from './index.js';

for (const backend of ['cpu', 'wasm']) {
  describe(`math on ${backend}`, () => {
    // tfjs-backend-wasm 4.22's own Sign returns 0 for |x| < 2^-23, which would binarize -1e-9 to +1
    // with Larq's formula sign(sign(x) + 0.1); lowbit's wasm Sign gives the true sign.
    it('sign is -1 below 0 and +1 from 0 up (tiny values and -0 included), with zero gradient', async () => {
      await tf.setBackend(backend);
      const x = tf.tensor([-2, -1e-3, -1e-9, -1e-30, -0, 0, 1e-30, 1e-3, 3]);
      expect(Array.from(sign(x).dataSync())).toEqual([-1, -1, -1, -1, 1, 1, 1, 1, 1]);
      expect(
        Array.from(
          tf
            .grad((t: tf.Tensor) => tf.sum(sign(t)))(x)
            .dataSync(),
        ),
      ).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    });

    it('heaviside is 1 above 0, else 0', async () => {
      await tf.setBackend(backend);
      expect(Array.from(heaviside(tf.tensor([-2, 0, 1e-3, 3])).dataSync())).toEqual([0, 0, 1, 1]);
    });
  });
}
