import * as tf from '@tensorflow/tfjs-core';

/**
 * Sign function that never returns 0: -1 where x < 0, +1 where x >= 0 (larq.math.sign).
 * `tf.sign(0)` is 0, which would silently make a "binary" tensor ternary.
 *
 * sign(x) = sign(sign(x) + 0.1)
 *
 * @example lq.math.sign(tf.tensor([-2, 0, 3])) // [-1, 1, 1]
 */
export function sign(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sign(tf.add(tf.sign(x), 0.1)));
}

/**
 * Heaviside step function: 1 where x > 0, else 0 (larq.math.heaviside).
 *
 * heaviside(x) = sign(relu(x))
 *
 * @example lq.math.heaviside(tf.tensor([-2, 0, 3])) // [0, 0, 1]
 */
export function heaviside(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sign(tf.relu(x)));
}
