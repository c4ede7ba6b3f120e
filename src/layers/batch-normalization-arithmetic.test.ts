/** BatchNormalization without scale (or center) trains, with Keras's arithmetic. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '../backend/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import './index.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('BatchNormalization without scale or center (lowbit fix of tfjs)', () => {
  it.each([
    [false, false],
    [false, true],
    [true, false],
  ])(
    'training step with scale=%s center=%s: y = (x - mean) / sqrt(var + 1e-3), moving stats updated',
    (scale, center) => {
      const bn = tfl.layers.batchNormalization({ scale, center, momentum: 0.99, epsilon: 1e-3 });
      const x = tf.tensor2d([[1], [2], [3], [6]]);
      const y = (bn.apply(x, { training: true }) as tf.Tensor).dataSync();
      // mean 3, biased variance (4 + 1 + 0 + 9) / 4 = 3.5; gamma 1 and beta 0 initially.
      [1, 2, 3, 6].forEach((v, i) => {
        expect(y[i]).toBeCloseTo((v - 3) / Math.sqrt(3.5 + 1e-3), 5);
      });
      const weights = bn.getWeights().map((w) => w.dataSync()[0]);
      const [movingMean, movingVariance] = weights.slice(-2);
      // moving <- moving - (moving - batch) (1 - momentum): 0 -> 0.03; 1 -> 1 - (1 - 3.5) 0.01 = 1.025.
      expect(movingMean).toBeCloseTo(0.03, 6);
      // Keras uses the unbiased batch variance for the moving average; tfjs the biased one (tfjs's choice, kept).
      expect(movingVariance).toBeCloseTo(1.025, 6);
      // Inference uses the moving statistics.
      const inf = (bn.apply(tf.tensor2d([[0.03]]), { training: false }) as tf.Tensor).dataSync()[0];
      expect(inf).toBeCloseTo(0, 6);
    },
  );

  it('gradients reach beta (center) and the input through a scale-less BatchNorm', () => {
    const bn = tfl.layers.batchNormalization({ scale: false });
    const x = tf.tensor2d([[1], [2], [3], [6]]);
    bn.apply(x, { training: true });
    const beta = bn.trainableWeights[0].read();
    const f = (input: tf.Tensor) =>
      tf.sum(tf.mul(bn.apply(input, { training: true }) as tf.Tensor, tf.tensor2d([[1], [0], [0], [0]])));
    const { grads } = tf.variableGrads(() => f(x) as tf.Scalar, [beta as tf.Variable]);
    // d/dbeta sum(w * (xhat + beta)) = sum(w) = 1.
    expect(Object.values(grads)[0].dataSync()[0]).toBeCloseTo(1, 6);
    const dx = tf
      .grad((input: tf.Tensor) => f(input))(x)
      .dataSync();
    // d y_0 / d x_k = (delta_0k - 1/4) / s - xhat_0 xhat_k / (4 s), s = sqrt(3.5 + 1e-3), xhat = (x - 3) / s.
    const s = Math.sqrt(3.5 + 1e-3);
    const xhat = [1, 2, 3, 6].map((v) => (v - 3) / s);
    [0, 1, 2, 3].forEach((k) => {
      const expected = ((k === 0 ? 1 : 0) - 0.25) / s - (xhat[0] * xhat[k]) / (4 * s);
      expect(dx[k]).toBeCloseTo(expected, 4);
    });
  });
});
