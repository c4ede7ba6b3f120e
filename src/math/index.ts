import * as tf from '@tensorflow/tfjs-core';

/**
 * A step function where(mask(x), high, low) with zero gradient. Larq builds its steps from tf.sign,
 * but tfjs-backend-wasm 4.22's Sign returns 0 for |x| below about 1e-7, so tiny values came out
 * differently on wasm and cpu; comparisons are exact on every backend. A comparison has no gradient
 * in tfjs, so the mask is built inside a custom gradient (whose forward pass is not taped).
 */
function step(mask: (x: tf.Tensor) => tf.Tensor, high: number, low: number): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad(((x: tf.Tensor) => ({
    value: tf.tidy(() => tf.where(mask(x), tf.fill(x.shape, high), tf.fill(x.shape, low))),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
}

const signStep = step((x) => tf.less(x, 0), -1, 1);
const heavisideStep = step((x) => tf.greater(x, 0), 1, 0);

/**
 * Sign function that never returns 0: -1 where x < 0, +1 where x >= 0 (larq.math.sign).
 * `tf.sign(0)` is 0, which would silently make a "binary" tensor ternary. Its gradient is 0.
 *
 * @example lq.math.sign(tf.tensor([-2, 0, 3])) // [-1, 1, 1]
 */
export function sign(x: tf.Tensor): tf.Tensor {
  return signStep(x);
}

/**
 * Heaviside step function: 1 where x > 0, else 0 (larq.math.heaviside). Its gradient is 0.
 *
 * @example lq.math.heaviside(tf.tensor([-2, 0, 3])) // [0, 0, 1]
 */
export function heaviside(x: tf.Tensor): tf.Tensor {
  return heavisideStep(x);
}
